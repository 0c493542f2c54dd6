"""The learning table on moto: bounded items, and ledger records counted exactly once."""

from datetime import UTC, datetime

from afterglow.store.learning import MAX_CONTEXT_ROWS, OFFER_LEVEL

OFFER = "off_bounded"


def _rows(stores):
    return {row["sk"]: row for row in stores.learning.counters(OFFER)}


def test_an_offers_counter_item_stays_bounded_whatever_segments_clients_send(stores):
    # Given 1,600 distinct free-text segments (the old item refused every update past ~1,570)
    for n in range(1_600):
        stores.learning.add_counters(OFFER, {"segment": f"segment-{n:05d}-{'x' * 40}"}, {"shown": 1})
    # Then every show is still counted for the offer
    rows = _rows(stores)
    assert rows[OFFER_LEVEL]["shown"] == 1_600
    # And the item keeps at most its maximum of context rows, far under DynamoDB's 400 KB
    assert len(rows) - 1 == MAX_CONTEXT_ROWS
    assert stores.learning.item_size(OFFER) < 100_000
    # And a row it already holds keeps learning
    stores.learning.add_counters(OFFER, {"segment": f"segment-00000-{'x' * 40}"}, {"shown": 1})
    assert _rows(stores)[f"segment=segment-00000-{'x' * 40}"]["shown"] == 2


def test_a_record_and_its_counters_are_written_once_however_often_it_is_retried(stores):
    # Given a click whose record counts an engagement
    counting = stores.learning.counter_update(OFFER, {"segment": "vip"}, {"engaged": 1})
    now = datetime.now(UTC)
    # When it is recorded, then retried twice
    first = stores.ledger.record_once("CLICK#clk_1", "click", now, {"click_id": "clk_1"}, counting=counting)
    again = [
        stores.ledger.record_once("CLICK#clk_1", "click", now, {"click_id": "clk_1"}, counting=counting)
        for _ in range(2)
    ]
    # Then the first is written, the retries find it, and the engagement counts once
    assert first is None
    assert [record["click_id"] for record in again if record] == ["clk_1", "clk_1"]
    assert _rows(stores)["segment=vip"]["engaged"] == 1
    assert _rows(stores)[OFFER_LEVEL]["engaged"] == 1


def test_a_full_offer_still_records_and_counts_new_feedback_at_the_offer_level(stores):
    # Given an offer holding its maximum of context rows
    for n in range(MAX_CONTEXT_ROWS):
        stores.learning.add_counters(OFFER, {"segment": f"s{n}"}, {"shown": 1})
    # When a click in a context it has no room for is recorded
    counting = stores.learning.counter_update(OFFER, {"segment": "new-one"}, {"engaged": 1})
    recorded = stores.ledger.record_once(
        "CLICK#clk_2", "click", datetime.now(UTC), {"click_id": "clk_2"}, counting=counting
    )
    # Then the click is recorded and counted for the offer, without a new row
    assert recorded is None
    assert stores.ledger.get("CLICK#clk_2")["click_id"] == "clk_2"
    rows = _rows(stores)
    assert rows[OFFER_LEVEL]["engaged"] == 1
    assert "segment=new-one" not in rows

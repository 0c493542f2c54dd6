"""The learning loop as a pipeline on moto: ledger → stream → aggregator → counters → trainer →
published model → decide. Counters are a fold of the ledger, exactly, whatever the aggregator
meets; items stay bounded whatever clients send; decide never scans."""

import gzip
import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from afterglow.feedback import fold
from afterglow.learning.published import model_rows_of
from afterglow.models import AddOnReturn
from afterglow.services import aggregation
from afterglow.services.aggregation import aggregate, stream_records
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.decisions import signer
from afterglow.services.returns import record_return
from afterglow.store.learning import MAX_COUNTER_ITEM_BYTES, OFFER_LEVEL
from tests.utils import accept_add_on, http_event, invoke, order, seed_catalog, signed_headers


@pytest.fixture
def shop(stores):
    return seed_catalog(stores, category="coffee")


def _decide(function_module, shop, body):
    headers = {"authorization": f"Bearer {shop.publishable_key}"}
    return invoke(
        function_module("DecideFunction"), http_event("POST", "/v1/decisions", body=body, headers=headers)
    )


def _click(function_module, token):
    event = http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
    return invoke(function_module("TrackFunction"), event)


def _convert(function_module, shop, click_id, conversion_id, action="signup"):
    raw = json.dumps(
        {"click_id": click_id, "conversion_id": conversion_id, "action": action,
         "occurred_at": datetime.now(UTC).isoformat()}
    ).encode()  # fmt: skip
    headers = signed_headers(shop.webhook_secret, raw, msg_id=f"msg_{conversion_id}")
    event = http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
    return invoke(function_module("WebhooksFunction"), event)


def _stream(stores):
    """Every record of the ledger's stream so far, as Lambda would deliver them."""
    ddb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=stores.ledger._table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        answer = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
        while answer["Records"]:
            records += answer["Records"]
            answer = streams.get_records(ShardIterator=answer["NextShardIterator"], Limit=1000)
    return records


def _stored_counters(stores):
    """The counters table summed over write shards: (offer, scope) → row → counter → n."""
    summed = {}
    for offer_id, scope, rows in stores.learning.counter_items():
        item = summed.setdefault((offer_id, scope), {})
        for row, counters in rows.items():
            cell = item.setdefault(row, {})
            for counter, amount in counters.items():
                cell[counter] = cell.get(counter, 0) + amount
    return summed


def _a_busy_evening(function_module, shop, orders=12):
    """Decisions, impressions, clicks and conversions through the public API."""
    for n in range(orders):
        _, _, decision = _decide(function_module, shop, order(f"eve-{n}", customer={"segment": f"s{n % 3}"}))
        token = decision["offers"][0]["tracking_token"]
        events = [{"event_id": f"evt-{n:08d}", "type": "impression", "token": token,
                   "occurred_at": datetime.now(UTC).isoformat()}]  # fmt: skip
        headers = {"authorization": f"Bearer {shop.publishable_key}"}
        invoke(
            function_module("TrackFunction"),
            http_event("POST", "/v1/events", body={"events": events}, headers=headers),
        )
        if n % 2:
            click_id = _click(function_module, token)[1]["location"].rsplit("click_id=", 1)[1]
            assert _convert(function_module, shop, click_id, f"conv-{n}")[2]["status"] == "recorded"


def _fold_of_the_ledger(stores):
    index = catalog_cache.get(stores.catalog)
    segments = {retailer_id: retailer.segments for retailer_id, retailer in index.retailers.items()}
    return fold(stores.ledger.read_day(datetime.now(UTC).date().isoformat()), segments)


# --- exactly once -----------------------------------------------------------------------------


def test_counters_equal_a_fold_of_the_ledger_through_crashes_and_redeliveries(
    stores, function_module, shop, monkeypatch
):
    # Given a busy evening in the ledger, and small parts so that a batch is many transactions
    _a_busy_evening(function_module, shop)
    monkeypatch.setattr(aggregation, "MAX_ITEMS_PER_PART", 1)
    delivered = stream_records({"Records": _stream(stores)})
    half = len(delivered) // 2
    # When the aggregator dies right after committing its second part, is retried from the batch,
    calls = Counter()
    real_apply = stores.learning.apply_part

    def commit_then_die(*args, **kwargs):
        result = real_apply(*args, **kwargs)
        calls["applied"] += 1
        if calls["applied"] == 2:
            raise TimeoutError("the function timed out after the commit")
        return result

    monkeypatch.setattr(stores.learning, "apply_part", commit_then_die)
    retry_from = aggregate(stores, delivered[:half])
    assert len(retry_from) == 1
    monkeypatch.setattr(stores.learning, "apply_part", real_apply)
    restart = next(i for i, item in enumerate(delivered) if item.sequence == retry_from[0])
    assert aggregate(stores, delivered[restart:half]) == []
    # … the whole first half is delivered again (a batch retried after a timeout), then everything
    assert aggregate(stores, delivered[:half]) == []
    assert aggregate(stores, delivered) == []
    # Then the counters are exactly the fold of the ledger: nothing lost, nothing doubled
    expected = _fold_of_the_ledger(stores)
    assert _stored_counters(stores) == expected.counters
    today = datetime.now(UTC).date()
    owed = stores.learning.spend([today.isoformat(), f"{today:%Y-%m}"])
    assert owed == expected.spend
    assert owed[(shop.partner_id, "EUR", today.isoformat())] == 6 * 700  # six sign-ups


def _deliver_like_lambda(stores, delivered, start, batch_size):
    """Batches of up to `batch_size` from `start`, each retried from what the aggregator names."""
    position = start
    for _ in range(1_000):  # bounded
        if position >= len(delivered):
            return
        failed = aggregate(stores, delivered[position : position + batch_size])
        if failed:
            position = next(i for i, item in enumerate(delivered) if item.sequence == failed[0])
        else:
            position += batch_size
    raise AssertionError("the aggregator never got through the stream")


def test_a_batch_cut_differently_on_redelivery_is_still_counted_once(stores, function_module, shop):
    # Given the evening's stream delivered in batches of 7
    _a_busy_evening(function_module, shop)
    delivered = stream_records({"Records": _stream(stores)})
    _deliver_like_lambda(stores, delivered, 0, 7)
    # When the stream is delivered again from each batch's first record in batches of 20 (a batch
    # window that filled more on the retry; a batch ending inside a plan is retried from it)
    for start in range(0, len(delivered), 7):
        _deliver_like_lambda(stores, delivered, start, 20)
    # Then nothing is counted twice
    assert _stored_counters(stores) == _fold_of_the_ledger(stores).counters


# --- bounded ------------------------------------------------------------------------------------


def test_distinct_context_values_never_grow_a_counter_item_past_its_bound_and_clicks_still_work(
    stores, function_module, shop, learning_loop
):
    # Given 2,000 orders through the public API, each with a customer segment never seen before
    # (the old counter item refused every update past ~1,570 values)
    rng = random.Random(7)
    for n in range(2_000):
        segment = f"{rng.getrandbits(64):016x}-{n}"
        body = order(f"seg-{n}", customer={"segment": segment}, survey={"is_gift": bool(n % 2)})
        assert _decide(function_module, shop, body)[0] == 200
    learning_loop.run_once()
    # Then every counter item stays within the stated bound, and all 2,000 exposures counted
    sizes = stores.learning.item_sizes()
    assert sizes and max(sizes) <= MAX_COUNTER_ITEM_BYTES
    rows = {row["sk"]: row for row in stores.learning.counters(shop.offer_id)}
    assert rows[OFFER_LEVEL]["shown"] == 2_000
    assert rows[f"segment={shop.retailer_id}/other"]["shown"] == 2_000  # none of them declared
    # And the offer still takes clicks and conversions, which the next run counts
    _, _, decision = _decide(function_module, shop, order("seg-after"))
    status, headers, _ = _click(function_module, decision["offers"][0]["tracking_token"])
    assert status == 302
    click_id = headers["location"].rsplit("click_id=", 1)[1]
    assert _convert(function_module, shop, click_id, "seg-conv")[2]["status"] == "recorded"
    learning_loop.run_once()
    rows = {row["sk"]: row for row in stores.learning.counters(shop.offer_id)}
    assert (rows[OFFER_LEVEL]["engaged"], rows[OFFER_LEVEL]["converted"]) == (1, 1)


# --- published, loaded once, never scanned --------------------------------------------------------


def test_a_conversion_reaches_the_published_model(stores, function_module, shop, learning_loop):
    # Given a decision, a click and a conversion
    _, _, decision = _decide(function_module, shop, order("pub-1"))
    click_id = _click(function_module, decision["offers"][0]["tracking_token"])[1]["location"].rsplit("=", 1)[
        1
    ]
    _convert(function_module, shop, click_id, "pub-conv")
    # When the loop runs (the stream aggregated, the trainer run)
    learning_loop.run_once()
    # Then the published model has the offer's exposure and conversion, and its payout
    pointer = stores.learning.model_pointer()
    model = json.loads(gzip.decompress(stores.learning.read_model(pointer["object_key"])))
    offer_row = next(r for r in model_rows_of(model) if r[0] == shop.offer_id and r[1:3] == ["*", "*"])
    assert offer_row[3:6] == [1, 1, 700]
    # And a second run with nothing new publishes nothing new
    learning_loop.run_once()
    assert stores.learning.model_pointer()["version"] == pointer["version"]


def test_decide_loads_a_new_model_once_and_never_scans(stores, function_module, shop, learning_loop):
    _decide(function_module, shop, order("warm-0"))
    learning_loop.run_once()
    calls = []

    def record(model, **_):
        calls.append(model.name)

    for client in (stores.catalog._ddb, stores.decisions._ddb, stores.learning._s3):
        client.meta.events.register("before-call.*.*", record)
    _decide(function_module, shop, order("warm-1"))  # sees the new model: loads it once
    _decide(function_module, shop, order("warm-2"))
    assert calls == ["BatchGetItem", "GetObject", "TransactWriteItems", "BatchGetItem", "TransactWriteItems"]


def test_counter_items_hold_only_declared_vocabularies():
    # Given ledger records whose contexts carry anything a client might have put there
    rng = random.Random(3)
    records = [
        {
            "kind": "decision",
            "retailer_id": "ret_1",
            "offer_ids": ["off_1"],
            "context": {
                "purchase_category": rng.choice(["coffee", "camping", f"made-up-{n}"]),
                "segment": f"free-text-{n}",
                "gift": rng.choice(["yes", "no", f"maybe-{n}"]),
                f"extra-{n}": "x",
            },
        }
        for n in range(10_000)
    ]
    # When they are folded, Then the offer's one item has a bounded set of rows
    folded = fold(records, {"ret_1": ["vip", "new"]})
    assert list(folded.counters) == [("off_1", "ret_1")]
    assert set(folded.counters[("off_1", "ret_1")]) == {
        ("*", "*"),
        ("purchase_category", "coffee"),
        ("purchase_category", "camping"),
        ("gift", "yes"),
        ("segment", "other"),
    }


def test_a_changed_model_is_published_at_most_once_per_interval(
    stores, function_module, shop, learning_loop, monkeypatch
):
    # Given a published model and a publish interval of five minutes
    from afterglow.services.training import train
    from afterglow.settings import get_settings

    _decide(function_module, shop, order("interval-1"))
    learning_loop.run_once()
    first = stores.learning.model_pointer()
    monkeypatch.setenv("MODEL_PUBLISH_INTERVAL_SECONDS", "300")
    get_settings.cache_clear()
    # When the counters change a minute later, Then the warm decides keep the model they have
    _decide(function_module, shop, order("interval-2"))
    learning_loop.run_once()
    assert stores.learning.model_pointer()["version"] == first["version"]
    # And five minutes after the last publish the change is published
    later = datetime.fromisoformat(first["at"]) + timedelta(seconds=301)
    assert train(stores, now=later).published
    assert stores.learning.model_pointer()["version"] == first["version"] + 1


def test_an_accepted_add_on_is_learned_at_what_it_earned_net_of_its_return(
    stores, function_module, shop, learning_loop
):
    # Given an own-brand add-on shown once and added to the order (2 × 12.99), one unit sent back
    decided = _decide(function_module, shop, order("addon-1"))[2]
    context = dict(signer().verify(decided["decision_token"], now=int(time.time())).context)
    offer_id = accept_add_on(stores, shop, decision_id=decided["decision_id"], quantity=2, context=context)
    returned = AddOnReturn(return_id="rma-1", decision_id=decided["decision_id"], offer_id=offer_id,
                           amount_minor=1299, quantity=1)  # fmt: skip
    index = catalog_cache.get(stores.catalog)
    record_return(stores, index, index.retailers[shop.retailer_id], returned)
    # When the loop runs
    learning_loop.run_once()
    # Then the add-on's counters hold one conversion worth what stayed in the order, in every row
    # of its decision's context, exactly as a fold of the ledger says
    rows = _stored_counters(stores)[(offer_id, shop.retailer_id)]
    assert rows[("*", "*")] == {"converted": 1, "revenue_minor": 1299, "revenue_sq": 2598**2}
    assert len(rows) > 1 and all(cell["revenue_minor"] == 1299 for cell in rows.values())
    assert _stored_counters(stores) == _fold_of_the_ledger(stores).counters

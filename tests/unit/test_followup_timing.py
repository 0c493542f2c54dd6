"""When a follow-up goes out: accessories and the rest 24–48 h after the decision, refills a few
days before what was bought runs out."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from afterglow.followups import DEFAULT_RUNS_OUT_DAYS, Followup, OfferKind, declined, send_window
from afterglow.reconciliation import DecisionTrail
from afterglow.services.decisions import signer
from afterglow.services.satisfaction import followup_links

DECIDED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ACCESSORY = OfferKind("accessory", "coffee_grinder")
REFILL = OfferKind("refill", "coffee_beans")


def test_an_accessory_goes_out_24_to_48_hours_after_the_decision():
    assert send_window(DECIDED, [ACCESSORY], "espresso_machine") == (
        DECIDED + timedelta(hours=24),
        DECIDED + timedelta(hours=48),
        "after_purchase",
    )


def test_a_refill_goes_out_in_the_two_days_before_the_last_three_before_the_product_runs_out():
    # Coffee beans last 30 days: the window is days 25 to 27
    assert send_window(DECIDED, [REFILL], "coffee_beans") == (
        DECIDED + timedelta(days=25),
        DECIDED + timedelta(days=27),
        "refill",
    )
    # Nappies last 14 days: days 9 to 11
    assert send_window(DECIDED, [OfferKind("refill")], "nappies")[:2] == (
        DECIDED + timedelta(days=9),
        DECIDED + timedelta(days=11),
    )


def test_a_refill_of_an_unknown_purchase_uses_the_offers_own_product_type_then_a_month():
    assert send_window(DECIDED, [OfferKind("refill", "cat_litter")], None)[1] == DECIDED + timedelta(days=18)
    unknown = send_window(DECIDED, [OfferKind("refill")], "bicycle")
    assert unknown[1] == DECIDED + timedelta(days=DEFAULT_RUNS_OUT_DAYS - 3)


def test_a_row_with_anything_but_refills_is_timed_as_after_purchase():
    assert send_window(DECIDED, [REFILL, ACCESSORY], "coffee_beans")[2] == "after_purchase"
    assert send_window(DECIDED, [], "coffee_beans")[2] == "after_purchase"  # offers no longer known


def test_declined_decisions_are_timed_by_their_offers_and_the_main_product_type_bought():
    trail = DecisionTrail(
        retailer_id="ret_1",
        customer_hash="c" * 64,
        order_id="o-1",
        decided_at=DECIDED.isoformat(),
        impressed=("off_beans",),
        arm="mixed",
        context={"product_type": "dog_food", "purchase_category": "pets"},
    )
    (row,) = declined({"dec_1": trail}, {"off_beans": OfferKind("refill", "coffee_beans")})["ret_1"]
    assert (row.timing, row.send_before) == ("refill", (DECIDED + timedelta(days=27)).isoformat())
    assert row.context == trail.context
    (plain,) = declined({"dec_1": trail})["ret_1"]  # offers unknown to the catalog: after purchase
    assert plain.timing == "after_purchase"


def test_a_refill_followups_links_last_until_its_window_closes_plus_the_token_lifetime():
    # Given a refill follow-up sent up to 27 days after its decision, links living 7 days
    opens, closes, _ = send_window(DECIDED, [REFILL], "coffee_beans")
    row = Followup(
        "hash", "o-1", "dec_1", ("off_1",), DECIDED.isoformat(), opens.isoformat(), closes.isoformat()
    )
    week = 7 * 86_400
    # Then its links are issued at the decision (re-runs sign alike) and expire a week after it closes
    assert row.link_lifetime(week) == (int(DECIDED.timestamp()), int(closes.timestamp()) + week)
    # And the satisfaction links it carries are signed so: they answer when the e-mail is read late
    (link, *_) = followup_links("ret_1", "csat", "https://api.example")(row)
    token = unquote(link.split("/v1/s/", 1)[1].split("?", 1)[0])
    claims = signer().verify(token, now=int(closes.timestamp()) + 3_600)
    assert (claims.decision_id, claims.offer_id) == ("dec_1", "")

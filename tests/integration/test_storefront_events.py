"""`POST /v1/events`: per-event results, duplicates by meaning, forged tokens, limits, CORS."""

import json
from datetime import UTC, datetime

import pytest

from afterglow.models import Creative, FixedPayout, Offer
from afterglow.services.decisions import signer
from afterglow.signing import TrackingClaims
from tests.utils import GIFT_SURVEY, http_event, invoke, order, seed_catalog


@pytest.fixture
def shop(stores, function_module):
    seeded = seed_catalog(stores, category="coffee")
    event = http_event(
        "POST", "/v1/decisions", body=order(), headers={"authorization": f"Bearer {seeded.publishable_key}"}
    )
    _, _, decision = invoke(function_module("DecideFunction"), event)
    return seeded, decision


def _send(
    function_module, key, events, *, raw=None, origin=None, via_query=False, content_type="application/json"
):
    headers = {"content-type": content_type}
    if origin:
        headers["origin"] = origin
    if not via_query:
        headers["authorization"] = f"Bearer {key}"
    body = raw if raw is not None else json.dumps({"events": events}).encode()
    event = http_event(
        "POST", "/v1/events", raw=body, headers=headers, query=f"key={key}" if via_query else ""
    )
    return invoke(function_module("TrackFunction"), event)


def _event(token, event_type="impression", event_id="evt-00000001", **data):
    return {
        "event_id": event_id,
        "type": event_type,
        "token": token,
        "occurred_at": datetime.now(UTC).isoformat(),
        **({"data": data} if data else {}),
    }


def test_one_bad_event_does_not_sink_the_batch(stores, function_module, shop):
    seeded, decision = shop
    token = decision["offers"][0]["tracking_token"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    events = [
        _event(token, "impression", "evt-00000001"),
        _event(tampered, "engage", "evt-00000002"),
        _event(decision["decision_token"], "engage", "evt-00000003"),
        _event(token, "accept", "evt-00000004"),
        _event(decision["decision_token"], "survey_answer", "evt-00000005", answer=True),
    ]
    status, _, body = _send(function_module, seeded.publishable_key, events)
    assert status == 200
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [
        ("accepted", None),
        ("rejected", "invalid_token"),
        ("rejected", "offer_event_needs_an_offer_token"),
        ("rejected", "accept_needs_a_priced_first_party_offer"),
        ("rejected", "retailer_has_no_survey"),
    ]


def test_retries_and_second_impressions_count_once(stores, function_module, shop, learning_loop):
    seeded, decision = shop
    token = decision["offers"][0]["tracking_token"]
    _send(function_module, seeded.publishable_key, [_event(token, event_id="evt-first-01")])
    _, _, body = _send(
        function_module,
        seeded.publishable_key,
        [_event(token, event_id="evt-first-01"), _event(token, event_id="evt-other-02")],
    )
    assert [r["status"] for r in body["results"]] == ["duplicate", "duplicate"]
    day = datetime.now(UTC).date().isoformat()
    assert sum(1 for r in stores.ledger.read_day(day) if r["kind"] == "impression") == 1
    learning_loop.run_once()
    rows = {row["sk"]: row for row in stores.learning.counters(seeded.offer_id)}
    assert (rows["*=*"]["shown"], rows["*=*"]["viewed"]) == (1, 1)  # one exposure, one impression


def test_token_of_another_retailer_is_rejected(stores, function_module, shop):
    _, decision = shop
    other = seed_catalog(stores)
    _, _, body = _send(
        function_module, other.publishable_key, [_event(decision["offers"][0]["tracking_token"])]
    )
    assert body["results"][0] == {
        "event_id": "evt-00000001",
        "status": "rejected",
        "reason": "token_of_another_retailer",
    }


def test_send_beacon_style_text_plain_with_key_in_query_works(stores, function_module, shop):
    seeded, decision = shop
    status, _, body = _send(
        function_module,
        seeded.publishable_key,
        [_event(decision["offers"][0]["tracking_token"], "dismiss")],
        via_query=True,
        content_type="text/plain;charset=UTF-8",
    )
    assert status == 200 and body["results"][0]["status"] == "accepted"


def test_first_party_accept_is_own_brand_revenue(stores, function_module):
    seeded = seed_catalog(stores, category="gifts")
    offer = Offer(
        offer_id="off_fp1",
        partner_id=seeded.retailer_id,
        kind="first_party",
        category="kitchen",
        creative=Creative(title="Descaler", price_minor=1299),
        landing_url="https://shop.example/descaler",
        payout=FixedPayout(currency="EUR", amounts={"first_purchase": 0}),
        attribution_window_days=1,
        lock_days=0,
        created_at=datetime.now(UTC),
    )
    stores.catalog.create("OFFER", offer.offer_id, offer.model_dump(mode="json"))
    claims = TrackingClaims(
        seeded.retailer_id, "dec_fp", offer.offer_id, "mixed", int(datetime.now(UTC).timestamp())
    )
    token = signer().sign(claims)
    _, _, body = _send(function_module, seeded.publishable_key, [_event(token, "accept", quantity=2)])
    assert body["results"][0]["status"] == "accepted"
    day = datetime.now(UTC).date().isoformat()
    accept = next(r for r in stores.ledger.read_day(day) if r["kind"] == "accept")
    assert (accept["own_brand_revenue_minor"], accept["currency"]) == (2598, "EUR")


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        (b"{oops", 400, "malformed_json", "body"),
        (b'{"events": []}', 422, "invalid_input", "events"),
        (b'{"events": "\xf0\x9f\x8e\x81"}', 422, "invalid_input", "events"),
        (b'[{"events": []}]', 422, "invalid_input", "body"),
        (b'{"event": []}', 422, "invalid_input", "events"),
    ],
)
def test_malformed_batches_get_a_json_error_naming_the_field(
    stores, function_module, shop, raw, status, code, field
):
    seeded, _ = shop
    got_status, _, body = _send(function_module, seeded.publishable_key, None, raw=raw)
    assert (got_status, body["error"]["code"], body["error"].get("field")) == (status, code, field)


def test_batch_limits(stores, function_module, shop):
    seeded, decision = shop
    token = decision["offers"][0]["tracking_token"]
    too_many = [_event(token, event_id=f"evt-{i:08d}") for i in range(51)]
    status, _, body = _send(function_module, seeded.publishable_key, too_many)
    assert (status, body["error"]["field"]) == (422, "events")
    status, _, body = _send(function_module, seeded.publishable_key, None, raw=b" " * 300_000)
    assert status == 413


def test_cors_allows_the_retailers_origin_and_refuses_others(stores, function_module, shop):
    seeded, decision = shop
    events = [_event(decision["offers"][0]["tracking_token"])]
    status, headers, _ = _send(function_module, seeded.publishable_key, events, origin="https://shop.example")
    assert status == 200 and headers["access-control-allow-origin"] == "https://shop.example"
    status, headers, body = _send(
        function_module, seeded.publishable_key, events, origin="https://evil.example"
    )
    assert (
        status == 403 and "access-control-allow-origin" not in headers and body["error"]["field"] == "origin"
    )
    preflight = http_event("OPTIONS", "/v1/events", headers={"origin": "https://evil.example"})
    assert invoke(function_module("TrackFunction"), preflight)[0] == 403
    preflight = http_event("OPTIONS", "/v1/decisions", headers={"origin": "https://shop.example"})
    status, headers, _ = invoke(function_module("DecideFunction"), preflight)
    assert status == 204 and "authorization" in headers["access-control-allow-headers"]


def test_survey_answer_gets_a_fresh_decision_and_the_question_disappears(stores, function_module):
    from afterglow.models import RetailerCreate, SurveyQuestion
    from afterglow.services import retailers

    created = retailers.create_retailer(
        stores,
        RetailerCreate(
            name="Gifty",
            currency="EUR",
            experiment={"holdout": 0, "mixed": 100},
            survey=SurveyQuestion(
                key="is_gift",
                question="Is this a gift?",
                options=[{"value": True, "label": "Yes"}, {"value": False, "label": "No"}],
            ),
        ),
    )
    key = {"authorization": f"Bearer {created.publishable_key}"}
    module = function_module("DecideFunction")
    _, _, first = invoke(module, http_event("POST", "/v1/decisions", body=order("g-1"), headers=key))
    _, _, reload = invoke(module, http_event("POST", "/v1/decisions", body=order("g-1"), headers=key))
    _, _, answered = invoke(
        module, http_event("POST", "/v1/decisions", body=order("g-1", survey={"is_gift": True}), headers=key)
    )
    assert first["survey"]["question"] == "Is this a gift?"
    assert reload["decision_id"] == first["decision_id"]
    assert answered["decision_id"] != first["decision_id"] and answered["survey"] is None


def test_deeply_nested_json_is_malformed_json_not_a_crash(stores, function_module, shop):
    seeded, _ = shop
    for raw in (b"[" * 100_000, b'{"events": ' + b"[" * 100_000):
        status, _, body = _send(function_module, seeded.publishable_key, None, raw=raw)
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, "malformed_json", "body")


@pytest.mark.parametrize("overflowing", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_occurred_at_beyond_the_calendar_in_utc_is_rejected_alone_and_the_rest_is_recorded(
    stores, function_module, shop, overflowing
):
    # Given a batch whose second event happened "before year 1" (or after 9999) once in UTC
    seeded, decision = shop
    token = decision["offers"][0]["tracking_token"]
    events = [
        _event(token, "impression", "evt-00000001"),
        {**_event(token, "dismiss", "evt-00000002"), "occurred_at": overflowing},
        _event(token, "engage", "evt-00000003"),
    ]
    # When the storefront sends it
    status, _, body = _send(function_module, seeded.publishable_key, events)
    # Then only that event is rejected, naming its time, and the others are recorded
    assert status == 200
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [
        ("accepted", None),
        ("rejected", "invalid_occurred_at"),
        ("accepted", None),
    ]
    recorded = {r["kind"] for r in stores.ledger.read_day(datetime.now(UTC).date().isoformat())}
    assert {"impression", "engage"} <= recorded and "dismiss" not in recorded


def test_an_event_of_an_unknown_type_or_with_bad_fields_is_rejected_alone(stores, function_module, shop):
    # Given a batch where some events are not events this API knows
    seeded, decision = shop
    token = decision["offers"][0]["tracking_token"]
    events = [
        _event(token, "impression", "evt-00000001"),
        _event(token, "hover", "evt-00000002"),
        {"event_id": "x", "type": "engage", "token": token, "occurred_at": datetime.now(UTC).isoformat()},
        {key: value for key, value in _event(token, "engage", "evt-00000004").items() if key != "token"},
        {**_event(token, "engage", "evt-00000005"), "price": 1},
        "evt-00000006",
        _event(token, "dismiss", "evt-00000007"),
    ]
    # When the storefront sends it
    status, _, body = _send(function_module, seeded.publishable_key, events)
    # Then each bad event gets its own rejection naming the problem, and the good ones are recorded
    assert status == 200
    assert [(r["event_id"], r["status"], r.get("reason")) for r in body["results"]] == [
        ("evt-00000001", "accepted", None),
        ("evt-00000002", "rejected", "unknown_type"),
        ("x", "rejected", "invalid_event_id"),
        ("evt-00000004", "rejected", "missing_token"),
        ("evt-00000005", "rejected", "unknown_field_price"),
        ("", "rejected", "event_must_be_an_object"),
        ("evt-00000007", "accepted", None),
    ]
    recorded = {r["kind"] for r in stores.ledger.read_day(datetime.now(UTC).date().isoformat())}
    assert {"impression", "dismiss"} <= recorded and "engage" not in recorded


@pytest.fixture
def gift_shop(stores, function_module):
    """A retailer that asks "Is this a gift?" (yes / no), and decisions on its page."""
    seeded = seed_catalog(stores, survey=GIFT_SURVEY)
    key = {"authorization": f"Bearer {seeded.publishable_key}"}
    module = function_module("DecideFunction")

    def decision_token(order_id):
        event = http_event("POST", "/v1/decisions", body=order(order_id), headers=key)
        return invoke(module, event)[2]["decision_token"]

    return seeded.publishable_key, decision_token


@pytest.mark.parametrize(
    "answer",
    ["ada@example.com " + "x" * 5000, "true", 1, 0, "Yes"],
    ids=["an e-mail and 5 KB", "the string true", "one for true", "zero for false", "the label"],
)
def test_a_survey_answer_that_is_not_one_of_the_surveys_options_is_rejected_and_not_stored(
    stores, function_module, gift_shop, answer
):
    # Given a retailer whose survey's answers are true or false
    key, decision_token = gift_shop
    # When the storefront sends another answer, then one of the options
    events = [
        _event(decision_token("s-1"), "survey_answer", "evt-00000001", answer=answer),
        _event(decision_token("s-2"), "survey_answer", "evt-00000002", answer=False),
    ]
    _, _, body = _send(function_module, key, events)
    # Then the other answer is rejected, the option accepted, and only the option is in the ledger
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [
        ("rejected", "answer_is_not_a_survey_option"),
        ("accepted", None),
    ]
    day = datetime.now(UTC).date().isoformat()
    answers = [r["answer"] for r in stores.ledger.read_day(day) if r["kind"] == "survey_answer"]
    assert answers == [False] and type(answers[0]) is bool


def test_a_survey_answer_for_a_retailer_without_a_survey_is_rejected(stores, function_module, shop):
    seeded, decision = shop
    event = _event(decision["decision_token"], "survey_answer", answer=True)
    _, _, body = _send(function_module, seeded.publishable_key, [event])
    assert (body["results"][0]["status"], body["results"][0]["reason"]) == (
        "rejected",
        "retailer_has_no_survey",
    )

"""Satisfaction per arm and sessions through the real handlers: the retailer's setting, the
storefront `satisfaction` and `page_view` events, the one-tap link, and the reconciled read-out."""

import json
from datetime import UTC, datetime

import pytest

from afterglow.reconciliation import read_csv
from afterglow.services.decisions import signer
from afterglow.settings import get_settings
from afterglow.signing import TrackingClaims
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.utils import NPS_QUESTION, http_event, invoke, order, seed_catalog

RETAILER = "/v1/admin/retailers/{retailer_id}"


def _decide(function_module, key, order_id="o-1"):
    body = order(order_id, customer={"email": f"{order_id}@example.com", "country": "DE"})
    event = http_event("POST", "/v1/decisions", body=body, headers={"authorization": f"Bearer {key}"})
    status, _, decision = invoke(function_module("DecideFunction"), event)
    assert status == 200, decision
    return decision


def _event(token, kind, event_id, **data):
    occurred = datetime.now(UTC).isoformat()
    return {"event_id": event_id, "type": kind, "token": token, "occurred_at": occurred} | (
        {"data": data} if data else {}
    )


def _send(function_module, key, events):
    raw = json.dumps({"events": events}).encode()
    event = http_event("POST", "/v1/events", raw=raw, headers={"authorization": f"Bearer {key}"})
    status, _, body = invoke(function_module("TrackFunction"), event)
    assert status == 200, body
    return [(r["status"], r.get("reason")) for r in body["results"]]


def _tap(function_module, token, query):
    event = http_event("GET", f"/v1/s/{token}", route_path="/v1/s/{token}", query=query)
    return invoke(function_module("TrackFunction"), event)


def _ledger(stores, kind):
    day = datetime.now(UTC).date().isoformat()
    return [r for r in stores.ledger.read_day(day) if r["kind"] == kind]


def _admin(function_module, method, key, body=None, **params):
    path = RETAILER.format(**params)
    event = http_event(
        method, path, route_path=RETAILER, body=body, headers={"authorization": f"Bearer {key}"}
    )
    return invoke(function_module("AdminFunction"), event)


def test_a_retailer_chooses_its_question_and_every_decision_carries_it(stores, function_module):
    # Given a shop that holds every customer out (no offers at all)
    seeded = seed_catalog(stores, holdout=100)
    assert _decide(function_module, seeded.publishable_key, "o-0")["satisfaction"] is None
    # When it sets a 5-point CSAT question in its settings
    question = {"scale": "csat", "question": "How was your shopping today?", "low_label": "Poor"}
    status, _, retailer = _admin(
        function_module,
        "PATCH",
        seeded.secret_key,
        {"version": 1, "satisfaction": question},
        retailer_id=seeded.retailer_id,
    )
    assert status == 200 and retailer["satisfaction"] == question | {"high_label": None}
    # Then the holdout's decisions carry it (no offers: its satisfaction is the baseline)
    decision = _decide(function_module, seeded.publishable_key, "o-1")
    assert decision["arm"] == "holdout" and decision["offers"] == []
    assert decision["satisfaction"]["scale"] == "csat" and decision["decision_token"]
    # And a scale that is not one is refused, and null removes the question
    status, _, body = _admin(
        function_module,
        "PATCH",
        seeded.secret_key,
        {"version": 2, "satisfaction": {"scale": "stars", "question": "?"}},
        retailer_id=seeded.retailer_id,
    )
    assert status == 422 and body["error"]["field"].startswith("satisfaction")
    status, _, retailer = _admin(
        function_module,
        "PATCH",
        seeded.secret_key,
        {"version": 2, "satisfaction": None},
        retailer_id=seeded.retailer_id,
    )
    assert status == 200 and retailer["satisfaction"] is None


def test_the_first_answer_of_a_decision_counts_and_answers_are_bounded(stores, function_module):
    seeded = seed_catalog(stores, satisfaction=NPS_QUESTION)
    key = seeded.publishable_key
    decision = _decide(function_module, key)
    token = decision["decision_token"]
    # When the customer taps 9, the SDK retries it, and a second tap sends 3
    results = _send(
        function_module,
        key,
        [
            _event(token, "satisfaction", "evt-sat-0001", score=11),
            _event(token, "satisfaction", "evt-sat-0002", score=True),
            _event(decision["offers"][0]["tracking_token"], "satisfaction", "evt-sat-0003", score=9),
            _event(token, "satisfaction", "evt-sat-0004", score=9),
            _event(token, "satisfaction", "evt-sat-0004", score=9),
            _event(token, "satisfaction", "evt-sat-0005", score=3),
        ],
    )
    # Then only the first score on the scale counts; retries and later answers are duplicates
    assert results == [
        ("rejected", "score_must_be_0_to_10"),
        ("rejected", "score_must_be_0_to_10"),
        ("rejected", "satisfaction_needs_the_decision_token"),
        ("accepted", None),
        ("duplicate", None),
        ("duplicate", None),
    ]
    (answer,) = _ledger(stores, "satisfaction")
    assert (answer["score"], answer["scale"], answer["arm"], answer["channel"]) == (
        9,
        "nps",
        decision["arm"],
        "page",
    )


def test_a_shop_without_a_question_records_no_answer(stores, function_module):
    seeded = seed_catalog(stores)
    decision = _decide(function_module, seeded.publishable_key)
    results = _send(
        function_module,
        seeded.publishable_key,
        [_event(decision["decision_token"], "satisfaction", "evt-sat-0001", score=5)],
    )
    assert results == [("rejected", "retailer_has_no_satisfaction_question")]


def test_each_render_of_the_confirmation_page_is_a_session_within_a_bound(stores, function_module):
    seeded = seed_catalog(stores)
    key = seeded.publishable_key
    token = _decide(function_module, key)["decision_token"]
    results = _send(
        function_module,
        key,
        [
            _event(token, "page_view", "evt-view-0001", view=1),
            _event(token, "page_view", "evt-view-0001", view=1),  # a retry
            _event(token, "page_view", "evt-view-0002", view=2),  # a reload
            _event(token, "page_view", "evt-view-0003", view=21),
            _event(token, "page_view", "evt-view-0004", view="3"),
        ],
    )
    assert results == [
        ("accepted", None),
        ("duplicate", None),
        ("accepted", None),
        ("rejected", "view_must_be_1_to_20"),
        ("rejected", "view_must_be_1_to_20"),
    ]
    assert sorted(r["view"] for r in _ledger(stores, "page_view")) == [1, 2]


def test_a_one_tap_link_records_the_answer_once_and_thanks_the_customer(stores, function_module):
    seeded = seed_catalog(stores, satisfaction=NPS_QUESTION)
    decision = _decide(function_module, seeded.publishable_key)
    token = decision["decision_token"]
    # When the customer taps 8 in the e-mail
    status, headers, page = _tap(function_module, token, "score=8")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "Your answer has been recorded" in page and "<script" not in page
    # And taps again, another score (or a mail scanner replays the link)
    status, _, page = _tap(function_module, token, "score=2")
    assert status == 200 and "already have your answer" in page
    # Then the first answer is the one recorded, from the link
    (answer,) = _ledger(stores, "satisfaction")
    assert (answer["score"], answer["channel"], answer["arm"]) == (8, "link", decision["arm"])


def _signed(retailer_id, issued_at, offer_id=""):
    return signer().sign(TrackingClaims(retailer_id, "dec_x", offer_id, "mixed", issued_at))


@pytest.mark.parametrize(
    ("case", "query", "status", "code"),
    [
        ("forged", "score=9", 401, "unauthorized"),
        ("expired", "score=9", 401, "unauthorized"),
        ("offer token", "score=9", 401, "unauthorized"),
        ("genuine", "score=11", 422, "invalid_input"),
        ("genuine", "score=-1", 422, "invalid_input"),
        ("genuine", "score=nine", 422, "invalid_input"),
        ("genuine", "score=%C2%B2", 422, "invalid_input"),
        ("genuine", "score=0009", 422, "invalid_input"),
        ("genuine", "", 422, "invalid_input"),
    ],
)
def test_a_bad_link_gets_a_clear_4xx_and_records_nothing(stores, function_module, case, query, status, code):
    seeded = seed_catalog(stores, satisfaction=NPS_QUESTION)
    now = int(datetime.now(UTC).timestamp())
    token = {
        "forged": _signed(seeded.retailer_id, now)[:-4] + "AAAA",
        "expired": _signed(seeded.retailer_id, now - 8 * 86_400),
        "offer token": _signed(seeded.retailer_id, now, offer_id=seeded.offer_id),
        "genuine": _signed(seeded.retailer_id, now),
    }[case]
    answered, _, body = _tap(function_module, token, query)
    assert (answered, body["error"]["code"]) == (status, code), body
    assert _ledger(stores, "satisfaction") == []


def test_the_reconciled_read_out_shows_satisfaction_and_sessions_per_arm(
    stores, function_module, monkeypatch
):
    # Given a shop that holds half its customers out and asks the NPS question
    monkeypatch.setenv("PUBLIC_API_URL", "https://offers.shop.example")
    get_settings.cache_clear()
    seeded = seed_catalog(stores, holdout=50, satisfaction=NPS_QUESTION)
    key = seeded.publishable_key
    decisions = [_decide(function_module, key, f"o-{n}") for n in range(24)]
    arms = {d["arm"] for d in decisions}
    assert arms == {"holdout", "mixed"}, arms
    # And every page was viewed once (twice for the first), every holdout customer answered 10,
    # every other 2 (one of them through the link); one mixed offer was seen and declined
    events = []
    for n, decision in enumerate(decisions):
        token = decision["decision_token"]
        events.append(_event(token, "page_view", f"evt-view-{n:04d}", view=1))
        if n == 0:
            events.append(_event(token, "page_view", "evt-view-again", view=2))
        score = 10 if decision["arm"] == "holdout" else 2
        if n != 1:
            events.append(_event(token, "satisfaction", f"evt-sat-{n:04d}", score=score))
    mixed = [d for d in decisions if d["arm"] == "mixed"]
    events.append(_event(mixed[0]["offers"][0]["tracking_token"], "impression", "evt-impression-1"))
    for start in range(0, len(events), 50):
        assert {s for s, _ in _send(function_module, key, events[start : start + 50])} == {"accepted"}
    if decisions[1]["arm"] == "holdout":
        assert _tap(function_module, decisions[1]["decision_token"], "score=10")[0] == 200
    else:
        assert _tap(function_module, decisions[1]["decision_token"], "score=2")[0] == 200

    # When the day is reconciled
    today = datetime.now(UTC).date().isoformat()
    handler = function_module("ReconcileFunction").lambda_handler
    assert handler({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"

    # Then summary.json has, per arm, the sessions and the answers: the mixed arm is flagged
    prefix = f"reports/daily/dt={today}/"
    summary = json.loads(stores.reports.get(prefix + "summary.json"))
    by_arm = {row["arm"]: row for row in summary["experiment"]}
    counts = {arm: sum(d["arm"] == arm for d in decisions) for arm in arms}
    for arm in arms:
        row = by_arm[arm]
        assert row["sessions"] == counts[arm] + (decisions[0]["arm"] == arm)
        assert row["revenue_per_session"] == 0.0
        (answers,) = row["satisfaction"]
        assert (answers["scale"], answers["responses"]) == ("nps", counts[arm])
    holdout, offered = by_arm["holdout"]["satisfaction"][0], by_arm["mixed"]["satisfaction"][0]
    assert (holdout["nps"], holdout["below_holdout"]) == (100.0, False)
    assert (offered["nps"], offered["mean_score"], offered["below_holdout"]) == (-100.0, 2.0, True)
    assert offered["vs_holdout"]["difference"] == -8.0
    # And both HTML pages show it beside revenue
    for page in (prefix + "report.html", f"{prefix}retailer={seeded.retailer_id}/report.html"):
        html = stores.reports.get(page).decode()
        assert "Satisfaction by arm" in html and "▼ below holdout" in html and "revenue / session" in html
    # And the declined offer's follow-up carries one working link per score, 0 to 10
    (followup,) = read_csv(stores.reports.get(f"followups/retailer={seeded.retailer_id}/dt={today}.csv"))
    links = followup["satisfaction_links"].split(" ")
    assert [link.rsplit("score=", 1)[1] for link in links] == [str(n) for n in range(11)]
    assert all(link.startswith("https://offers.shop.example/v1/s/") for link in links)
    link_token = links[7].split("/v1/s/", 1)[1].split("?", 1)[0]
    status, _, page = _tap(function_module, link_token, "score=7")
    assert status == 200 and "already have your answer" in page  # this customer had answered 2
    # And a re-run writes the same bytes
    first = stores.reports.get(prefix + "summary.json")
    assert handler({"date": today}, FakeLambdaContext("reconcile"))["status"] == "ok"
    assert stores.reports.get(prefix + "summary.json") == first

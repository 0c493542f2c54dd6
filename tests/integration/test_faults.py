"""Fault injection on moto: throttling, transient errors and lost answers from DynamoDB, S3 failures,
a slow store, a crash in the middle of an event batch, a reconcile run killed halfway.

Faults are injected at the boto3 client's HTTP boundary, where moto answers for AWS: a hook in
front of moto answers chosen calls with an AWS error instead (or lets moto apply the call and then
loses its answer). So what is exercised is botocore's own retrying (standard mode, backoff) and
then ours. Backoff delays are recorded instead of slept.

Covered elsewhere: a webhook whose store stays throttled answers 503 and the partner's retry
records once (test_partner_webhooks), a store outage or a blown deadline degrades a decision
(test_decisions), a reconcile run dying before its manifest (test_reconcile_month).
"""

import json
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from afterglow.errors import StoreUnavailable
from afterglow.reconciliation import read_csv
from afterglow.services.keys import create_platform_key
from afterglow.settings import get_settings
from afterglow.store.learning import OFFER_LEVEL
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.integration.test_reconcile_month import Ledger
from tests.utils import http_event, invoke, order, seed_catalog, signed_headers

DAY = "2026-03-02"


class AwsFaults:
    """Stands between one boto3 client and moto: chosen calls get an AWS error instead of moto."""

    def __init__(self, clients: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: Counter[str] = Counter()  # operation -> HTTP requests, retries included
        self.injected: Counter[str] = Counter()
        self.backoffs: list[float] = []
        self._rules: list[dict[str, Any]] = []
        self._hooks: list[Any] = []
        # botocore runs every before-send handler and takes the first answer: replace moto's.
        for client in clients:
            client.meta.events.unregister("before-send", botocore_stubber)
            client.meta.events.register("before-send", self._before_send)
        monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=self.backoffs.append))

    def fail(self, operation, code, status, *, times=1, after=0, landed=False, where=""):
        """Answer `operation` with `code` (`times` times, None = until cleared), after letting
        `after` matching calls through; `landed`: apply the call, then lose its answer; `where`: only
        requests whose URL or body contains this text."""
        self._rules.append(dict(operation=operation, code=code, status=status, times=times, after=after,
                                landed=landed, where=where.encode()))  # fmt: skip

    def on_each_call(self, hook) -> None:
        """Run `hook()` before each call reaches the store (a slow store advances a clock)."""
        self._hooks.append(hook)

    def clear(self) -> None:
        self._rules.clear()
        self._hooks.clear()

    def _before_send(self, request, event_name, **_):
        service, operation = event_name.split(".")[1:3]
        self.sent[operation] += 1
        for hook in self._hooks:
            hook()
        for rule in self._rules:
            body = request.body if isinstance(request.body, bytes) else b""
            if rule["operation"] != operation or rule["where"] not in request.url.encode() + body:
                continue
            if rule["after"]:
                rule["after"] -= 1
                break
            if rule["times"] == 0:
                continue
            if rule["times"] is not None:
                rule["times"] -= 1
            if rule["landed"]:
                botocore_stubber(event_name=event_name, request=request)
            self.injected[operation] += 1
            return _error_response(request.url, service, rule["code"], rule["status"])
        return botocore_stubber(event_name=event_name, request=request)


def _error_response(url: str, service: str, code: str, status: int) -> AWSResponse:
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>injected</Message><RequestId>f</RequestId></Error>"
        headers = {"content-type": "application/xml"}
    else:
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"})
        headers = {"content-type": "application/x-amz-json-1.0"}
    return AWSResponse(url, status, headers, MockRawResponse(body))


@pytest.fixture
def ddb_faults(stores, monkeypatch):
    # One DynamoDB client serves every table, but the decision path has its own (tighter timeouts)
    return AwsFaults([stores.ledger._ddb, stores.decisions._ddb], monkeypatch)


@pytest.fixture
def s3_faults(stores, monkeypatch):
    return AwsFaults([stores.reports._s3], monkeypatch)


def _today(stores, kind, **match):
    """Today's ledger records of one kind, read back from the day index (what reconcile reads)."""
    records = stores.ledger.read_day(datetime.now(UTC).date().isoformat())
    return [r for r in records if r["kind"] == kind and all(r.get(k) == v for k, v in match.items())]


def _decide(function_module, seeded, order_id):
    headers = {"authorization": f"Bearer {seeded.publishable_key}"}
    event = http_event("POST", "/v1/decisions", body=order(order_id, category="kitchen"), headers=headers)
    return invoke(function_module("DecideFunction"), event)


def _events(function_module, seeded, events):
    headers = {"authorization": f"Bearer {seeded.publishable_key}"}
    event = http_event("POST", "/v1/events", body={"events": events}, headers=headers)
    return invoke(function_module("TrackFunction"), event)


def _click(function_module, token):
    return invoke(
        function_module("TrackFunction"), http_event("GET", f"/v1/c/{token}", route_path="/v1/c/{token}")
    )


def _webhook(function_module, seeded, click_id, conversion_id):
    raw = json.dumps(
        {"click_id": click_id, "conversion_id": conversion_id, "action": "signup",
         "occurred_at": datetime.now(UTC).isoformat()}
    ).encode()  # fmt: skip
    headers = signed_headers(seeded.webhook_secret, raw, msg_id=f"msg_{conversion_id}")
    event = http_event("POST", "/v1/webhooks/conversions", raw=raw, headers=headers)
    return invoke(function_module("WebhooksFunction"), event)


def _counted(stores, learning_loop, offer_id):
    """The offer's counters once the learning loop has folded the ledger (stream → aggregator)."""
    learning_loop.run_once()
    rows = {row["sk"]: row for row in stores.learning.counters(offer_id)}
    return rows.get(OFFER_LEVEL, {})


@pytest.fixture
def shop(stores):
    return seed_catalog(stores, category="coffee")


# --- storefront and partner paths -------------------------------------------------------------


def test_a_batch_that_crashes_midway_is_retried_and_every_event_counts_once(
    stores, function_module, shop, ddb_faults, learning_loop
):
    # Given 20 events over seven decisions (impression, engage, dismiss of each offer)
    tokens = [
        _decide(function_module, shop, f"batch-{n}")[2]["offers"][0]["tracking_token"] for n in range(7)
    ]
    kinds = ("impression", "engage", "dismiss")
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": f"evt-{n:08d}", "type": kinds[n % 3], "token": tokens[n // 3], "occurred_at": now}
        for n in range(20)
    ]
    # When the ledger stops taking writes after the eighth event (and stays down through retries)
    ddb_faults.fail("PutItem", "InternalServerError", 500, times=None, after=8)
    status, headers, body = _events(function_module, shop, events)
    # Then the storefront is told to retry later, in the documented error shape
    assert (status, body["error"]["code"], headers["retry-after"]) == (503, "unavailable", "5")
    assert ddb_faults.backoffs  # botocore backed off and retried before giving up
    # And when the store is back and the SDK re-sends the same batch
    ddb_faults.clear()
    status, _, body = _events(function_module, shop, events)
    # Then the eight written before the crash are duplicates, the other twelve are accepted
    assert status == 200
    assert [r["status"] for r in body["results"]] == ["duplicate"] * 8 + ["accepted"] * 12, body
    # And the ledger and the learning counters hold each event exactly once
    recorded = Counter(
        r["kind"] for kind in kinds for r in _today(stores, kind, retailer_id=shop.retailer_id)
    )
    assert recorded == Counter(event["type"] for event in events)
    counted = _counted(stores, learning_loop, shop.offer_id)
    assert (counted["shown"], counted["viewed"], counted["engaged"]) == (7, 7, 7)


@pytest.mark.parametrize(
    ("code", "status", "landed"),
    [
        ("ProvisionedThroughputExceededException", 400, False),  # throttled once
        ("InternalServerError", 500, False),  # a transient error
        ("InternalServerError", 500, True),  # the write landed but its answer was lost
    ],
)
def test_a_transient_store_error_on_a_click_is_retried_into_one_click(
    stores, function_module, shop, ddb_faults, learning_loop, code, status, landed
):
    _, _, decision = _decide(function_module, shop, "click-1")
    ddb_faults.fail("PutItem", code, status, landed=landed, where="CLICK#")
    answer, headers, _ = _click(function_module, decision["offers"][0]["tracking_token"])
    assert answer == 302 and "click_id=" in headers["location"]
    assert ddb_faults.injected["PutItem"] == 1 and len(ddb_faults.backoffs) == 1
    assert len(_today(stores, "click", decision_id=decision["decision_id"])) == 1
    assert _counted(stores, learning_loop, shop.offer_id)["engaged"] == 1


CONVERSION_RECORD = '"kind": {"S": "conversion"}'  # the record itself, not its claim or delivery line


@pytest.mark.parametrize(
    ("code", "status", "landed", "where"),
    [
        ("ProvisionedThroughputExceededException", 400, False, "CLICKACTION#"),  # the click claim
        ("InternalServerError", 500, False, CONVERSION_RECORD),  # the conversion record
        ("InternalServerError", 500, True, "CLICKACTION#"),  # the claim landed, answer lost
        ("InternalServerError", 500, True, CONVERSION_RECORD),  # the record landed, answer lost
    ],
)
def test_a_transient_store_error_on_a_conversion_is_retried_into_one_recorded_conversion(
    stores, function_module, shop, ddb_faults, learning_loop, code, status, landed, where
):
    # Given a click on the partner's offer
    _, _, decision = _decide(function_module, shop, "conv-1")
    _, headers, _ = _click(function_module, decision["offers"][0]["tracking_token"])
    click_id = headers["location"].rsplit("click_id=", 1)[1]
    # When one of the webhook's writes meets a transient error
    ddb_faults.fail("PutItem", code, status, landed=landed, where=where)
    answer, _, body = _webhook(function_module, shop, click_id, "conv-1")
    # Then botocore's retry makes it invisible: recorded once, fed to learning once
    assert (answer, body["status"]) == (200, "recorded")
    assert ddb_faults.injected["PutItem"] == 1
    assert len(_today(stores, "conversion", click_id=click_id)) == 1
    assert _counted(stores, learning_loop, shop.offer_id)["converted"] == 1
    # And the partner's own retry is a duplicate
    assert _webhook(function_module, shop, click_id, "conv-1")[2]["status"] == "duplicate"


DYNAMODB_CALLS = ("GetItem", "PutItem", "Query", "UpdateItem", "TransactWriteItems", "BatchGetItem")


@pytest.mark.parametrize("path", ["click", "webhook", "admin"])
def test_a_store_that_stays_throttled_answers_the_503_json_body_never_a_500(
    stores, function_module, shop, ddb_faults, path
):
    # Given a click, a conversion and an admin read, each ready to be asked
    _, _, decision = _decide(function_module, shop, "outage-1")
    token = decision["offers"][0]["tracking_token"]
    admin_key = create_platform_key(stores)
    # When DynamoDB throttles every call, through botocore's retries
    for operation in DYNAMODB_CALLS:
        ddb_faults.fail(operation, "ProvisionedThroughputExceededException", 400, times=None)
    if path == "click":
        status, headers, body = _click(function_module, token)
    elif path == "webhook":
        status, headers, body = _webhook(function_module, shop, "clk_any", "outage-1")
    else:
        event = http_event("GET", "/v1/admin/partners", headers={"authorization": f"Bearer {admin_key}"})
        status, headers, body = invoke(function_module("AdminFunction"), event)
    # Then the caller is told to retry later, in the one error shape (the store translated it)
    assert (status, body["error"]["code"], headers["retry-after"]) == (503, "unavailable", "5")
    assert ddb_faults.backoffs  # botocore retried before the store gave up


def test_a_transaction_cancelled_by_throttling_is_the_store_unavailable_not_a_conflict():
    from botocore.exceptions import ClientError

    from afterglow.store.dynamo import Unavailable

    def cancelled(*reasons):
        response = {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": reason} for reason in reasons],
        }
        return ClientError(response, "TransactWriteItems")

    class Client:
        def __init__(self, error):
            self.error = error

        def transact_write_items(self, **kwargs):
            raise self.error

    # A transaction a condition refused is the store's to read (an existing key, a changed version)
    refused = cancelled("ConditionalCheckFailed", "None")
    with pytest.raises(ClientError) as raised:
        Unavailable(Client(refused)).transact_write_items(TransactItems=[])
    assert raised.value is refused
    # One cancelled by throttling or a conflicting transaction is the store being unavailable
    for reasons in (("ThrottlingError", "None"), ("None", "TransactionConflict"), ()):
        with pytest.raises(StoreUnavailable):
            Unavailable(Client(cancelled(*reasons))).transact_write_items(TransactItems=[])


def test_a_conversion_whose_first_delivery_failed_is_counted_once_in_learning_and_budget_spend(
    stores, function_module, shop, ddb_faults, learning_loop
):
    # Given a click on the partner's offer (a 7.00 signup)
    _, _, decision = _decide(function_module, shop, "count-1")
    _, headers, _ = _click(function_module, decision["offers"][0]["tracking_token"])
    click_id = headers["location"].rsplit("click_id=", 1)[1]
    # When the ledger stays unwritable through botocore's retries, the partner is told to retry
    ddb_faults.fail("PutItem", "InternalServerError", 500, times=None, where=CONVERSION_RECORD)
    answer, _, body = _webhook(function_module, shop, click_id, "count-1")
    assert (answer, body["error"]["code"]) == (503, "unavailable")
    # And when the store is back, its retry records the conversion; a further retry is a duplicate
    ddb_faults.clear()
    assert _webhook(function_module, shop, click_id, "count-1")[2]["status"] == "recorded"
    assert _webhook(function_module, shop, click_id, "count-1")[2]["status"] == "duplicate"
    # Then it is in the ledger once, and counted once: conversions, revenue and the partner's spend
    assert len(_today(stores, "conversion", click_id=click_id)) == 1
    counted = _counted(stores, learning_loop, shop.offer_id)
    assert (counted["converted"], counted["revenue_minor"]) == (1, 700)
    today = datetime.now(UTC).date()
    spend = stores.learning.spend([today.isoformat(), f"{today:%Y-%m}"])
    assert spend == {
        (shop.partner_id, "EUR", today.isoformat()): 700,
        (shop.partner_id, "EUR", f"{today:%Y-%m}"): 700,
    }


def test_an_event_whose_answer_was_lost_is_accepted_once_not_called_a_duplicate(
    stores, function_module, shop, ddb_faults, learning_loop
):
    _, _, decision = _decide(function_module, shop, "lost-1")
    token = decision["offers"][0]["tracking_token"]
    event = {"event_id": "evt-lost-0001", "type": "impression", "token": token,
             "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip
    ddb_faults.fail("PutItem", "InternalServerError", 500, landed=True, where="EVENT#impression")
    status, _, body = _events(function_module, shop, [event])
    assert (status, body["results"][0]["status"]) == (200, "accepted")
    assert ddb_faults.injected["PutItem"] == 1
    assert _counted(stores, learning_loop, shop.offer_id)["viewed"] == 1
    assert _events(function_module, shop, [event])[2]["results"][0]["status"] == "duplicate"
    assert len(_today(stores, "impression", decision_id=decision["decision_id"])) == 1


def test_a_slow_store_degrades_the_decision_and_the_retry_records_it_once(
    stores, function_module, shop, ddb_faults, monkeypatch
):
    # Given a store that takes a second per call (the clock the deadline reads moves on), past
    # the production deadline of 800 ms
    monkeypatch.setenv("DECISION_DEADLINE_MS", "800")
    get_settings.cache_clear()
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr("afterglow.services.decisions.monotonic", lambda: clock.now)
    _decide(function_module, shop, "warm-up")  # a warm function: catalog and policy cached
    ddb_faults.on_each_call(lambda: setattr(clock, "now", clock.now + 1.0))
    # When the storefront asks for offers
    status, _, body = _decide(function_module, shop, "slow-1")
    # Then it gets no offers at once, says so, and nothing is recorded for that order
    assert (status, body["degraded"], body["offers"]) == (200, True, [])
    assert _today(stores, "decision", order_id="slow-1") == []
    # And when the store is fast again, the SDK's next try records one decision; a reload replays it
    ddb_faults.clear()
    _, _, first = _decide(function_module, shop, "slow-1")
    _, _, reload = _decide(function_module, shop, "slow-1")
    assert not first["degraded"] and first["offers"] and reload["decision_id"] == first["decision_id"]
    assert len(_today(stores, "decision", order_id="slow-1")) == 1


def test_a_hung_store_is_given_up_on_after_one_retry_within_the_deadline(
    stores, function_module, shop, ddb_faults
):
    # Given a warm function, then a store that never answers (each call times out)
    _decide(function_module, shop, "warm-up")
    ddb_faults.sent.clear()

    def hang() -> None:
        raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    ddb_faults.on_each_call(hang)
    # When the storefront asks for offers, it degrades after two tries of the one read, not five
    status, _, body = _decide(function_module, shop, "hung-1")
    assert (status, body["degraded"], body["offers"]) == (200, True, [])
    assert ddb_faults.sent == {"BatchGetItem": 2}
    # And each try waits at most half the deadline for an answer
    config = stores.decisions._ddb.meta.config
    deadline_s = get_settings().decision_deadline_ms / 1000
    assert config.read_timeout * 2 <= deadline_s and config.connect_timeout * 2 <= deadline_s


# --- nightly reconciliation --------------------------------------------------------------------


@pytest.fixture
def day_of_ledger(stores):
    """One day of ledger for a retailer and a partner: decisions, events, clicks, conversions."""
    seeded = seed_catalog(stores)
    write = Ledger(stores.ledger)
    for n in range(6):
        decision = f"d{n}"
        write.decision(seeded.retailer_id, decision, "mixed", 2, customer=f"h-{n}")
        write.event("impression", seeded.retailer_id, seeded.partner_id, decision, 2)
        if n % 2:
            write.event("click", seeded.retailer_id, seeded.partner_id, decision, 2)
            at = datetime(2026, 3, 2, 13, n, tzinfo=UTC)
            write.conversion(seeded.partner_id, f"c{n}", seeded.retailer_id, decision, "signup", 700, at)
    return seeded


def _reconcile(function_module):
    handler = function_module("ReconcileFunction").lambda_handler
    return handler({"date": DAY}, FakeLambdaContext("reconcile"))


def _bucket(stores):
    return {key: stores.reports.get(key) for key in stores.reports.keys("")}


def _uninterrupted_then_wiped(stores, function_module):
    """The files an uninterrupted run writes; then the bucket is emptied for the faulty run."""
    assert _reconcile(function_module)["status"] == "ok"
    written = _bucket(stores)
    for key in written:
        stores.reports._s3.delete_object(Bucket=stores.reports.bucket, Key=key)
    return written


def test_s3_slowing_down_once_is_retried_and_the_report_is_whole(
    stores, function_module, day_of_ledger, s3_faults
):
    reference = _uninterrupted_then_wiped(stores, function_module)
    s3_faults.fail("PutObject", "SlowDown", 503, where="aggregates.csv")
    assert _reconcile(function_module)["status"] == "ok"
    assert s3_faults.injected["PutObject"] == 1 and len(s3_faults.backoffs) == 1
    assert _bucket(stores) == reference


def test_s3_failing_for_one_file_fails_the_run_loudly_and_a_rerun_writes_the_same_report(
    stores, function_module, day_of_ledger, s3_faults
):
    reference = _uninterrupted_then_wiped(stores, function_module)
    # When S3 keeps failing one object of the day, through every retry
    s3_faults.fail("PutObject", "InternalError", 500, times=None, where="report.html")
    # Then the run raises (Lambda retries it, then the dead-letter queue), after backing off
    with pytest.raises(StoreUnavailable):  # the AWS error, translated at the store
        _reconcile(function_module)
    assert s3_faults.injected["PutObject"] == len(s3_faults.backoffs) + 1 > 2  # every attempt failed
    # And no report is visible as done: the files written so far have no manifest
    assert stores.reports.get(f"reports/daily/dt={DAY}/aggregates.csv") is not None
    assert stores.reports.get(f"reports/daily/dt={DAY}/manifest.json") is None
    # And once S3 is healthy, the next run writes byte for byte what an uninterrupted run writes
    s3_faults.clear()
    assert _reconcile(function_module)["status"] == "ok"
    assert _bucket(stores) == reference


def test_a_run_killed_while_reading_the_ledger_writes_nothing_and_the_rerun_is_identical(
    stores, function_module, day_of_ledger, ddb_faults
):
    reference = _uninterrupted_then_wiped(stores, function_module)
    # When the ledger reads fail halfway through the day's shards (a few shards already read)
    ddb_faults.fail("Query", "InternalServerError", 500, times=None, after=5)
    with pytest.raises(StoreUnavailable):  # the AWS error, translated at the store
        _reconcile(function_module)
    assert _bucket(stores) == {}  # nothing half-written: files are built before any is written
    ddb_faults.clear()
    _reconcile(function_module)
    assert _bucket(stores) == reference


def test_a_run_killed_during_the_month_roll_up_reruns_cleanly_without_duplicate_invoice_lines(
    stores, function_module, day_of_ledger, s3_faults
):
    reference = _uninterrupted_then_wiped(stores, function_module)
    # When the run dies after the day's report and the invoices, while writing the statements
    s3_faults.fail("PutObject", "InternalError", 500, times=None, where="statements/")
    with pytest.raises(StoreUnavailable):  # the AWS error, translated at the store
        _reconcile(function_module)
    invoice = f"invoices/partner={day_of_ledger.partner_id}/2026-03.csv"
    assert stores.reports.get(f"reports/daily/dt={DAY}/manifest.json") is not None
    assert stores.reports.get(invoice) is not None
    assert stores.reports.get("reports/monthly/month=2026-03/manifest.json") is None
    # Then a re-run completes with the same bytes, and each invoice line appears once
    s3_faults.clear()
    _reconcile(function_module)
    assert _bucket(stores) == reference
    lines = [tuple(row.items()) for row in read_csv(stores.reports.get(invoice))]
    assert lines and len(lines) == len(set(lines))

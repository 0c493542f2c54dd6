"""The nightly state machine's steps — plan, one invocation per shard, merge — write exactly what
one invocation writes for the same day, and a merge never publishes half a day."""

from datetime import UTC, datetime

import pytest

from afterglow.services.reconcile import PartialMissing
from afterglow_dev.local.gateway import FakeLambdaContext
from tests.integration.test_faults import DAY, _uninterrupted_then_wiped
from tests.integration.test_reconcile_month import Ledger
from tests.utils import seed_catalog


@pytest.fixture
def day_of_ledger(stores):
    """A day of ledger over many shards: decisions, impressions, clicks, conversions, a reversal."""
    seeded = seed_catalog(stores)
    write = Ledger(stores.ledger)
    for n in range(40):
        decision = f"d{n}"
        write.decision(seeded.retailer_id, decision, "mixed" if n % 5 else "holdout", 2, customer=f"h-{n}")
        write.event("impression", seeded.retailer_id, seeded.partner_id, decision, 2)
        if n % 3 == 0:
            write.event("click", seeded.retailer_id, seeded.partner_id, decision, 2)
            at = datetime(2026, 3, 2, 13, n % 60, tzinfo=UTC)
            write.conversion(seeded.partner_id, f"c{n}", seeded.retailer_id, decision, "signup", 700, at)
    return seeded


def _invoke(function_module, event):
    return function_module("ReconcileFunction").lambda_handler(event, FakeLambdaContext("reconcile"))


def _reports(stores):
    """Every file under reports/, invoices/, statements/ and followups/: what people read."""
    return {key: stores.reports.get(key) for key in stores.reports.keys("") if not key.startswith("work/")}


def test_plan_shards_and_merge_write_what_one_invocation_writes(stores, function_module, day_of_ledger):
    # Given the reports one invocation writes for the day
    reference = _uninterrupted_then_wiped(stores, function_module)
    assert any(key.endswith("manifest.json") for key in reference)
    # When the state machine's steps run instead: plan, every shard (in any order), merge
    plan = _invoke(function_module, {"step": "plan", "date": DAY})
    assert plan["date"] == DAY and plan["shards"] == list(range(stores.ledger.shards))
    for shard in reversed(plan["shards"]):
        assert _invoke(function_module, {"step": "shard", "date": DAY, "shard": shard})["status"] == "ok"
    assert _invoke(function_module, {"step": "merge", "date": DAY}) == {"status": "ok", "days": [DAY]}
    # Then every report is byte for byte the same
    assert _reports(stores) == reference


def test_a_merge_with_a_shard_missing_fails_and_publishes_nothing(stores, function_module, day_of_ledger):
    for shard in range(1, stores.ledger.shards):  # shard 0 never ran
        _invoke(function_module, {"step": "shard", "date": DAY, "shard": shard})
    with pytest.raises(PartialMissing):  # the state machine retries the merge, then fails loudly
        _invoke(function_module, {"step": "merge", "date": DAY})
    assert _reports(stores) == {}


def test_a_plan_without_a_date_is_yesterday_and_bad_steps_are_refused(stores, function_module):
    plan = _invoke(function_module, {"step": "plan"})
    assert plan["date"] < datetime.now(UTC).date().isoformat()
    assert _invoke(function_module, {"step": "plan", "date": None}) == plan  # the schedule's input
    assert _invoke(function_module, {"step": "shard", "date": DAY})["status"] == "invalid"
    assert _invoke(function_module, {"step": "merge"})["status"] == "invalid"
    assert _invoke(function_module, {"step": "shard", "date": DAY, "shard": 999})["status"] == "invalid"


def _at(data: dict, path: str) -> object:
    """`$`, `$.a` or `$.a.b` of a JSON document."""
    found: object = data
    for part in path.split(".")[1:]:
        assert isinstance(found, dict)
        found = found[part]
    return found


def _fill(template: dict, data: dict, item: object = None) -> dict:
    """Amazon States Language parameters, for the JSONPaths this definition uses (`$`, `$.a.b`,
    `$$.Map.Item.Value`)."""
    filled = {}
    for name, value in template.items():
        if isinstance(value, dict):
            filled[name] = _fill(value, data, item)
        elif name.endswith(".$"):
            filled[name[:-2]] = item if value == "$$.Map.Item.Value" else _at(data, value)
        else:
            filled[name] = value
    return filled


def test_the_templates_state_machine_walked_step_by_step_reconciles_the_day(
    stores, template, function_module, day_of_ledger
):
    """The definition in template.yaml and the handler agree: its payloads are the steps above."""
    reference = _uninterrupted_then_wiped(stores, function_module)
    machine = template.document["Resources"]["ReconcileStateMachine"]["Properties"]
    assert machine["Events"]["Nightly"]["Type"] == "ScheduleV2"
    states = machine["Definition"]["States"]
    data = {"date": DAY}  # a run by hand; the schedule's input is {"date": null}, i.e. yesterday
    state = machine["Definition"]["StartAt"]
    while state:
        spec = states[state]
        if spec["Type"] == "Map":
            for item in _at(data, spec["ItemsPath"]):
                payload = _fill(spec["ItemSelector"], data, item)
                shard_state = spec["ItemProcessor"]["States"][spec["ItemProcessor"]["StartAt"]]
                assert shard_state["Parameters"]["Payload.$"] == "$"
                assert _invoke(function_module, payload)["status"] == "ok"
        else:
            result = _invoke(function_module, _fill(spec["Parameters"], data)["Payload"])
            assert result["status"] == "ok", (state, result)
            if "ResultSelector" in spec:
                data = _fill(spec["ResultSelector"], {"Payload": result})
        state = spec.get("Next")
    assert _reports(stores) == reference

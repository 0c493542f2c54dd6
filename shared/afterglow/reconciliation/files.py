"""What reconciliation writes: a partial as JSON between invocations (the per-shard fan-out), the
day's CSV files (rows sorted: the same ledger always gives the same bytes), and grand totals."""

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields
from typing import Any

from afterglow.reconciliation.aggregation import (
    ActionCounters,
    ActionKey,
    Aggregate,
    AggregateKey,
    ArmCurrencyKey,
    ArmKey,
    DayAggregation,
    DecisionTrail,
    Moments,
    MoneyLine,
    Rejection,
    SatisfactionKey,
    SatisfactionMoments,
)

# --- partials between invocations (the per-shard fan-out) -----------------------------------------


def partial_to_json(day: DayAggregation) -> bytes:
    """A partial aggregate as JSON, to hand from one invocation to another (sorted: the same
    partial always gives the same bytes). `partial_from_json` reads it back exactly."""
    document = {
        "cells": sorted([list(key), asdict(cell)] for key, cell in day.cells.items()),
        "actions": sorted([list(key), asdict(lines)] for key, lines in day.actions.items()),
        "order_values": sorted([list(key), asdict(moments)] for key, moments in day.order_values.items()),
        "offer_revenue": sorted([list(key), revenue] for key, revenue in day.offer_revenue.items()),
        "taken": sorted([list(key), sorted(ids)] for key, ids in day.taken.items()),
        "money_lines": {key: asdict(line) for key, line in day.money_lines.items()},
        "rejections": {key: asdict(rejection) for key, rejection in day.rejections.items()},
        "trails": {key: asdict(trail) for key, trail in day.trails.items()},
        "satisfaction": sorted([list(key), asdict(moments)] for key, moments in day.satisfaction.items()),
        "sessions": sorted([list(key), sessions] for key, sessions in day.sessions.items()),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def partial_from_json(raw: bytes) -> DayAggregation:
    """The partial aggregate `partial_to_json` wrote."""
    document = json.loads(raw)
    return DayAggregation(
        cells={_key5(key): Aggregate(**value) for key, value in document["cells"]},
        actions={_key6(key): ActionCounters(**value) for key, value in document["actions"]},
        order_values={_key3(key): Moments(**value) for key, value in document["order_values"]},
        offer_revenue={_key3(key): dict(value) for key, value in document["offer_revenue"]},
        taken={_key2(key): set(value) for key, value in document["taken"]},
        money_lines={key: MoneyLine(**value) for key, value in document["money_lines"].items()},
        rejections={key: Rejection(**value) for key, value in document["rejections"].items()},
        trails={
            key: DecisionTrail(**{**value, "impressed": tuple(value["impressed"])})
            for key, value in document["trails"].items()
        },
        satisfaction={
            _satisfaction_key(key): SatisfactionMoments(**value)
            for key, value in document.get("satisfaction", [])
        },
        sessions={_key2(key): int(value) for key, value in document.get("sessions", [])},
    )


def _satisfaction_key(key: list[str]) -> SatisfactionKey:
    return (key[0], key[1], key[2])


def _key2(key: list[str]) -> ArmKey:
    return (key[0], key[1])


def _key3(key: list[str]) -> ArmCurrencyKey:
    return (key[0], key[1], key[2])


def _key5(key: list[str]) -> AggregateKey:
    return (key[0], key[1], key[2], key[3], key[4])


def _key6(key: list[str]) -> ActionKey:
    return (key[0], key[1], key[2], key[3], key[4], key[5])


# --- the day's CSV files ---------------------------------------------------------------------------


def _csv(header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


AGGREGATE_COLUMNS = ["retailer_id", "partner_id", "offer_id", "arm", "currency"] + [
    f.name for f in fields(Aggregate)
]
ACTION_COLUMNS = ["retailer_id", "partner_id", "offer_id", "arm", "currency", "action"] + [
    f.name for f in fields(ActionCounters)
]
MONEY_LINE_COLUMNS = [f.name for f in fields(MoneyLine)]
REJECTION_COLUMNS = [f.name for f in fields(Rejection)]


def aggregates_csv(cells: Mapping[AggregateKey, Aggregate]) -> bytes:
    """Aggregates as CSV, rows sorted so that the same ledger always gives the same bytes."""
    names = [f.name for f in fields(Aggregate)]
    return _csv(
        AGGREGATE_COLUMNS, ([*key, *(getattr(cells[key], n) for n in names)] for key in sorted(cells))
    )


def actions_csv(actions: Mapping[ActionKey, ActionCounters]) -> bytes:
    """Money per cell and conversion action: what monthly invoices and statements roll up."""
    names = [f.name for f in fields(ActionCounters)]
    return _csv(
        ACTION_COLUMNS, ([*key, *(getattr(actions[key], n) for n in names)] for key in sorted(actions))
    )


def money_lines_csv(lines: Mapping[str, MoneyLine]) -> bytes:
    """Every conversion and reversal of the day, one row each."""
    ordered = sorted(lines.values(), key=lambda line: (line.partner_id, line.conversion_id, line.reversal_id))
    return _csv(MONEY_LINE_COLUMNS, ([getattr(line, n) for n in MONEY_LINE_COLUMNS] for line in ordered))


def rejections_csv(rejections: Mapping[str, Rejection]) -> bytes:
    """Every refused partner webhook of the day, with its reason."""
    ordered = sorted(rejections.values(), key=lambda r: (r.partner_id, r.conversion_id, r.reversal_id))
    return _csv(REJECTION_COLUMNS, ([getattr(r, n) for n in REJECTION_COLUMNS] for r in ordered))


def read_csv(body: bytes) -> list[dict[str, str]]:
    """A CSV written by this module, back as rows of strings."""
    return list(csv.DictReader(io.StringIO(body.decode())))


def totals(cells: Mapping[AggregateKey, Aggregate]) -> dict[str, Any]:
    """Grand totals; gross is kept per currency because money never changes currency here."""
    money = [f.name for f in fields(Aggregate) if f.name.endswith("_minor")]
    summary: dict[str, Any] = {f.name: 0 for f in fields(Aggregate) if f.name not in money}
    by_currency: dict[str, dict[str, int]] = {name: {} for name in money}
    for key, counters in cells.items():
        for name in summary:
            summary[name] += getattr(counters, name)
        for name in money:
            if getattr(counters, name):
                by_currency[name][key[4]] = by_currency[name].get(key[4], 0) + getattr(counters, name)
    for name in money:
        summary[f"{name}_by_currency"] = dict(sorted(by_currency[name].items()))
    return summary

"""Reconciliation maths: ledger records in, mergeable partial aggregates out. Pure and streaming.

One pass over a day's records (in any order, shard by shard) folds them into a `DayAggregation`:

- `cells`: counters per retailer × partner × offer × arm × currency (`Aggregate`);
- `actions`: conversions, gross, reversals and net per cell × conversion action (invoice lines);
- `order_values`: count, sum and sum of squares of order values per retailer × arm × currency;
- `offer_revenue` / `taken`: per decision that earned money or took an offer *that day*, its net
  offer revenue (for the per-transaction variance) and its id (for the take rate);
- `money_lines` / `rejections`: every conversion, reversal and refused webhook of the day;
- `trails`: per offered decision, who it was for and whether any offer was engaged (follow-ups).

Memory: `cells`, `actions` and `order_values` grow with the catalog (retailers × offers × arms),
never with the number of records. The per-decision maps grow with the decisions that earned money
or took an offer (a few per cent of records), money lines and rejections with the conversions —
each the size of what is written out anyway; `trails` (follow-ups) grows with the day's offered
decisions and can be switched off (`with_followups=False`).

`merge(a, b)` combines two partials — say, of two ledger shards — and equals aggregating the
concatenation of their records; it is associative and commutative, so a fan-out per retailer ×
shard can merge partial results in any order.
"""

import copy
import csv
import io
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

NO_PARTNER = "-"
UNKNOWN_ACTION = "unknown"


@dataclass
class Aggregate:
    """Counters for one retailer × partner × offer × arm × currency cell."""

    decisions: int = 0
    impressions: int = 0
    engagements: int = 0
    dismissals: int = 0
    clicks: int = 0
    conversions: int = 0
    rejected_conversions: int = 0
    gross_minor: int = 0
    reversals: int = 0
    reversed_minor: int = 0
    net_minor: int = 0
    accepts: int = 0
    own_brand_revenue_minor: int = 0


AggregateKey = tuple[str, str, str, str, str]  # retailer, partner, offer, arm, currency
ActionKey = tuple[str, str, str, str, str, str]  # retailer, partner, offer, arm, currency, action
ArmKey = tuple[str, str]  # retailer, arm
ArmCurrencyKey = tuple[str, str, str]  # retailer, arm, currency


@dataclass
class ActionCounters:
    """Money of one cell for one conversion action (signup, first_purchase, …)."""

    conversions: int = 0
    gross_minor: int = 0
    reversals: int = 0
    reversed_minor: int = 0
    net_minor: int = 0


@dataclass
class Moments:
    """Count, sum and sum of squares: enough for a mean and a variance, in constant memory."""

    count: int = 0
    total: int = 0
    total_sq: int = 0

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value
        self.total_sq += value * value


@dataclass(frozen=True)
class MoneyLine:
    """One conversion or reversal as recorded: the unit of a line-by-line partner comparison."""

    kind: str  # conversion | reversal
    partner_id: str
    conversion_id: str
    reversal_id: str
    retailer_id: str
    offer_id: str
    arm: str
    action: str
    currency: str
    payout_minor: int
    recorded_at: str
    occurred_at: str
    locks_at: str  # when the conversion locks (a reversal's: its conversion's); see afterglow.billing


@dataclass(frozen=True)
class Rejection:
    """A partner webhook refused for a business reason, kept for the discrepancy report."""

    partner_id: str
    conversion_id: str
    reversal_id: str
    retailer_id: str
    offer_id: str
    reason: str
    recorded_at: str


@dataclass(slots=True)
class DecisionTrail:
    """What follow-ups need of one offered decision: who, which offers were seen, any engagement."""

    retailer_id: str = ""
    customer_hash: str = ""
    order_id: str = ""
    decided_at: str = ""
    impressed: tuple[str, ...] = ()  # sorted offer ids
    engaged: bool = False

    def absorb(self, other: "DecisionTrail") -> None:
        self.retailer_id = self.retailer_id or other.retailer_id
        self.customer_hash = self.customer_hash or other.customer_hash
        self.order_id = self.order_id or other.order_id
        self.decided_at = self.decided_at or other.decided_at
        if other.impressed:
            self.impressed = tuple(sorted(set(self.impressed) | set(other.impressed)))
        self.engaged = self.engaged or other.engaged


@dataclass
class DayAggregation:
    """A (partial) aggregate of ledger records; see the module docstring."""

    cells: dict[AggregateKey, Aggregate] = field(default_factory=dict)
    actions: dict[ActionKey, ActionCounters] = field(default_factory=dict)
    order_values: dict[ArmCurrencyKey, Moments] = field(default_factory=dict)
    offer_revenue: dict[ArmCurrencyKey, dict[str, int]] = field(default_factory=dict)
    taken: dict[ArmKey, set[str]] = field(default_factory=dict)
    money_lines: dict[str, MoneyLine] = field(default_factory=dict)
    rejections: dict[str, Rejection] = field(default_factory=dict)
    trails: dict[str, DecisionTrail] = field(default_factory=dict)


_COUNTED = {
    "impression": "impressions",
    "engage": "engagements",
    "dismiss": "dismissals",
    "click": "clicks",
    "rejected_conversion": "rejected_conversions",
}
_ENGAGING = frozenset({"engage", "click", "accept"})
_SEEN_OR_ENGAGING = _ENGAGING | {"impression", "dismiss"}


def _text(value: Any) -> str:
    return str(value) if value else NO_PARTNER


def _cell_key(record: Mapping[str, Any]) -> AggregateKey:
    return (
        str(record["retailer_id"]),
        _text(record.get("partner_id")),
        _text(record.get("offer_id")),
        _text(record.get("arm")),
        _text(record.get("currency")),
    )


def fold(
    records: Iterable[Mapping[str, Any]],
    into: DayAggregation | None = None,
    *,
    with_followups: bool = True,
) -> DayAggregation:
    """Fold ledger records into `into` (or a new aggregation) and return it; one pass, no record kept."""
    day = into if into is not None else DayAggregation()
    cells, trails = day.cells, day.trails
    for record in records:
        kind = record["kind"]
        if kind not in _COUNTED and kind not in ("decision", "conversion", "reversal", "accept"):
            continue  # survey answers and anything newer: not money, not counted here
        key = _cell_key(record)
        target = cells.get(key)
        if target is None:
            target = cells[key] = Aggregate()
        decision_id = record.get("decision_id")
        counter = _COUNTED.get(kind)
        if counter is not None:
            setattr(target, counter, getattr(target, counter) + 1)
            if kind == "rejected_conversion":
                _reject(day, record)
        elif kind == "decision":
            target.decisions += 1
            _decision(day, key, record, with_followups)
        elif kind == "accept":
            revenue = int(record["own_brand_revenue_minor"])
            target.accepts += 1
            target.own_brand_revenue_minor += revenue
            _earned(day, key, decision_id, revenue, taken=True)
        else:  # conversion or reversal
            _money(day, key, target, record)
        if with_followups and decision_id and kind in _SEEN_OR_ENGAGING:
            trail = trails.get(decision_id)
            if trail is None:
                trail = trails[decision_id] = DecisionTrail()
            if kind in _ENGAGING:
                trail.engaged = True
            else:
                offer_id = sys.intern(str(record.get("offer_id") or NO_PARTNER))
                if offer_id not in trail.impressed:
                    trail.impressed = tuple(sorted((*trail.impressed, offer_id)))
    return day


def _decision(
    day: DayAggregation, key: AggregateKey, record: Mapping[str, Any], with_followups: bool
) -> None:
    arm_key = (key[0], key[3], key[4])
    moments = day.order_values.get(arm_key)
    if moments is None:
        moments = day.order_values[arm_key] = Moments()
    moments.add(int(record.get("order_value_minor") or 0))
    decision_id = record.get("decision_id")
    if with_followups and decision_id and record.get("offer_ids"):
        trail = day.trails.get(decision_id)
        if trail is None:
            trail = day.trails[decision_id] = DecisionTrail()
        trail.retailer_id = sys.intern(key[0])  # one copy per retailer, not per decision
        trail.customer_hash = str(record.get("customer_hash") or "")
        trail.order_id = str(record.get("order_id") or "")
        trail.decided_at = str(record.get("at") or "")


def _earned(day: DayAggregation, key: AggregateKey, decision_id: Any, amount: int, *, taken: bool) -> None:
    """Book offer revenue (and a take) against the decision that earned it."""
    if not decision_id:
        return
    revenue = day.offer_revenue.setdefault((key[0], key[3], key[4]), {})
    revenue[decision_id] = revenue.get(decision_id, 0) + amount
    if taken:
        day.taken.setdefault((key[0], key[3]), set()).add(decision_id)


def _money(day: DayAggregation, key: AggregateKey, target: Aggregate, record: Mapping[str, Any]) -> None:
    payout = int(record["payout_minor"])  # a reversal's is negative
    action = str(record.get("action") or UNKNOWN_ACTION)
    action_key = (*key, action)
    lines = day.actions.get(action_key)
    if lines is None:
        lines = day.actions[action_key] = ActionCounters()
    is_conversion = record["kind"] == "conversion"
    if is_conversion:
        target.conversions += 1
        target.gross_minor += payout
        lines.conversions += 1
        lines.gross_minor += payout
    else:
        target.reversals += 1
        target.reversed_minor -= payout
        lines.reversals += 1
        lines.reversed_minor -= payout
    target.net_minor += payout
    lines.net_minor += payout
    _earned(day, key, record.get("decision_id"), payout, taken=is_conversion)
    line = MoneyLine(
        kind=str(record["kind"]),
        partner_id=key[1],
        conversion_id=str(record.get("conversion_id") or ""),
        reversal_id=str(record.get("reversal_id") or ""),
        retailer_id=key[0],
        offer_id=key[2],
        arm=key[3],
        action=action,
        currency=key[4],
        payout_minor=payout,
        recorded_at=str(record.get("at") or ""),
        occurred_at=str(record.get("occurred_at") or ""),
        locks_at=str(record.get("locks_at") or record.get("conversion_locks_at") or ""),
    )
    day.money_lines[f"{line.kind}#{line.partner_id}#{line.conversion_id}#{line.reversal_id}"] = line


def _reject(day: DayAggregation, record: Mapping[str, Any]) -> None:
    rejection = Rejection(
        partner_id=_text(record.get("partner_id")),
        conversion_id=str(record.get("conversion_id") or ""),
        reversal_id=str(record.get("reversal_id") or ""),
        retailer_id=str(record["retailer_id"]),
        offer_id=_text(record.get("offer_id")),
        reason=str(record.get("reason") or UNKNOWN_ACTION),
        recorded_at=str(record.get("at") or ""),
    )
    day.rejections[f"{rejection.partner_id}#{rejection.conversion_id}#{rejection.reversal_id}"] = rejection


def aggregate_day(records: Iterable[Mapping[str, Any]], *, with_followups: bool = True) -> DayAggregation:
    """Aggregate records (one shard or a whole day) into a fresh partial."""
    return fold(records, with_followups=with_followups)


def add_counters(into: Any, other: Any) -> None:
    """Add every counter of one dataclass instance into another of the same type."""
    for name in (f.name for f in fields(other)):
        setattr(into, name, getattr(into, name) + getattr(other, name))


def merge_into(into: DayAggregation, other: DayAggregation) -> DayAggregation:
    """Add `other` into `into` (mutating it) and return it; `other` is left as it was."""
    for key, cell in other.cells.items():
        add_counters(into.cells.setdefault(key, Aggregate()), cell)
    for action_key, lines in other.actions.items():
        add_counters(into.actions.setdefault(action_key, ActionCounters()), lines)
    for arm_key, moments in other.order_values.items():
        add_counters(into.order_values.setdefault(arm_key, Moments()), moments)
    for arm_key, revenue in other.offer_revenue.items():
        mine = into.offer_revenue.setdefault(arm_key, {})
        for decision_id, amount in revenue.items():
            mine[decision_id] = mine.get(decision_id, 0) + amount
    for taken_key, decision_ids in other.taken.items():
        into.taken.setdefault(taken_key, set()).update(decision_ids)
    into.money_lines.update(other.money_lines)
    into.rejections.update(other.rejections)
    for decision_id, trail in other.trails.items():
        existing = into.trails.get(decision_id)
        if existing is None:
            into.trails[decision_id] = copy.copy(trail)
        else:
            existing.absorb(trail)
    return into


def merge(first: DayAggregation, second: DayAggregation) -> DayAggregation:
    """The aggregate of both partials' records; neither argument is changed."""
    return merge_into(copy.deepcopy(first), second)


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
    )


def _key2(key: list[str]) -> ArmKey:
    return (key[0], key[1])


def _key3(key: list[str]) -> ArmCurrencyKey:
    return (key[0], key[1], key[2])


def _key5(key: list[str]) -> AggregateKey:
    return (key[0], key[1], key[2], key[3], key[4])


def _key6(key: list[str]) -> ActionKey:
    return (key[0], key[1], key[2], key[3], key[4], key[5])


# --- the day's CSV files (rows sorted: the same ledger always gives the same bytes) ---------------


def _csv(header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def aggregate(records: Iterable[Mapping[str, Any]]) -> dict[AggregateKey, Aggregate]:
    """Fold ledger records of one day into cells; memory grows with cells, not with records."""
    return fold(records, with_followups=False).cells


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

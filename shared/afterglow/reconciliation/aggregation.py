"""Folding ledger records into a day's partial aggregate (`DayAggregation`), and merging partials.
See the package docstring for what each part of the aggregate holds and why it is mergeable."""

import copy
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from afterglow.satisfaction import SCALES, nps_vote

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
    own_brand_revenue_minor: int = 0  # added by accepts (gross of returns)
    accepted_units: int = 0
    returns: int = 0  # returns of own-brand add-ons recorded that day (of accepts of any day)
    returned_units: int = 0
    own_brand_returned_minor: int = 0

    @property
    def own_brand_net_minor(self) -> int:
        """Own-brand add-to-order revenue net of the returns booked in this cell."""
        return self.own_brand_revenue_minor - self.own_brand_returned_minor

    @property
    def earned_minor(self) -> int:
        """What the cell earned: partner payouts net of reversals plus own-brand revenue net of returns."""
        return self.net_minor + self.own_brand_net_minor


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


@dataclass
class SatisfactionMoments:
    """Satisfaction answers of one retailer × arm × scale: count, sum and sum of squares of the
    scores, and (NPS) how many promoters and detractors. Sums of days are the month's."""

    count: int = 0
    total: int = 0
    total_sq: int = 0
    promoters: int = 0
    detractors: int = 0

    def add(self, scale: str, score: int) -> None:
        self.count += 1
        self.total += score
        self.total_sq += score * score
        if scale == "nps":
            vote = nps_vote(score)
            self.promoters += int(vote == 1)
            self.detractors += int(vote == -1)


SatisfactionKey = tuple[str, str, str]  # retailer, arm, scale


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
    arm: str = ""  # for the follow-up's signed satisfaction links
    # the decision's learning context (its main product type among it): when a refill runs out, and
    # what the follow-up's signed links count their clicks under
    context: dict[str, str] = field(default_factory=dict)

    def absorb(self, other: "DecisionTrail") -> None:
        self.retailer_id = self.retailer_id or other.retailer_id
        self.customer_hash = self.customer_hash or other.customer_hash
        self.order_id = self.order_id or other.order_id
        self.decided_at = self.decided_at or other.decided_at
        if other.impressed:
            self.impressed = tuple(sorted(set(self.impressed) | set(other.impressed)))
        self.engaged = self.engaged or other.engaged
        self.arm = self.arm or other.arm
        self.context = self.context or other.context


@dataclass
class DayAggregation:
    """A (partial) aggregate of ledger records; see the package docstring."""

    cells: dict[AggregateKey, Aggregate] = field(default_factory=dict)
    actions: dict[ActionKey, ActionCounters] = field(default_factory=dict)
    order_values: dict[ArmCurrencyKey, Moments] = field(default_factory=dict)
    offer_revenue: dict[ArmCurrencyKey, dict[str, int]] = field(default_factory=dict)
    taken: dict[ArmKey, set[str]] = field(default_factory=dict)
    money_lines: dict[str, MoneyLine] = field(default_factory=dict)
    rejections: dict[str, Rejection] = field(default_factory=dict)
    trails: dict[str, DecisionTrail] = field(default_factory=dict)
    satisfaction: dict[SatisfactionKey, SatisfactionMoments] = field(default_factory=dict)
    sessions: dict[ArmKey, int] = field(default_factory=dict)  # confirmation page views


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
        if kind in ("satisfaction", "page_view"):
            _experience(day, record)
            continue
        if kind not in _COUNTED and kind not in ("decision", "conversion", "reversal", "accept", "return"):
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
            target.accepted_units += int(record.get("quantity") or 1)
            target.own_brand_revenue_minor += revenue
            _earned(day, key, decision_id, revenue, taken=True)
        elif kind == "return":  # of an own-brand add-on: in its accept's cell, on the day recorded
            returned = int(record["amount_minor"])
            target.returns += 1
            target.returned_units += int(record.get("quantity") or 0)
            target.own_brand_returned_minor += returned
            _earned(day, key, decision_id, -returned, taken=False)
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
        trail.arm = sys.intern(key[3])
        context = record.get("context")
        if isinstance(context, Mapping):
            trail.context = {str(name): str(value) for name, value in context.items()}


def _experience(day: DayAggregation, record: Mapping[str, Any]) -> None:
    """A satisfaction answer or a confirmation page view (a session), by retailer × arm."""
    retailer, arm = str(record.get("retailer_id") or NO_PARTNER), _text(record.get("arm"))
    if record["kind"] == "page_view":
        day.sessions[(retailer, arm)] = day.sessions.get((retailer, arm), 0) + 1
        return
    scale, score = str(record.get("scale")), record.get("score")
    low, high = SCALES.get(scale, (1, 0))
    if not isinstance(score, int) or not low <= score <= high:
        return  # checked when recorded; a record that is not a score on its scale is no answer
    moments = day.satisfaction.get((retailer, arm, scale))
    if moments is None:
        moments = day.satisfaction[(retailer, arm, scale)] = SatisfactionMoments()
    moments.add(scale, int(score))


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
    for satisfaction_key, answers in other.satisfaction.items():
        add_counters(into.satisfaction.setdefault(satisfaction_key, SatisfactionMoments()), answers)
    for session_key, sessions in other.sessions.items():
        into.sessions[session_key] = into.sessions.get(session_key, 0) + sessions
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


def aggregate(records: Iterable[Mapping[str, Any]]) -> dict[AggregateKey, Aggregate]:
    """Fold ledger records of one day into cells; memory grows with cells, not with records."""
    return fold(records, with_followups=False).cells

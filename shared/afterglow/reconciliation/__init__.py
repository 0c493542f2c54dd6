"""Reconciliation maths: ledger records in, mergeable partial aggregates out. Pure and streaming.

One pass over a day's records (in any order, shard by shard) folds them into a `DayAggregation`:

- `cells`: counters per retailer × partner × offer × arm × currency (`Aggregate`), own-brand
  add-ons' accepts and returns among them (a return counts in its accept's cell on the day it is
  recorded, like a partner's reversal);
- `actions`: conversions, gross, reversals and net per cell × conversion action (invoice lines);
- `order_values`: count, sum and sum of squares of order values per retailer × arm × currency;
- `offer_revenue` / `taken`: per decision that earned money or took an offer *that day*, its net
  offer revenue (payouts net of reversals, add-ons net of returns; for the per-transaction
  variance) and its id (for the take rate);
- `money_lines` / `rejections`: every conversion, reversal and refused webhook of the day;
- `satisfaction`: per retailer × arm × scale, count, sum and sum of squares of satisfaction scores
  (and NPS promoters and detractors); `sessions`: confirmation page views per retailer × arm;
- `trails`: per offered decision, who it was for and whether any offer was engaged (follow-ups).

Memory: `cells`, `actions`, `order_values`, `satisfaction` and `sessions` grow with the catalog
(retailers × offers × arms), never with the number of records. The per-decision maps grow with the
decisions that earned money or took an offer (a few per cent of records), money lines and
rejections with the conversions — each the size of what is written out anyway; `trails`
(follow-ups) grows with the day's offered decisions and can be switched off (`with_followups=False`).

`merge(a, b)` combines two partials — say, of two ledger shards — and equals aggregating the
concatenation of their records; it is associative and commutative, so a fan-out per retailer ×
shard can merge partial results in any order.

The package, by job: `aggregation` (the aggregate's types, `fold`, `merge`), `files` (partials as
JSON between invocations, the day's CSV files, grand totals). Import from `afterglow.reconciliation`.
"""

from afterglow.reconciliation.aggregation import (
    NO_PARTNER,
    UNKNOWN_ACTION,
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
    add_counters,
    aggregate,
    aggregate_day,
    fold,
    merge,
    merge_into,
)
from afterglow.reconciliation.files import (
    ACTION_COLUMNS,
    AGGREGATE_COLUMNS,
    MONEY_LINE_COLUMNS,
    REJECTION_COLUMNS,
    actions_csv,
    aggregates_csv,
    money_lines_csv,
    partial_from_json,
    partial_to_json,
    read_csv,
    rejections_csv,
    totals,
)

__all__ = [
    "ACTION_COLUMNS",
    "AGGREGATE_COLUMNS",
    "MONEY_LINE_COLUMNS",
    "NO_PARTNER",
    "REJECTION_COLUMNS",
    "UNKNOWN_ACTION",
    "ActionCounters",
    "ActionKey",
    "Aggregate",
    "AggregateKey",
    "ArmCurrencyKey",
    "ArmKey",
    "DayAggregation",
    "DecisionTrail",
    "Moments",
    "MoneyLine",
    "Rejection",
    "SatisfactionKey",
    "SatisfactionMoments",
    "actions_csv",
    "add_counters",
    "aggregate",
    "aggregate_day",
    "aggregates_csv",
    "fold",
    "merge",
    "merge_into",
    "money_lines_csv",
    "partial_from_json",
    "partial_to_json",
    "read_csv",
    "rejections_csv",
    "totals",
]

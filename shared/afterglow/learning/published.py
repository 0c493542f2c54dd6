"""The learning model as the trainer publishes it and a warm decide reads it.

Format 2 (`published_model`): the policy's estimates, computed once by the trainer as
`from_counters` computes them, and per offer its counter rows as a JSON string of their own:

    {"format": 2, "budget_day": "YYYY-MM-DD", "exhausted_partners": [...], "pacing": {...},
     "estimates": {...},
     "arms": {"off_…": "[[feature, value, shown, successes, reward_sum, reward_sq_sum], …]", …}}

A decide parses the document (the rows stay strings) and then each offer's rows when it first ranks
that offer (`from_published`). At 20,000 offers × 9 rows, reading every row and re-estimating took
~2 s of a cold start; the strings parse in tens of milliseconds. Format 1 (`rows`: every counter
row `[arm, feature, value, shown, successes, reward_sum, reward_sq_sum]`), an older trainer's, is
still read, the slow way.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from afterglow.learning.features import CounterRow
from afterglow.learning.policy import HierarchicalThompson, from_counters, from_published

MODEL_FORMAT: Final = 2


def counter_rows(rows: Iterable[list[Any]]) -> list[CounterRow]:
    """Rows `[arm, feature, value, shown, successes, reward_sum, reward_sq_sum]` as the policy reads them."""
    return [
        CounterRow(
            arm_id=arm,
            feature=feature,
            value=value,
            shown=shown,
            successes=successes,
            reward_sum=float(reward_sum),
            reward_sq_sum=float(reward_sq_sum),
        )
        for arm, feature, value, shown, successes, reward_sum, reward_sq_sum in rows
    ]


def published_model(
    rows: list[list[Any]],
    *,
    offer_categories: Mapping[str, str],
    budgets: Mapping[str, Any],
    offer_payouts: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The model to publish (format 2) from the summed counter rows, sorted by arm; `budgets`
    (`budget_day`, `exhausted_partners`, `pacing`: what decide needs of partners' budgets that day)
    goes in as it is. With the catalog's `offer_payouts`, the estimates hold how conversion moves
    with payout (`payout_slope`)."""
    estimates = from_counters(
        counter_rows(rows), offer_categories=offer_categories, offer_payouts=offer_payouts
    ).estimates()
    arms: dict[str, list[list[Any]]] = {}
    for arm, *row in rows:
        arms.setdefault(arm, []).append(row)
    return {
        "format": MODEL_FORMAT,
        **budgets,
        "estimates": estimates,
        "arms": {arm: json.dumps(arm_rows, separators=(",", ":")) for arm, arm_rows in arms.items()},
    }


def policy_of(
    model: Mapping[str, Any],
    *,
    offer_categories: Mapping[str, str],
    offer_payouts: Mapping[str, float] | None = None,
) -> HierarchicalThompson:
    """The policy of a published model (format 2, or an older trainer's format 1), with the
    catalog's categories and payouts (`afterglow.catalog.CatalogPayouts`) as its priors."""
    if model.get("format") == MODEL_FORMAT:
        return from_published(
            model["arms"], model["estimates"], offer_categories=offer_categories, offer_payouts=offer_payouts
        )
    return from_counters(
        counter_rows(model["rows"]), offer_categories=offer_categories, offer_payouts=offer_payouts
    )


def model_rows_of(model: Mapping[str, Any]) -> list[list[Any]]:
    """Every counter row of a published model, `[arm, feature, value, …]`, either format."""
    if model.get("format") == MODEL_FORMAT:
        return [[arm, *row] for arm, raw in sorted(model["arms"].items()) for row in json.loads(raw)]
    return [list(row) for row in model["rows"]]

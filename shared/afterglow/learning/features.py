"""Context features: the (feature, value) cells a decision's context touches, and the counter
row the policy keeps per offer × cell. Any context key works; strings are categories, floats are
bucketed, declared key pairs make interaction cells."""

import math
from collections.abc import Iterable, Mapping
from typing import Final, NotRequired, TypedDict

ContextValue = str | float
Context = Mapping[str, ContextValue]
FeatureValue = tuple[str, str]


class CounterRow(TypedDict):
    """One learning counter as stored: an arm (offer) × feature × value cell."""

    arm_id: str
    feature: str
    value: str
    shown: int
    successes: int
    reward_sum: float
    reward_sq_sum: NotRequired[float]  # optional: lets payout noise be estimated, else assumed


TOTAL: Final[FeatureValue] = ("*", "*")  # an arm's totals over every context
PAIR_JOIN: Final = "×"


def feature_value(value: object) -> str:
    """The categorical value a context value falls in: floats are bucketed, others taken as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # ints are usually ids or small codes, not measurements
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if -1.0 <= value <= 1.0:  # scores and shares: quarter steps
            return f"{round(value * 4) / 4:g}"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        # Amounts (order value, …): half-octave buckets, fine enough to learn from, never sparse.
        octave = math.floor(math.log2(abs(value)) * 2) / 2
        return f"{'-' if value < 0 else ''}2^{octave:g}"
    return str(value)


def context_features(context: Context) -> list[FeatureValue]:
    """The (feature, value) cells a context touches; keys starting with `*` are reserved."""
    return [
        (str(key), feature_value(value)) for key, value in context.items() if not str(key).startswith("*")
    ]


def pair_features(features: list[FeatureValue], pairs: Iterable[tuple[str, str]]) -> list[FeatureValue]:
    """The interaction cells of declared key pairs present in a context: `a×b` = `value_a×value_b`."""
    values = dict(features)
    return [
        (f"{first}{PAIR_JOIN}{second}", f"{values[first]}{PAIR_JOIN}{values[second]}")
        for first, second in pairs
        if first in values and second in values
    ]

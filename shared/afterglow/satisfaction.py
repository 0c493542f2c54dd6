"""The one-tap satisfaction question: its scales and what an answer counts as. Pure.

A retailer asks either the Net Promoter question (`nps`, scores 0–10) or a 5-point satisfaction
question (`csat`, scores 1–5). Only a whole number on the scale is ever recorded: anything else is
refused where it arrives (a storefront event, a one-tap link), so the read-out's sums are bounded.

For NPS each answer is also a promoter (9–10), a passive (7–8) or a detractor (0–6); the NPS is
%promoters − %detractors, i.e. 100 × the mean of +1 / 0 / −1 per answer, so its variance — and a
confidence interval — follows from the counts of promoters and detractors alone.
"""

from typing import Any, Literal

Scale = Literal["nps", "csat"]
SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5)}
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


class ScoreRefused(ValueError):
    """An answer that is not a score on the question's scale; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checked_score(scale: str, raw: Any) -> int:
    """`raw` as a score on `scale`, or `ScoreRefused`. Types count: `true` and `"7"` are no score."""
    low, high = SCALES[scale]
    if raw is None:
        raise ScoreRefused("satisfaction_needs_data.score")
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise ScoreRefused(f"score_must_be_{low}_to_{high}")
    return raw


def nps_vote(score: int) -> int:
    """+1 for a promoter, −1 for a detractor, 0 for a passive."""
    return 1 if score >= PROMOTER_MIN else -1 if score <= DETRACTOR_MAX else 0

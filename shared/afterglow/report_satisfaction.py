"""The satisfaction part of the day's report: each arm's answers in a cell beside its revenue, and
a table per arm × scale. Pure; the page itself is `afterglow.report_html`."""

from collections.abc import Sequence
from typing import Any

from afterglow.experiments import ArmReadout, SatisfactionReadout


def _number(value: float | None, places: int = 2, *, signed: bool = False) -> str:
    return "–" if value is None else f"{value:{'+' if signed else ''}.{places}f}"


def _interval(low: float | None, high: float | None, places: int, *, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    return f" [{_number(low, places, signed=signed)}, {_number(high, places, signed=signed)}]"


def satisfaction_cell(answers: SatisfactionReadout) -> str:
    """One scale's answers in a few words: `NPS +32.0 [+10.1, +53.9], mean 8.10 [7.62, 8.58],
    n=40`, and `▼ below holdout` when flagged."""
    parts = []
    if answers.nps is not None:
        interval = _interval(answers.nps_ci_low, answers.nps_ci_high, 1, signed=True)
        parts.append(f"NPS {_number(answers.nps, 1, signed=True)}{interval}")
    scale = "mean" if answers.scale == "nps" else "CSAT mean"
    parts.append(
        f"{scale} {_number(answers.mean_score)}{_interval(answers.mean_ci_low, answers.mean_ci_high, 2)}"
    )
    parts.append(f"n={answers.responses}")
    text = ", ".join(parts)
    return text + (" ▼ below holdout" if answers.below_holdout else "")


def satisfaction_rows(readouts: Sequence[ArmReadout]) -> list[list[Any]]:
    """The satisfaction table's rows: one per arm × scale answered."""
    if not readouts:
        return []
    return [
        [
            r.arm,
            "NPS (0–10)" if s.scale == "nps" else "CSAT (1–5)",
            s.responses,
            _number(s.mean_score) + _interval(s.mean_ci_low, s.mean_ci_high, 2),
            "–"
            if s.nps is None
            else _number(s.nps, 1, signed=True) + _interval(s.nps_ci_low, s.nps_ci_high, 1, signed=True),
            "–"
            if s.vs_holdout is None
            else _number(s.vs_holdout.difference, 2, signed=True)
            + _interval(s.vs_holdout.ci_low, s.vs_holdout.ci_high, 2, signed=True),
            "below holdout" if s.below_holdout else "",
            "yes" if s.small_sample else "",
        ]
        for r in readouts
        if r.currency == readouts[0].currency  # the same answers on each currency's row: once
        for s in r.satisfaction
    ]


SATISFACTION_HEADER = ["arm", "scale", "answers", "mean score (95% CI)", "NPS (95% CI)"]
SATISFACTION_HEADER += ["mean score vs holdout (95% CI)", "flag", "small sample"]

"""The day's report for people: one self-contained HTML page with inline SVG charts. Pure.

No scripts, fonts, images or stylesheets are fetched (a Content-Security-Policy meta tag forbids
it); every piece of text is HTML-escaped; numbers are formatted deterministically, so the same
inputs always render the same bytes.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from afterglow.experiments import ArmReadout, OfferRefunds, OfferRevenue

PALETTE = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5"]
_ZERO_DECIMALS = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "XAF", "XOF", "XPF"]
)
CSP = "default-src 'none'; style-src 'unsafe-inline'"
_THREE_DECIMALS = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def money(minor: float, currency: str) -> str:
    """Minor units as a plain amount with its currency code (e.g. `12.50 EUR`)."""
    places = 0 if currency in _ZERO_DECIMALS else 3 if currency in _THREE_DECIMALS else 2
    return f"{minor / 10**places:,.{places}f} {currency}" if currency != "-" else f"{minor:,.2f}"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


@dataclass
class DayReport:
    """Everything the page shows for one day."""

    day: str
    totals: Mapping[str, Any]
    readouts: Sequence[ArmReadout]
    take_rate_history: Mapping[str, Mapping[str, Sequence[float | None]]]  # retailer -> arm -> per day
    history_days: Sequence[str]
    top_offers: Sequence[OfferRevenue]
    refunds: Sequence[OfferRefunds]
    rejections_by_reason: Mapping[str, int]
    followups: Mapping[str, int] = field(default_factory=dict)  # retailer -> rows


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]], *, width: int = 560) -> str:
    """Horizontal bars: (label, value, shown value). Negative values draw no bar but keep their label."""
    row, label_width, top = 26, 190, 28
    height = top + row * max(1, len(bars)) + 8
    peak = max([value for _, value, _ in bars if value > 0], default=1.0) or 1.0
    span = width - label_width - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_e(title)}</title>',
        f'<text x="0" y="16" class="chart-title">{_e(title)}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{top + 16}" class="muted">no data</text>')
    for i, (label, value, shown) in enumerate(bars):
        y = top + i * row
        length = max(0.0, value) / peak * span
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">{_e(label[:28])}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + 16}">{_e(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, days: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    """Rates (0..1) over days, one polyline per series; gaps where a day has no value."""
    width, height, left, right, top, bottom = 560, 230, 46, 130, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for points in series.values() for v in points if v is not None]
    peak = max(values, default=0.0)
    ceiling = max(0.05, min(1.0, (int(peak * 20) + 1) / 20))  # next 5% step above the peak

    def x(i: int) -> float:
        return left + (plot_w * i / (len(days) - 1) if len(days) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ceiling)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_e(title)}</title>',
        f'<text x="0" y="16" class="chart-title">{_e(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{percent(ceiling)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h + 4}" text-anchor="end">0%</text>',
    ]
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else []:
        parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle">{_e(days[i][5:])}</text>')
    for n, (name, points) in enumerate(sorted(series.items())):
        colour = PALETTE[n % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for i, value in enumerate(points):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            segment.append(f"{x(i):.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}"/>')
        for run in segments:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>'
                )
        legend_y = top + 14 * n + 8
        parts.append(
            f'<rect x="{width - right + 12}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(f'<text x="{width - right + 26}" y="{legend_y + 1}">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(header)}" class="muted">none</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _lift(readout: ArmReadout) -> str:
    lift = readout.lift
    if lift is None:
        return "–"

    def signed(minor: float) -> str:
        return ("+" if minor >= 0 else "") + money(minor, readout.currency)

    return f"{signed(lift.difference)} [{signed(lift.ci_low)}, {signed(lift.ci_high)}]"


def _retailer_section(report: DayReport, retailer: str) -> str:
    readouts = [r for r in report.readouts if r.retailer_id == retailer]
    rows = [
        [
            *(r.arm, r.currency, r.transactions, money(r.revenue_per_transaction or 0, r.currency)),
            *(percent(r.take_rate), percent(r.engagement_rate), percent(r.conversion_rate), _lift(r)),
            "yes" if r.small_sample else "",
        ]
        for r in readouts
    ]
    header = ["arm", "currency", "transactions", "revenue / transaction", "take rate", "engagement"]
    header += ["conversion", "lift vs holdout (95% CI)", "small sample"]
    bars = [
        (f"{r.arm} ({r.currency})", rpt, money(rpt, r.currency))
        for r in readouts
        for rpt in [r.revenue_per_transaction or 0.0]
    ]
    offers = [o for o in report.top_offers if o.retailer_id == retailer]
    offer_bars = [(o.offer_id, float(o.revenue_minor), money(o.revenue_minor, o.currency)) for o in offers]
    history = report.take_rate_history.get(retailer, {})
    followups = report.followups.get(retailer)
    return (
        f"<section><h2>Retailer {_e(retailer)}</h2>"
        + _table(header, rows)
        + '<div class="charts">'
        + bar_chart("Revenue per transaction by arm", bars)
        + line_chart(
            f"Take rate, {len(report.history_days)} days to {report.day}", report.history_days, history
        )
        + bar_chart("Top offers by revenue", offer_bars)
        + "</div>"
        + (f"<p>Follow-ups for e-mail: {_e(followups)}</p>" if followups is not None else "")
        + "</section>"
    )


_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1e23}"
    "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #d0d4da;padding:4px 8px;"
    "text-align:right}th{background:#f3f5f7}td:first-child,th:first-child{text-align:left}"
    "svg{margin:8px 16px 8px 0;font-size:12px}svg text{fill:#1b1e23}.chart-title{font-weight:600}"
    ".axis{stroke:#8a9099}.muted{fill:#8a9099;color:#8a9099}.charts{display:flex;flex-wrap:wrap}"
    "section{border-top:1px solid #d0d4da;margin-top:16px}"
)


def render(report: DayReport) -> bytes:
    """The whole page as UTF-8 bytes."""
    totals = report.totals
    money_columns = ["gross_minor", "reversed_minor", "net_minor", "own_brand_revenue_minor"]
    currencies = sorted({c for name in money_columns for c in totals[f"{name}_by_currency"]})
    money_rows = [
        [
            currency,
            *(money(totals[f"{name}_by_currency"].get(currency, 0), currency) for name in money_columns),
        ]
        for currency in currencies
    ]
    counts = ["decisions", "impressions", "engagements", "clicks", "conversions", "reversals", "accepts"]
    retailers = sorted({r.retailer_id for r in report.readouts})
    flagged = [o for o in report.refunds if o.flagged]
    page = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>Afterglow reconciliation {_e(report.day)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Afterglow reconciliation — {_e(report.day)}</h1>",
        _table(counts, [[totals.get(name, 0) for name in counts]]),
        _table(["currency", "gross payouts", "reversed", "net payouts", "own-brand revenue"], money_rows),
        "<h2>Rejected conversions</h2>",
        _table(["reason", "count"], sorted(report.rejections_by_reason.items())),
        "<h2>Offers with refunded revenue</h2>",
        _table(
            ["retailer", "offer", "conversions", "reversals", "refunded share"],
            [
                [o.retailer_id, o.offer_id, o.conversions, o.reversals, percent(o.refunded_share)]
                for o in flagged
            ],
        ),
        *(_retailer_section(report, retailer) for retailer in retailers),
        "</body></html>\n",
    ]
    return "".join(page).encode()

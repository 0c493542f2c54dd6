"""The day's report for people: one self-contained HTML page with inline SVG charts. Pure.

`render` is the operator's page (every retailer); `render_retailer` is one retailer's page, built
from that retailer's figures only — no other retailer's name, offer or totals appear on it.
Retailers, partners and offers are named as the catalog names them, beside their ids; chart
labels wrap instead of being cut (the full text is also each bar's tooltip); partner payouts and
own-brand revenue are shown side by side, never summed into one bar.

No scripts, fonts, images or stylesheets are fetched (a Content-Security-Policy meta tag forbids
it); every piece of text is HTML-escaped; numbers are formatted deterministically, so the same
inputs always render the same bytes.

(One module of ~510 lines on purpose: the page's tables and charts share its escaping, money and
label formatting; the satisfaction cells, which need none of it, are in `report_satisfaction`.)
"""

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from afterglow.experiments import ArmReadout, ArmRevenue, Lift
from afterglow.models import PartnerBudget
from afterglow.money import minor_places
from afterglow.offer_figures import OfferRefunds, OfferReturns, OfferRevenue, TierFigures
from afterglow.pacing import QUARTERS, SLACK, PartnerPacing
from afterglow.report_satisfaction import SATISFACTION_HEADER, satisfaction_cell, satisfaction_rows

PALETTE = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5"]
CSP = "default-src 'none'; style-src 'unsafe-inline'"


def money(minor: float, currency: str) -> str:
    """Minor units as a plain amount with its currency code (e.g. `12.50 EUR`)."""
    places = minor_places(currency)
    return f"{minor / 10**places:,.{places}f} {currency}" if currency != "-" else f"{minor:,.2f}"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


@dataclass(frozen=True)
class ReportNames:
    """What the catalog calls retailers, partners and offers (offer: its title), shown beside ids.
    An id the catalog no longer knows is shown alone."""

    retailers: Mapping[str, str] = field(default_factory=dict)
    partners: Mapping[str, str] = field(default_factory=dict)
    offers: Mapping[str, str] = field(default_factory=dict)
    budgets: Mapping[str, PartnerBudget] = field(default_factory=dict)  # partner -> its budget, for pacing
    return_flag_rates: Mapping[str, float] = field(default_factory=dict)  # retailer -> its setting
    tiers: Mapping[str, str] = field(default_factory=dict)  # offer -> its slate tier, if it has one

    def retailer(self, retailer_id: str) -> str:
        return _named(self.retailers.get(retailer_id), retailer_id)

    def partner(self, partner_id: str) -> str:
        return _named(self.partners.get(partner_id), partner_id)

    def offer(self, offer_id: str, partner_id: str | None = None) -> str:
        """`Title — Partner (off_…)`: what was offered and by whom."""
        title = self.offers.get(offer_id)
        by = self.partners.get(partner_id or "")
        return _named(f"{title} — {by}" if title and by else title, offer_id)


def _named(name: str | None, identifier: str) -> str:
    return f"{name} ({identifier})" if name and name != identifier else identifier


@dataclass
class DayReport:
    """Everything the page shows for one day."""

    day: str
    totals: Mapping[str, Any]
    readouts: Sequence[ArmReadout]
    take_rate_history: Mapping[str, Mapping[str, Sequence[float | None]]]  # retailer -> arm -> per day
    history_days: Sequence[str]
    top_offers: Sequence[OfferRevenue]  # per retailer: partner offers and own-brand offers
    refunds: Sequence[OfferRefunds]
    rejections_by_reason: Mapping[str, int]
    add_on_returns: Sequence[OfferReturns] = ()  # per own-brand offer with accepts or returns
    by_tier: Sequence[TierFigures] = ()  # per retailer with tiered offers: its figures per tier
    followups: Mapping[str, int] = field(default_factory=dict)  # retailer -> rows
    names: ReportNames = field(default_factory=ReportNames)
    revenue: Sequence[ArmRevenue] = ()  # per retailer × arm × currency: partner and own-brand
    retailer_totals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # retailer -> totals
    pacing: Sequence[PartnerPacing] = ()  # partners with a daily budget (operators' page only)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


LABEL_CHARS = 34  # a label's line length in the charts' label column (it wraps, never cut)
LINE_HEIGHT = 14


def wrap_label(label: str, width: int = LABEL_CHARS) -> list[str]:
    """A label as lines of at most `width` characters, every character kept (long words split)."""
    return textwrap.wrap(label, width, break_long_words=True, break_on_hyphens=False) or [""]


def _label(x: float, y: float, lines: Sequence[str], anchor: str = "end") -> str:
    spans = "".join(
        f'<tspan x="{x}" dy="{0 if n == 0 else LINE_HEIGHT}">{_e(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}">{spans}</text>'


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]], *, width: int = 600) -> str:
    """Horizontal bars: (label, value, shown value). Labels wrap onto as many lines as they need
    (each bar's tooltip is the label whole); negative values draw no bar but keep their label."""
    return grouped_bar_chart(title, [(label, [(value, shown)]) for label, value, shown in bars], width=width)


def grouped_bar_chart(
    title: str,
    groups: Sequence[tuple[str, Sequence[tuple[float, str]]]],
    *,
    series: Sequence[str] = (),
    width: int = 600,
) -> str:
    """Horizontal bars in groups: (label, [(value, shown value) per series]), the series side by
    side in each group, one colour per series (named in a legend when `series` is given)."""
    label_width, bar, top = 240, 16, 28 + (LINE_HEIGHT + 4 if series else 0)
    values = [value for _, bars in groups for value, _ in bars]
    peak = max([value for value in values if value > 0], default=1.0) or 1.0
    span = width - label_width - 110
    rows = []
    y = top
    for label, bars in groups:
        lines = wrap_label(label)
        height = max(len(bars) * (bar + 2) + 6, len(lines) * LINE_HEIGHT + 8)
        rows.append((label, lines, bars, y))
        y += height
    height = max(y, top + 26) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{_e(title)}</title>',
        f'<text x="0" y="16" class="chart-title">{_e(title)}</text>',
    ]
    for n, name in enumerate(series):
        x = label_width + n * 150
        parts.append(
            f'<rect x="{x}" y="{top - 14}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{x + 14}" y="{top - 5}">{_e(name)}</text>')
    if not groups:
        parts.append(f'<text x="0" y="{top + 16}" class="muted">no data</text>')
    for i, (label, lines, bars, y) in enumerate(rows):
        parts.append(f"<g><title>{_e(label)}</title>")
        parts.append(_label(label_width - 8, y + 13, lines))
        for n, (value, shown) in enumerate(bars):
            colour = PALETTE[(n if series else i) % len(PALETTE)]
            top_y = y + 2 + n * (bar + 2)
            length = max(0.0, value) / peak * span
            parts.append(
                f'<rect x="{label_width}" y="{top_y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>'
            )
            parts.append(f'<text x="{label_width + length + 6:.1f}" y="{top_y + 12}">{_e(shown)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, days: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    """Rates (0..1) over days, one polyline per series; gaps where a day has no value. Each series'
    latest value is written beside its point (in its legend too), so that a chart with one day of
    data still reads."""
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
    with_data = [i for i in range(len(days)) if any(i < len(p) and p[i] is not None for p in series.values())]
    if len(with_data) == 1:
        only = days[with_data[0]]
        parts.append(
            f'<text x="{left + 6}" y="{top + plot_h - 8}" class="muted">one day of data so far '
            f"({_e(only)}); the trend fills in day by day</text>"
        )
    elif not with_data:
        parts.append(f'<text x="{left + 6}" y="{top + plot_h - 8}" class="muted">no data</text>')
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
        latest = next(((i, v) for i, v in reversed(list(enumerate(points))) if v is not None), None)
        if latest is not None:
            i, value = latest
            # left of its point (the latest is the rightmost), clear of the legend
            parts.append(
                f'<text x="{x(i) - 6:.1f}" y="{y(value) - 6:.1f}" text-anchor="end">{percent(value)}</text>'
            )
        legend_y = top + 14 * n + 8
        parts.append(
            f'<rect x="{width - right + 12}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>'
        )
        shown = f"{name} {percent(latest[1])}" if latest is not None else str(name)
        parts.append(f'<text x="{width - right + 26}" y="{legend_y + 1}">{_e(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(header)}" class="muted">none</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _lift(readout: ArmReadout, lift: Lift | None) -> str:
    if lift is None:
        return "–"

    def signed(minor: float) -> str:
        return ("+" if minor >= 0 else "") + money(minor, readout.currency)

    return f"{signed(lift.difference)} [{signed(lift.ci_low)}, {signed(lift.ci_high)}]"


def _retailer_section(report: DayReport, retailer: str) -> str:
    names = report.names
    readouts = [r for r in report.readouts if r.retailer_id == retailer]
    rows = [
        [
            *(r.arm, r.currency, r.transactions, money(r.revenue_per_transaction or 0, r.currency)),
            r.sessions,
            "–" if r.revenue_per_session is None else money(r.revenue_per_session, r.currency),
            "; ".join(satisfaction_cell(s) for s in r.satisfaction) or "–",
            *(percent(r.take_rate), percent(r.engagement_rate), percent(r.conversion_rate), _lift(r, r.lift)),
            _lift(r, r.order_value_lift),
            "yes" if r.small_sample else "",
        ]
        for r in readouts
    ]
    header = ["arm", "currency", "transactions", "revenue / transaction", "sessions", "revenue / session"]
    header += ["satisfaction (95% CI)", "take rate", "engagement"]
    header += ["conversion", "lift vs holdout (95% CI)", "order-value lift (95% CI)", "small sample"]
    satisfaction = satisfaction_rows(readouts)
    revenue = [
        (
            f"{r.arm} ({r.currency})",
            [
                (r.per_transaction(r.partner_minor), money(r.per_transaction(r.partner_minor), r.currency)),
                (
                    r.per_transaction(r.own_brand_minor),
                    money(r.per_transaction(r.own_brand_minor), r.currency),
                ),
            ],
        )
        for r in report.revenue
        if r.retailer_id == retailer
    ]
    offers = [o for o in report.top_offers if o.retailer_id == retailer]

    def offer_bars(own_brand: bool) -> list[tuple[str, float, str]]:
        return [
            (
                names.offer(o.offer_id, o.partner_id),
                float(o.revenue_minor),
                money(o.revenue_minor, o.currency),
            )
            for o in offers
            if (o.partner_id == retailer) == own_brand
        ]

    history = report.take_rate_history.get(retailer, {})
    followups = report.followups.get(retailer)
    return (
        f"<section><h2>Retailer {_e(names.retailer(retailer))}</h2>"
        + _table(header, rows)
        + (
            "<h3>Satisfaction by arm (the holdout saw no offers: its answers are the baseline)</h3>"
            + _table(SATISFACTION_HEADER, satisfaction)
            if satisfaction
            else ""
        )
        + '<div class="charts">'
        + grouped_bar_chart(
            "Revenue per transaction by arm: partner payouts and own-brand revenue",
            revenue,
            series=["partner payouts (net)", "own-brand add-to-order (net of returns)"],
        )
        + line_chart(
            f"Take rate, {len(report.history_days)} days to {report.day}", report.history_days, history
        )
        + bar_chart("Top partner offers by net payouts", offer_bars(own_brand=False))
        + bar_chart("Top own-brand offers by add-to-order revenue net of returns", offer_bars(own_brand=True))
        + "</div>"
        + _tier_section(report, retailer)
        + _returns_section(report, retailer)
        + (f"<p>Follow-ups for e-mail: {_e(followups)}</p>" if followups is not None else "")
        + "</section>"
    )


def _tier_section(report: DayReport, retailer: str) -> str:
    """The retailer's offers by slate tier: how a tiered slate's places do."""
    rows = [
        [
            t.tier.replace("_", "-"),
            *(t.impressions, t.clicks, t.conversions, percent(t.conversion_rate)),
            ", ".join(money(amount, currency) for currency, amount in t.revenue_minor_by_currency.items())
            or "–",
        ]
        for t in report.by_tier
        if t.retailer_id == retailer
    ]
    if not rows:
        return ""
    header = ["tier", "impressions", "clicks", "conversions", "per impression", "revenue (net)"]
    return "<h3>Offers by slate tier</h3>" + _table(header, rows)


_RETURNS_HEADER = ["offer", "accepts", "units", "added", "returns", "units back", "returned"]
_RETURNS_HEADER += ["return rate (by amount)", "returns per accept", "net", "flagged"]


def _returns_section(report: DayReport, retailer: str) -> str:
    """Own-brand add-ons' returns: what came back of what was added, flagged over the retailer's
    return flag rate (returns are booked on the day recorded, possibly of earlier accepts)."""
    rows = [
        [
            report.names.offer(r.offer_id),
            *(r.accepts, r.accepted_units, money(r.added_minor, r.currency), r.returns, r.returned_units),
            money(r.returned_minor, r.currency),
            *(percent(r.return_rate), percent(r.returns_per_accept), money(r.net_minor, r.currency)),
            f"⚑ over {percent(r.flag_rate)}" if r.flagged else "",
        ]
        for r in report.add_on_returns
        if r.retailer_id == retailer
    ]
    if not rows:
        return ""
    return (
        "<h3>Returns of own-brand add-ons</h3>"
        '<p class="muted">Returned money as a share of the money added, both as recorded this day; '
        "an add-on whose returns exceed the retailer's return flag rate is flagged ⚑: its add-to-order "
        "revenue is partly revenue on paper.</p>" + _table(_RETURNS_HEADER, rows)
    )


def _money_rows(totals: Mapping[str, Any]) -> list[list[str]]:
    currencies = sorted({c for name in _MONEY_COLUMNS for c in totals.get(f"{name}_by_currency", {})})

    def amount(name: str, currency: str) -> int:
        return int(totals.get(f"{name}_by_currency", {}).get(currency, 0))

    return [
        [
            currency,
            *(money(amount(name, currency), currency) for name in _MONEY_COLUMNS),
            money(
                amount("own_brand_revenue_minor", currency) - amount("own_brand_returned_minor", currency),
                currency,
            ),
        ]
        for currency in currencies
    ]


def _refund_rows(report: DayReport, retailer: str | None) -> list[list[Any]]:
    return [
        [
            report.names.retailer(o.retailer_id),
            report.names.offer(o.offer_id, o.partner_id),
            *(o.conversions, o.reversals, percent(o.refunded_share)),
        ]
        for o in report.refunds
        if o.flagged and retailer in (None, o.retailer_id)
    ]


_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1e23}"
    "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #d0d4da;padding:4px 8px;"
    "text-align:right}th{background:#f3f5f7}td:first-child,th:first-child{text-align:left}"
    "svg{margin:8px 16px 8px 0;font-size:12px}svg text{fill:#1b1e23}.chart-title{font-weight:600}"
    ".axis{stroke:#8a9099}.muted{fill:#8a9099;color:#8a9099}.charts{display:flex;flex-wrap:wrap}"
    "section{border-top:1px solid #d0d4da;margin-top:16px}"
)


_MONEY_COLUMNS = [
    "gross_minor",
    "reversed_minor",
    "net_minor",
    "own_brand_revenue_minor",
    "own_brand_returned_minor",
]
_MONEY_HEADER = [
    "currency",
    "partner payouts (gross)",
    "reversed",
    "partner payouts (net)",
    "own-brand revenue (added)",
    "own-brand returned",
    "own-brand revenue (net)",
]
_COUNTS = ["decisions", "impressions", "engagements", "clicks", "conversions", "reversals", "accepts"]
_COUNTS += ["returns"]
_REFUND_HEADER = ["retailer", "offer", "conversions", "reversals", "refunded share"]


def _page(title: str, body: Iterable[str]) -> bytes:
    head = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    return "".join([*head, *body, "</body></html>\n"]).encode()


def render(report: DayReport) -> bytes:
    """The operator's page (every retailer) as UTF-8 bytes."""
    totals = report.totals
    retailers = sorted({r.retailer_id for r in report.readouts})
    return _page(
        f"Afterglow reconciliation — {report.day}",
        [
            _table(_COUNTS, [[totals.get(name, 0) for name in _COUNTS]]),
            _table(_MONEY_HEADER, _money_rows(totals)),
            "<h2>Rejected conversions</h2>",
            _table(["reason", "count"], sorted(report.rejections_by_reason.items())),
            "<h2>Offers with refunded revenue</h2>",
            _table(_REFUND_HEADER, _refund_rows(report, None)),
            "<h2>Pacing of daily budgets</h2>",
            f'<p class="muted">Net payouts recorded by each hour (UTC), as a share of the daily budget; '
            f"an evenly paced partner more than {SLACK:.0%} ahead of the clock sits out some decisions.</p>",
            _table(_PACING_HEADER, _pacing_rows(report)),
            *(_retailer_section(report, retailer) for retailer in retailers),
        ],
    )


_PACING_HEADER = [
    "partner",
    "pacing",
    "daily budget",
    "spent",
    *(f"by {hour:02d}:00" for hour in QUARTERS),
    "ahead of pace",
]


def _pacing_rows(report: DayReport) -> list[list[str]]:
    return [
        [
            report.names.partner(p.partner_id),
            p.pacing,
            money(p.daily_budget_minor, p.currency),
            f"{money(p.spent_minor, p.currency)} ({percent(p.share_of_budget)})",
            *(percent(p.spent_by_hour[hour] / p.daily_budget_minor) for hour in QUARTERS),
            "yes" if p.ahead_of_pace else "",
        ]
        for p in report.pacing
    ]


def render_retailer(report: DayReport, retailer: str) -> bytes:
    """One retailer's page as UTF-8 bytes: its own totals, offers, arms and trend, nothing of any
    other retailer's (and not the platform's rejected conversions: those are partners' matters)."""
    totals = report.retailer_totals.get(retailer, {})
    return _page(
        f"Afterglow — {report.names.retailer(retailer)} — {report.day}",
        [
            _table(_COUNTS, [[totals.get(name, 0) for name in _COUNTS]]),
            _table(_MONEY_HEADER, _money_rows(totals)),
            "<h2>Offers with refunded revenue</h2>",
            _table(_REFUND_HEADER, _refund_rows(report, retailer)),
            _retailer_section(report, retailer),
        ],
    )

"""Follow-ups (declined offers, opt-outs) and the self-contained HTML report."""

import re
from html.parser import HTMLParser

from afterglow.experiments import metrics, readout, revenue_by_source
from afterglow.followups import declined, followups_csv, parse_optouts, without_optouts
from afterglow.offer_figures import offer_refunds, tier_figures, top_offers, top_offers_by_source
from afterglow.reconciliation import Aggregate, aggregate_day, read_csv, totals
from afterglow.report_html import (
    DayReport,
    ReportNames,
    bar_chart,
    grouped_bar_chart,
    line_chart,
    render,
    render_retailer,
    wrap_label,
)


def _records():
    def decision(decision_id, customer):
        return {
            "kind": "decision",
            "retailer_id": "ret",
            "arm": "mixed",
            "currency": "EUR",
            "decision_id": decision_id,
            "customer_hash": customer,
            "order_id": f"order-{decision_id}",
            "offer_ids": ["off_1", "off_2"],
            "order_value_minor": 5000,
            "at": "2026-03-01T10:00:00+00:00",
        }

    def event(kind, decision_id, offer_id="off_1"):
        return {
            "kind": kind,
            "retailer_id": "ret",
            "partner_id": "par",
            "offer_id": offer_id,
            "arm": "mixed",
        } | {"decision_id": decision_id}

    return [
        event("impression", "seen"),  # events may come before their decision (another shard)
        decision("seen", "aa"),
        event("dismiss", "seen", "off_2"),
        decision("clicked", "bb"),
        event("impression", "clicked"),
        event("click", "clicked"),
        decision("unseen", "cc"),
        decision("opted-out", "dd"),
        event("impression", "opted-out"),
        decision("anonymous", ""),
        event("impression", "anonymous"),
    ]


def test_only_seen_and_declined_offers_of_known_customers_are_followed_up():
    rows = declined(aggregate_day(_records()).trails)["ret"]
    assert [(r.decision_id, r.offer_ids) for r in rows] == [
        ("opted-out", ("off_1",)),
        ("seen", ("off_1", "off_2")),
    ]
    seen = rows[1]
    assert (seen.send_after, seen.send_before) == ("2026-03-02T10:00:00+00:00", "2026-03-03T10:00:00+00:00")


def test_opted_out_customers_are_left_out():
    optouts = parse_optouts(b"# unsubscribed\nDD\n\n")
    rows = without_optouts(declined(aggregate_day(_records()).trails)["ret"], optouts)
    body = read_csv(followups_csv(rows))
    assert [(row["customer_hash"], row["order_id"], row["offer_ids"]) for row in body] == [
        ("aa", "order-seen", "off_1 off_2")
    ]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs


def _report(retailer="ret"):
    records = [{**r, "retailer_id": retailer} for r in _records()]
    day = aggregate_day(records)
    found = metrics(day)
    return DayReport(
        day="2026-03-01",
        totals=totals(day.cells),
        readouts=readout(found),
        take_rate_history={retailer: {"mixed": [None, 0.1, 0.25]}},
        history_days=["2026-02-27", "2026-02-28", "2026-03-01"],
        top_offers=top_offers(day.cells.items()),
        refunds=offer_refunds(day.cells.items()),
        rejections_by_reason={"unknown_click": 2},
        followups={retailer: 2},
    )


def test_the_report_is_one_self_contained_page_with_charts():
    page = _Page()
    page.feed(render(_report()).decode())
    # per retailer: revenue by arm (partner | own brand), take rate, top partner and own-brand offers
    assert page.tags.count("svg") == 4 and "polyline" in page.tags and "rect" in page.tags
    assert not {"script", "link", "img", "iframe"} & set(page.tags)
    assert not [value for name, value in page.attributes if name in ("src", "href")]


def test_every_piece_of_text_is_escaped():
    html = render(_report(retailer='<script>alert("x")</script>')).decode()
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_same_inputs_render_the_same_bytes():
    assert render(_report()) == render(_report())


def test_charts_handle_empty_and_negative_data():
    assert "no data" in bar_chart("Nothing", [])
    assert 'width="0.0"' in bar_chart("Refunds", [("off", -50.0, "-0.50 EUR")])
    assert "<polyline" not in line_chart("Gaps", ["a", "b"], {"arm": [None, 0.5]})


# --- names, whole labels, partner and own-brand apart, a trend of one day, one retailer's page ---

LONG_TITLE = "Three months of freshly roasted single-origin coffee, delivered to the door every fortnight"


def _sales(retailer: str, partner: str) -> list[dict]:
    """A day of one retailer: two decisions, a partner conversion and an own-brand add-to-order."""
    base = {"retailer_id": retailer, "arm": "mixed", "currency": "EUR", "at": "2026-03-01T10:00:00+00:00"}
    return [
        {**base, "kind": "decision", "decision_id": f"{retailer}-d1", "offer_ids": ["off_coffee"]},
        {**base, "kind": "decision", "decision_id": f"{retailer}-d2", "offer_ids": ["off_kit"]},
        {**base, "kind": "impression", "decision_id": f"{retailer}-d1", "offer_id": "off_coffee",
         "partner_id": partner},
        {**base, "kind": "conversion", "decision_id": f"{retailer}-d1", "offer_id": "off_coffee",
         "partner_id": partner, "payout_minor": 1200, "conversion_id": f"{retailer}-c1", "action": "signup"},
        {**base, "kind": "accept", "decision_id": f"{retailer}-d2", "offer_id": f"off_kit_{retailer}",
         "partner_id": retailer, "own_brand_revenue_minor": 2000},
    ]  # fmt: skip


def _two_retailers() -> DayReport:
    day = aggregate_day([*_sales("ret_a", "par_beans"), *_sales("ret_b", "par_secret")])
    cells = day.cells
    found = metrics(day)
    return DayReport(
        day="2026-03-01",
        totals=totals(cells),
        readouts=readout(found),
        take_rate_history={r: {"mixed": [None, None, 0.5]} for r in ("ret_a", "ret_b")},
        history_days=["2026-02-27", "2026-02-28", "2026-03-01"],
        top_offers=top_offers_by_source(cells.items()),
        refunds=offer_refunds(cells.items()),
        rejections_by_reason={"unknown_click": 1},
        names=ReportNames(
            retailers={"ret_a": "Northwind Outfitters", "ret_b": "Globex Home"},
            partners={"par_beans": "Beanpost", "par_secret": "Quiet Partner"},
            offers={
                "off_coffee": LONG_TITLE,
                "off_kit_ret_a": "Descaling kit",
                "off_kit_ret_b": "Secret kit",
            },
        ),
        revenue=revenue_by_source(cells.items()),
        retailer_totals={
            r: totals({k: c for k, c in cells.items() if k[0] == r}) for r in ("ret_a", "ret_b")
        },
    )


def _svg_texts(html: str) -> list[str]:
    """Every text of the page's charts as a reader sees it: a label's wrapped lines joined."""
    return [
        " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text)) or re.sub(r"<[^>]+>", "", text)
        for text in re.findall(r"<text[^>]*>.*?</text>", html)
    ]


def test_retailers_partners_and_offers_are_named_beside_their_ids():
    html = render(_two_retailers()).decode()
    assert "Retailer Northwind Outfitters (ret_a)" in html
    assert "Descaling kit (off_kit_ret_a)" in html  # own brand: the retailer is the partner
    assert f"{LONG_TITLE} — Beanpost (off_coffee)" in " ".join(_svg_texts(html))


def test_a_long_label_is_shown_whole_on_several_lines_with_a_tooltip():
    label = f"{LONG_TITLE} — Beanpost (off_coffee)"
    chart = bar_chart("Top offers", [(label, 1200.0, "12.00 EUR")])
    assert len(wrap_label(label)) > 1
    assert label in _svg_texts(chart)  # every word, in order: nothing cut
    assert f"<title>{label}</title>" in chart
    assert "".join(wrap_label("x" * 80)) == "x" * 80  # even one long word is only split


def test_partner_and_own_brand_revenue_are_two_series_side_by_side():
    report = _two_retailers()
    (mixed,) = [r for r in report.revenue if r.retailer_id == "ret_a"]
    assert (mixed.transactions, mixed.partner_minor, mixed.own_brand_minor) == (2, 1200, 2000)
    chart = grouped_bar_chart(
        "Revenue", [("mixed (EUR)", [(600.0, "6.00 EUR"), (999.5, "9.99 EUR")])], series=["partner", "own"]
    )
    bars = re.findall(r'<rect x="240" y="[\d.]+" width="([\d.]+)" height="16" fill="(#\w+)"/>', chart)
    assert len(bars) == 2 and bars[0][1] != bars[1][1]  # two bars, two colours, one group
    assert "partner" in _svg_texts(chart) and "own" in _svg_texts(chart)  # the legend
    html = render(report).decode()
    section = html.split("Retailer Northwind Outfitters (ret_a)")[1]
    assert "6.00 EUR" in section and "10.00 EUR" in section  # 1,200 and 2,000 over 2 transactions
    assert "Top partner offers by net payouts" in section
    assert "Top own-brand offers by add-to-order revenue" in section


def test_a_trend_with_one_day_of_data_shows_its_value():
    chart = line_chart("Take rate", ["2026-02-28", "2026-03-01"], {"mixed": [None, 0.25]})
    texts = _svg_texts(chart)
    assert "25.0%" in texts and "mixed 25.0%" in texts
    assert any(text.startswith("one day of data so far (2026-03-01)") for text in texts)
    assert chart.count("<circle") == 1


def test_a_retailers_page_has_its_own_figures_and_nothing_of_another_retailer():
    report = _two_retailers()
    page = render_retailer(report, "ret_a").decode()
    assert "Northwind Outfitters (ret_a)" in page and "Beanpost" in page
    for other in ("ret_b", "Globex Home", "par_secret", "Quiet Partner", "Secret kit", "unknown_click"):
        assert other not in page, other
    assert "12.00 EUR" in page and "20.00 EUR" in page  # its own partner and own-brand money
    assert render_retailer(report, "ret_a") == render_retailer(report, "ret_a")


def test_offers_are_read_out_by_slate_tier_for_a_retailer_with_tiered_offers():
    # Given a day's cells: a bundle seen twice and converted once, an accessory add-on added and
    # half returned, an untiered offer seen once; and another retailer without tiered offers
    cell = Aggregate
    cells = [
        (("ret_a", "par_1", "off_kit", "mixed", "-"), cell(impressions=2, clicks=1)),
        (("ret_a", "par_1", "off_kit", "mixed", "EUR"), cell(conversions=1, net_minor=900)),
        (("ret_a", "ret_a", "off_mug", "mixed", "EUR"), cell(impressions=1, accepts=1)),
        (
            ("ret_a", "ret_a", "off_mug", "mixed", "EUR"),
            cell(own_brand_revenue_minor=1000, own_brand_returned_minor=400),
        ),
        (("ret_a", "par_2", "off_plain", "mixed", "-"), cell(impressions=1)),
        (("ret_b", "par_2", "off_plain", "mixed", "-"), cell(impressions=5)),
    ]
    tiers = {"off_kit": "bundle", "off_mug": "accessory"}
    # When they are read out by tier
    rows = [(t.retailer_id, t.tier, t.impressions, t.conversions, t.revenue_minor_by_currency)
            for t in tier_figures(cells, tiers)]  # fmt: skip
    # Then the tiered retailer gets one row per tier in slate order, revenue net; the other none
    assert rows == [
        ("ret_a", "bundle", 2, 1, {"EUR": 900}),
        ("ret_a", "accessory", 1, 1, {"EUR": 600}),
        ("ret_a", "none", 1, 0, {}),
    ]

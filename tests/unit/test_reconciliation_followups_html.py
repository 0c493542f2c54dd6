"""Follow-ups (declined offers, opt-outs) and the self-contained HTML report."""

from html.parser import HTMLParser

from afterglow.experiments import metrics, offer_refunds, readout, top_offers
from afterglow.followups import declined, followups_csv, parse_optouts, without_optouts
from afterglow.reconciliation import aggregate_day, read_csv, totals
from afterglow.report_html import DayReport, bar_chart, line_chart, render


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
    assert page.tags.count("svg") == 3 and "polyline" in page.tags and "rect" in page.tags
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

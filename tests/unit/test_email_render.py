"""The e-mail renderer: e-mail-safe HTML (escaped, no script, sized images, tracked links only, the
open pixel) and its plain-text twin."""

from html.parser import HTMLParser

from afterglow.email_render import IMAGE_PX, EmailOffer, SatisfactionPrompt, render
from afterglow.money import format_amount

API = "https://offers.shop.example"
HOSTILE = "<script>alert(\"x\")</script> Tënt ☕ 'quoted' & more"


class Parsed(HTMLParser):
    """Every start tag with its attributes, and the page's visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def _offer(number: int, **overrides: object) -> EmailOffer:
    fields: dict = {
        "title": f"Offer {number}",
        "body": f"Body {number}",
        "cta": "Claim",
        "click_url": f"{API}/v1/c/tok{number}.mac",
        "image_url": f"https://img.example/{number}.png",
    }
    return EmailOffer(**(fields | overrides))


def test_retailer_strings_are_escaped_in_the_html_and_never_become_script():
    # Given an offer whose title, body and call to action carry markup, quotes and unicode
    offer = _offer(1, title=HOSTILE, body=HOSTILE, cta=HOSTILE[:40])
    # When it is rendered
    email = render([offer], heading="Picked for you", currency="EUR", pixel_url=f"{API}/v1/o/px.gif")
    parsed = Parsed(email.html)
    # Then no tag of the markup survives, and the text reads as it was written
    assert "<script" not in email.html and parsed.all("script") == []
    assert HOSTILE in "".join(parsed.text)
    assert parsed.all("img")[0]["alt"] == HOSTILE  # the quote did not end the attribute
    assert "Tënt ☕" in email.text


def test_html_is_tables_with_inline_styles_only():
    email = render([_offer(1), _offer(2)], heading="Picked for you", currency="EUR")
    parsed = Parsed(email.html)
    names = {name for name, _ in parsed.tags}
    assert names <= {"table", "tr", "td", "a", "img", "p"}  # no style, link, script, div or form
    assert all("class" not in attrs for _, attrs in parsed.tags)
    assert email.subject is None  # a block for the retailer's own e-mail


def test_every_image_has_dimensions_and_alt_text_and_the_pixel_is_one_pixel():
    offers = [_offer(1), _offer(2, image_url=None)]
    email = render(offers, heading="h", currency="EUR", pixel_url=f"{API}/v1/o/p.gif")
    images = Parsed(email.html).all("img")
    assert [(img["width"], img["height"]) for img in images] == [(str(IMAGE_PX), str(IMAGE_PX)), ("1", "1")]
    assert images[0]["alt"] == "Offer 1" and images[1]["alt"] == ""
    assert images[1]["src"] == f"{API}/v1/o/p.gif"


def test_every_link_is_the_offers_tracked_click_url():
    offers = [_offer(1), _offer(2), _offer(3, image_url=None)]
    email = render(offers, heading="h", currency="EUR")
    links = [a["href"] for a in Parsed(email.html).all("a")]
    assert links and all(link in {o.click_url for o in offers} for link in links)
    assert {o.click_url for o in offers} <= set(links)


def test_plain_text_lists_each_offer_with_its_tracked_link_on_its_own_lines():
    offer = _offer(1, title="Beans\nclick http://evil.example", price_minor=123450, discount_pct=20)
    email = render([offer], heading="Picked for you", currency="EUR", locale="de-DE")
    assert email.text.splitlines()[:6] == [
        "Picked for you",
        "",
        "Beans click http://evil.example",  # a title cannot add a line of its own
        "Body 1",
        "1.234,50 EUR · 20% off",
        f"Claim: {API}/v1/c/tok1.mac",
    ]
    assert "/v1/o/" not in email.text


def test_with_a_subject_it_is_a_whole_document_titled_by_it():
    email = render([_offer(1)], heading="Still interested?", currency="EUR", subject='Shop "A" <b>: hi')
    assert email.subject == 'Shop "A" <b>: hi'
    assert email.html.startswith("<!doctype html>")
    assert "<title>Shop &quot;A&quot; &lt;b&gt;: hi</title>" in email.html


def test_amounts_follow_the_locale_and_the_currencys_minor_unit():
    assert format_amount(123450, "EUR") == "1,234.50 EUR"
    assert format_amount(123450, "EUR", "fr_FR") == "1.234,50 EUR"
    assert format_amount(1234, "JPY", "en-GB") == "1,234 JPY"
    assert format_amount(1234, "KWD") == "1.234 KWD"


def test_a_followup_carries_the_satisfaction_question_as_one_tap_links_after_the_offers():
    # Given a follow-up with the retailer's CSAT question (one signed link per score)
    links = tuple((score, f"{API}/v1/s/tok.mac?score={score}") for score in range(1, 6))
    prompt = SatisfactionPrompt(question=HOSTILE, links=links, low_label="Not at all", high_label="Very")
    offer = _offer(1)
    # When it is rendered
    email = render([offer], heading="h", currency="EUR", subject="s", satisfaction=prompt)
    parsed = Parsed(email.html)
    # Then after the offer's links come the five scores, lowest first, each its own link
    hrefs = [a["href"] for a in parsed.all("a")]
    assert hrefs[-5:] == [url for _, url in links]
    assert set(hrefs[:-5]) == {offer.click_url}
    assert [a["aria-label"] for a in parsed.all("a")[-5:]] == ["1", "2", "3", "4", "5"]
    # And the question is escaped like any retailer string; the plain text has it too
    assert parsed.all("script") == [] and HOSTILE in "".join(parsed.text)
    assert "Not at all … Very" in "".join(parsed.text)
    assert email.text.splitlines()[-6:] == [" ".join(HOSTILE.split()), *(f"{s}: {url}" for s, url in links)]


def test_without_links_there_is_no_satisfaction_question():
    empty = SatisfactionPrompt(question="How was it?", links=())
    email = render([_offer(1)], heading="h", currency="EUR", satisfaction=empty)
    assert "How was it?" not in email.html and "How was it?" not in email.text

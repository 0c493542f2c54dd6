"""The confirmation e-mail's offers, rendered by the real local stack and opened in Chromium as a
mail client would show them: laid out, inert, every link tracked, and the open pixel counted."""

import base64
import re
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Route, expect

from tests.e2e.browser import create_on_stack, event_verdict

pytestmark = pytest.mark.e2e

INBOX = "http://mail.afterglow.test/inbox"  # never resolves: answered by a Playwright route
IMAGES = "https://images.afterglow.test"
HOSTILE = 'Beans <script>window.pwned = 1</script> "Tënt" ☕'
# A 1×1 PNG: what the image host answers for any offer image, whatever size the e-mail draws it
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


def _email_decision(local_stack: dict[str, str]) -> tuple[dict, str]:
    """A fresh shop with a hostile own-brand offer; its confirmation e-mail's decision and key."""
    api_url = local_stack["AFTERGLOW_API_URL"]
    shop = create_on_stack(
        local_stack,
        "/v1/admin/retailers",
        {
            "name": "Inbox Roasters (e2e)",
            "currency": "EUR",
            "experiment": {"holdout": 0, "mixed": 100},
            "rules": {"allowed_partners": ["par_none"]},  # its own offer only
        },
    )
    create_on_stack(
        local_stack,
        f"/v1/admin/retailers/{shop['retailer']['retailer_id']}/offers",
        {
            "category": "coffee",
            "creative": {
                "title": HOSTILE,
                "body": '<img src=x onerror="window.pwned = 2"> A second bag, ground for you',
                "image_url": f"{IMAGES}/beans.png",
                "price_minor": 1290,
                "cta": "Add to order",
            },
            "landing_url": "https://shop.example/cart/add?sku=HOUSE-BLEND",
            "payout": {"type": "percent", "bps": 10000},
        },
    )
    key = shop["publishable_key"]
    response = requests.post(
        f"{api_url}/v1/decisions",
        json={
            "order_id": "e2e-mail-1",
            "order_value_minor": 24900,
            "currency": "EUR",
            "line_items": [{"sku": "GRINDER", "category": "coffee", "price_minor": 24900}],
            "customer": {"email": "ada@example.com"},
            "locale": "de-DE",
            "placement": "confirmation_email",
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json(), key


def test_real_stack_confirmation_email_renders_inert_tracked_and_counts_its_opening(browser, local_stack):
    # Given the real stack's decision for a confirmation e-mail, with a hostile own-brand offer
    api_url = local_stack["AFTERGLOW_API_URL"]
    decision, key = _email_decision(local_stack)
    (offer,) = decision["offers"]
    email = decision["email"]
    context = browser.new_context(viewport={"width": 700, "height": 900}, java_script_enabled=True)
    try:
        # And a "mail client" showing its HTML (the images answered by a stand-in image host)
        context.route(
            INBOX, lambda route: route.fulfill(body=email["html"], content_type="text/html; charset=utf-8")
        )
        context.route(re.compile(rf"^{re.escape(IMAGES)}/"), lambda route: route.fulfill(body=PNG))
        page = context.new_page()
        pixel_loads: list[int] = []

        def passed(route: Route) -> None:  # the pixel goes to the real API; its answer is noted
            answer = route.fetch()
            pixel_loads.append(answer.status)
            route.fulfill(response=answer)

        context.route(re.compile(r"/v1/o/[^/?]+$"), passed)

        # When the e-mail is opened
        with page.expect_response(re.compile(r"/v1/o/")) as pixel:
            page.goto(INBOX)
        page.wait_for_load_state("load")

        # Then the pixel was a 1×1 GIF from the API
        assert pixel.value.status == 200 and pixel.value.headers["content-type"] == "image/gif"
        assert pixel_loads == [200]
        # And the offer is laid out: its image drawn at its declared size, the pixel at 1×1
        image = page.get_by_role("img", name=HOSTILE)
        expect(image).to_be_visible()
        assert image.bounding_box()["width"] == 120 and image.bounding_box()["height"] == 120
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        sizes = page.evaluate("[...document.images].map(i => [i.width, i.height, i.alt !== undefined])")
        assert sizes == [[120, 120, True], [1, 1, True]]
        # And nothing in it ran: the title's script and the body's onerror are text, not markup
        assert page.evaluate("window.pwned") is None
        assert page.evaluate("document.scripts.length") == 0
        expect(page.get_by_text("A second bag, ground for you")).to_be_visible()
        expect(page.get_by_text(HOSTILE)).to_be_visible()  # the title, shown as written
        expect(page.get_by_text("12,90 EUR")).to_be_visible()  # the shop's locale
        # And every link is the offer's tracked click URL
        hrefs = page.evaluate("[...document.links].map(a => a.href)")
        assert hrefs and all(urlsplit(h).path == f"/v1/c/{offer['tracking_token']}" for h in hrefs)

        # And the opening landed in the ledger: the offer's impression is already recorded
        assert event_verdict(api_url, key, "impression", offer["tracking_token"]) == "duplicate"
        # When the e-mail is opened again, nothing more counts (still a duplicate, still the GIF)
        with page.expect_response(re.compile(r"/v1/o/")) as again:
            page.reload()
        assert again.value.status == 200 and pixel_loads == [200, 200]
        assert event_verdict(api_url, key, "impression", offer["tracking_token"]) == "duplicate"
    finally:
        context.close()

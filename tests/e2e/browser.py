"""Helpers for the real-browser tests: Debian's Chromium, a scripted stand-in for the storefront
API (Playwright routes), sample decisions, and the SDK's size measurement."""

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from playwright.sync_api import BrowserContext, Page, Playwright, Route
from playwright.sync_api import Request as PlaywrightRequest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "afterglow.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FAKE_API = "http://api.afterglow.test"  # never resolves: every request to it is answered by a route
FAKE_KEY = "pk_test_demo_storefront"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def create_on_stack(local_stack: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a new entity to the local stack's admin API with the platform key; its 201 body."""
    response = requests.post(
        f"{local_stack['AFTERGLOW_API_URL']}{path}",
        json=body,
        headers={"Authorization": f"Bearer {local_stack['AFTERGLOW_ADMIN_KEY']}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def launch_chromium(playwright: Playwright) -> Any:
    """Debian's Chromium, headless (Playwright's own browser download cannot work here)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offer(
    number: int,
    title: str,
    *,
    kind: str = "partner",
    category: str = "insurance",
    expires_in: timedelta | None = timedelta(minutes=15),
    price_minor: int | None = None,
    discount_pct: int | None = None,
    tier: str | None = None,
    now: datetime = NOW,
    api: str = FAKE_API,
) -> dict[str, Any]:
    """One offer as `POST /v1/decisions` returns it."""
    token = f"tok_{number}_{'x' * 40}"
    return {
        "offer_id": f"off_{number}",
        "partner_id": f"par_{number}",
        "kind": kind,
        "category": category,
        "title": title,
        "body": f"{title}: a good match for your order.",
        "image_url": None,
        "cta": "Claim offer",
        "price_minor": price_minor,
        "discount_pct": discount_pct,
        "expires_at": iso(now + expires_in) if expires_in is not None else None,
        "tracking_token": token,
        "click_url": f"{api}/v1/c/{token}",
        "tier": tier,
    }


def decision(
    offers: list[dict[str, Any]],
    *,
    number: int = 1,
    survey: dict[str, Any] | None = None,
    now: datetime = NOW,
) -> dict[str, Any]:
    """A `POST /v1/decisions` response."""
    return {
        "decision_id": f"dec_{number}",
        "arm": "mixed",
        "offers": offers,
        "degraded": False,
        "created_at": iso(now),
        "decision_token": f"dtok_{number}_{'y' * 40}",
        "survey": survey,
    }


NPS_QUESTION = {
    "scale": "nps",
    "question": "How likely are you to recommend Northwind to a friend?",
    "low_label": "Not likely",
    "high_label": "Very likely",
}
CSAT_QUESTION = {
    "scale": "csat",
    "question": "How was your shopping today?",
    "low_label": None,
    "high_label": None,
}


GIFT_SURVEY = {
    "key": "is_gift",
    "question": "Is this a gift?",
    "options": [{"value": True, "label": "Yes"}, {"value": False, "label": "No"}],
}


@dataclass
class FakeApi:
    """The storefront API as the SDK sees it, scripted per test, recording what the SDK sent.

    `decisions` maps the request's survey answers (as sorted JSON, "{}" for none) to a response.
    `failure` makes `/v1/decisions` misbehave: http_500, http_401, bad_json, wrong_shape, blocked
    (the request is aborted, as by an ad blocker) or hang (never answered). A response without CORS
    headers cannot be faked here (Playwright lets fulfilled responses through): see the real-stack
    test for a shop origin the retailer does not allow.
    `event_statuses` are the statuses of successive `/v1/events` answers (then 200).
    """

    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure: str | None = None
    event_statuses: list[int] = field(default_factory=list)
    landing_url: str = "https://partner.example/welcome"
    decision_requests: list[dict[str, Any]] = field(default_factory=list)
    decision_headers: list[dict[str, str]] = field(default_factory=list)
    event_posts: list[dict[str, Any]] = field(default_factory=list)
    hanging: list[Route] = field(default_factory=list)

    def install(self, target: Page | BrowserContext) -> None:
        target.route(f"{FAKE_API}/**", self._handle)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Every event the SDK sent (retries included), optionally of one type. Page views (one per
        render, sent with the next batch) are listed only when asked for by type."""
        sent = [event for post in self.event_posts for event in post["body"]["events"]]
        return [
            event
            for event in sent
            if event["type"] == type_ or (type_ is None and event["type"] != "page_view")
        ]

    def _cors(self, request: PlaywrightRequest) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": request.headers.get("origin", "*"), "Vary": "Origin"}

    def _handle(self, route: Route, request: PlaywrightRequest) -> None:
        path = urlsplit(request.url).path
        if request.method == "OPTIONS":
            headers = {
                **self._cors(request),
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "authorization, content-type",
            }
            route.fulfill(status=204, headers=headers)
        elif path == "/v1/decisions":
            self._decide(route, request)
        elif path == "/v1/events":
            self.event_posts.append(
                {
                    "url": request.url,
                    "headers": request.headers,
                    "body": json.loads(request.post_data or "{}"),
                }
            )
            status = self.event_statuses.pop(0) if self.event_statuses else 200
            results = [
                {"event_id": e["event_id"], "status": "accepted"}
                for e in self.event_posts[-1]["body"]["events"]
            ]
            body = (
                {"results": results} if status == 200 else {"error": {"code": "unavailable", "message": "x"}}
            )
            route.fulfill(status=status, json=body, headers=self._cors(request))
        elif path.startswith("/v1/c/"):
            route.fulfill(status=302, headers={"Location": f"{self.landing_url}?click_id=clk_test_1"})
        else:
            route.fulfill(status=404, json={"error": {"code": "not_found", "message": path}})

    def _decide(self, route: Route, request: PlaywrightRequest) -> None:
        body = json.loads(request.post_data or "{}")
        self.decision_requests.append(body)
        self.decision_headers.append(request.headers)
        cors = self._cors(request)
        error = {"error": {"code": "server_error", "message": "boom"}}
        if self.failure == "blocked":
            route.abort("blockedbyclient")
        elif self.failure == "hang":
            self.hanging.append(route)
        elif self.failure == "http_500":
            route.fulfill(status=500, json=error, headers=cors)
        elif self.failure == "http_401":
            unauthorized = {"error": {"code": "unauthorized", "message": "unknown publishable key"}}
            route.fulfill(status=401, json=unauthorized, headers=cors)
        elif self.failure == "bad_json":
            route.fulfill(status=200, body="<html>gateway timeout</html>", headers=cors)
        elif self.failure == "wrong_shape":
            route.fulfill(status=200, json={"offers": "none", "survey": 42}, headers=cors)
        else:
            answers = json.dumps(body.get("survey", {}), sort_keys=True)
            route.fulfill(status=200, json=self.decisions[answers], headers=cors)


# --- size of the SDK ---------------------------------------------------------------------------


def _is_word(char: str) -> bool:
    return char.isalnum() or char in "_$"


def minify_js(source: str) -> str:
    """Drop comments (but the /*! banner) and needless whitespace; string- and template-aware.

    Only for measuring: the SDK is served as written. It assumes no regular-expression literals
    (the SDK has none) and explicit semicolons (the SDK never relies on ASI).
    """
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char in "'\"`":
            j = i + 1
            while j < n and source[j] != char:
                j += 2 if source[j] == "\\" else 1
            out.append(source[i : j + 1])
            i = j + 1
        elif source.startswith("/*", i):
            end = source.index("*/", i + 2) + 2
            if source.startswith("/*!", i):
                out.append(source[i:end] + "\n")
            i = end
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif char.isspace():
            while i < n and source[i].isspace():
                i += 1
            before = out[-1][-1:] if out else ""
            if _is_word(before) and i < n and _is_word(source[i]):
                out.append(" ")
        else:
            out.append(char)
            i += 1
    return "".join(out).strip()


def sdk_sizes(path: Path = SDK) -> dict[str, int]:
    """Bytes of the SDK as written, minified, and minified + gzipped (level 9)."""
    source = path.read_text()
    minified = minify_js(source)
    return {
        "source": len(source.encode()),
        "minified": len(minified.encode()),
        "gzipped": len(gzip.compress(minified.encode(), compresslevel=9, mtime=0)),
    }


def event_verdict(api_url: str, key: str, event_type: str, token: str, event_id: str = "e2e-check") -> str:
    """The real API's verdict on one storefront event sent now: `duplicate` says it was recorded
    already (by a beacon, an e-mail's open pixel …)."""
    event = {"event_id": event_id, "type": event_type, "token": token, "occurred_at": iso(datetime.now(UTC))}
    response = requests.post(
        f"{api_url}/v1/events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["results"][0]["status"])

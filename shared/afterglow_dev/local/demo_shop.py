"""The demo shop beside `afterglow local`: confirmation pages that run the storefront SDK, and fake
partner landing pages whose "Sign up" sends a real, signed conversion webhook to the API.

A browser cannot keep a partner's `whsec_` secret, so the landing page posts a plain form to this
server, which signs the Standard Webhooks request server-side, the way the partner's own backend
would. Demo only: it binds loopback and serves nothing but the files in `sdk/`.
"""

import html
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from standardwebhooks import Webhook

SDK_FILE = "afterglow.js"
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
MAX_FORM_BYTES = 16 * 1024
API_TIMEOUT_SECONDS = 10
DEMO_BASKET_MINOR = 2990  # the shopper's first order at the partner, for percentage payouts
DEMO_CURRENCY = "EUR"
MAX_OFFER_PAGES = 20
PARTNER_ENV = re.compile(r"AFTERGLOW_DEMO_PARTNER_([A-Z0-9_]+)_ID")
PARTNER_PATH = re.compile(r"/partner/([A-Za-z0-9_\-]{1,128})(/[A-Za-z0-9_\-/]*)?")


@dataclass(frozen=True)
class DemoPartner:
    """A demo partner as `afterglow local` describes it in its environment."""

    partner_id: str
    slug: str  # "trailmix-box", as in the demo offers' landing URLs
    name: str
    secret: str  # whsec_…


def find_sdk_dir(start: Path | None = None) -> Path:
    """The `sdk/` directory of this checkout (beside template.yaml), or of the working directory."""
    here = (start or Path(__file__)).resolve()
    for directory in (here, *here.parents, Path.cwd()):
        if (directory / "sdk" / SDK_FILE).is_file():
            return directory / "sdk"
    raise FileNotFoundError(f"sdk/{SDK_FILE} not found above {here} or in {Path.cwd()}")


def demo_partners(env: Mapping[str, str]) -> dict[str, DemoPartner]:
    """Partners from `AFTERGLOW_DEMO_PARTNER_<NAME>_ID` / `_SECRET`, keyed by partner id and by slug."""
    partners: dict[str, DemoPartner] = {}
    for key, partner_id in env.items():
        match = PARTNER_ENV.fullmatch(key)
        secret = env.get(f"AFTERGLOW_DEMO_PARTNER_{match.group(1)}_SECRET") if match else None
        if match is None or not secret:
            continue
        words = match.group(1).split("_")
        partner = DemoPartner(
            partner_id=partner_id,
            slug="-".join(words).lower(),
            name=" ".join("&" if word == "AND" else word.capitalize() for word in words),
            secret=secret,
        )
        partners[partner.partner_id] = partners[partner.slug] = partner
    return partners


@dataclass(frozen=True)
class PaidAction:
    """What the partner reports when the shopper signs up: the action its offer pays for."""

    action: str
    amount_minor: int | None = None  # for percentage payouts: the basket value
    currency: str | None = None


SIGNUP = PaidAction("signup")


def paid_action(offers: list[dict[str, Any]]) -> PaidAction:
    """The action a partner's offers pay for, a sign-up when one does.

    A partner reports what happened on its side; in the demo, "Sign up" stands for whatever the
    offer pays (a first order of DEMO_BASKET_MINOR for a percentage payout), so it is never refused
    as `action_not_paid_by_offer`.
    """
    choices: list[PaidAction] = []
    for offer in offers:
        payout = offer.get("payout") or {}
        if payout.get("type") == "fixed":
            choices += [PaidAction(action) for action in payout.get("amounts", {})]
        elif payout.get("type") == "percent":
            choices += [PaidAction(a, DEMO_BASKET_MINOR, DEMO_CURRENCY) for a in payout.get("actions", [])]
    if not choices or SIGNUP in choices:
        return SIGNUP
    return next((c for c in choices if c.action == "first_purchase"), choices[0])


def sign_conversion(
    partner: DemoPartner, click_id: str, now: datetime, paid: PaidAction = SIGNUP
) -> tuple[dict[str, str], str]:
    """Headers and body of a signed conversion for this click, as the partner's server sends it.

    The conversion id is derived from the click, so signing up twice is the same conversion: the
    API answers `duplicate` and counts it once.
    """
    conversion_id = f"demo-{paid.action}-{click_id}"[:128]
    conversion: dict[str, Any] = {
        "click_id": click_id,
        "conversion_id": conversion_id,
        "action": paid.action,
        "occurred_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if paid.amount_minor is not None:
        conversion.update(amount_minor=paid.amount_minor, currency=paid.currency)
    body = json.dumps(conversion)
    message_id = f"msg_{conversion_id}"[:128]
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(partner.secret).sign(message_id, now, body),
        "afterglow-partner": partner.partner_id,
    }
    return headers, body


def call_api(url: str, headers: Mapping[str, str], body: str | None = None) -> tuple[int, Any]:
    """POST (with a body) or GET; (status, parsed JSON or text), status 0 when unreachable."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    data = body.encode() if body is not None else None
    method = "POST" if body is not None else "GET"
    # S310: the scheme was checked just above
    request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return 0, f"could not reach the API: {error}"
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def describe_outcome(status: int, answer: Any, partner: DemoPartner) -> tuple[str, str, str]:
    """(status word, headline, sentence) for the result page of a signup."""
    outcome = answer.get("status") if isinstance(answer, dict) else None
    if status == 200 and outcome == "recorded":
        payout = answer.get("payout_minor")
        amount = (
            f"{payout / 100:.2f} {answer.get('currency') or ''}".strip() if payout is not None else "a payout"
        )
        return (
            "recorded",
            "You're in!",
            f"Welcome to {partner.name}. Afterglow recorded the conversion: {amount} to invoice to "
            f"{partner.name}, shared with the shop that showed the offer.",
        )
    if status == 200 and outcome == "duplicate":
        return (
            "duplicate",
            "You're already signed up",
            "Afterglow had this conversion already; it counts once.",
        )
    if status == 200 and outcome == "rejected":
        return "rejected", "Signed up", f"Afterglow refused the conversion: {answer.get('reason')}."
    if status == 0:
        return "unreachable", "Signed up", f"The conversion webhook failed: {answer}."
    return "error", "Signed up", f"Afterglow answered HTTP {status}."


class DemoShopServer(ThreadingHTTPServer):
    """The demo shop. `env` is read on every request, so a caller may fill it in after starting."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], api_url: str, env: Mapping[str, str], sdk_dir: Path) -> None:
        super().__init__(address, DemoShopHandler)
        self.api_url = api_url.rstrip("/")
        self.env = env
        self.sdk_dir = sdk_dir
        self.demo_dir = sdk_dir / "demo"

    @property
    def url(self) -> str:
        """The shop's base URL, e.g. `http://127.0.0.1:8001` (also its CORS origin)."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def partner(self, reference: str) -> DemoPartner | None:
        """A demo partner by id or slug, with its real name when the platform key can read it."""
        partner = demo_partners(self.env).get(reference)
        admin_key = self.env.get("AFTERGLOW_ADMIN_KEY")
        if partner is None or not admin_key:
            return partner
        url = f"{self.api_url}/v1/admin/partners/{partner.partner_id}"
        status, found = call_api(url, {"Authorization": f"Bearer {admin_key}"})
        if status == 200 and isinstance(found, dict) and isinstance(found.get("name"), str):
            return replace(partner, name=found["name"])
        return partner

    def paid_action(self, partner: DemoPartner) -> PaidAction:
        """What this partner's offers pay for, read with the platform key (a sign-up without one)."""
        admin_key = self.env.get("AFTERGLOW_ADMIN_KEY")
        if not admin_key:
            return SIGNUP
        offers: list[dict[str, Any]] = []
        query: dict[str, str] = {"limit": "100"}
        for _ in range(MAX_OFFER_PAGES):
            url = f"{self.api_url}/v1/admin/offers?{urlencode(query)}"
            status, page = call_api(url, {"Authorization": f"Bearer {admin_key}"})
            if status != 200 or not isinstance(page, dict):
                break
            offers += [o for o in page.get("items", []) if o.get("partner_id") == partner.partner_id]
            if not page.get("next_cursor"):
                break
            query["cursor"] = page["next_cursor"]
        return paid_action([o for o in offers if o.get("status", "active") == "active"] or offers)

    def config_script(self) -> bytes:
        """`/demo-config.js`: where the API is and the demo retailer's publishable key (public by design)."""
        config = {
            "apiBase": self.api_url,
            "publishableKey": self.env.get("AFTERGLOW_DEMO_PUBLISHABLE_KEY", ""),
            "debug": self.env.get("AFTERGLOW_DEMO_DEBUG", "") == "1",
        }
        return f"window.AFTERGLOW_DEMO = {json.dumps(config)};\n".encode()

    def content_security_policy(self) -> str:
        """A strict CSP for the shop pages: the SDK must work without inline scripts or styles."""
        api = urlsplit(self.api_url)
        return (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
            f"connect-src 'self' {api.scheme}://{api.netloc}; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'"
        )


class DemoShopHandler(BaseHTTPRequestHandler):
    """Static demo pages, the SDK, the config script, and the partner landing and signup pages."""

    server: DemoShopServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `afterglow local` prints what matters."""

    def do_GET(self) -> None:
        """Serve a page."""
        self._safely(self._get)

    def do_HEAD(self) -> None:
        """Same as GET, without a body."""
        self._safely(self._get)

    def do_POST(self) -> None:
        """The partner signup form."""
        self._safely(self._post)

    def _safely(self, handle: Any) -> None:
        try:
            handle()
        except Exception as error:  # a demo must answer something readable, never hang up
            self._send(500, f"demo shop error: {type(error).__name__}".encode(), "text/plain; charset=utf-8")

    def _get(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path in ("/", "/index.html"):
            return self._page(self.server.demo_dir / "index.html")
        if path == f"/{SDK_FILE}":
            return self._file(self.server.sdk_dir / SDK_FILE)
        if path == "/favicon.ico":
            return self._send(204, b"", "image/x-icon")
        if path == "/demo-config.js":
            return self._send(200, self.server.config_script(), STATIC_TYPES[".js"])
        partner_path = PARTNER_PATH.fullmatch(path)
        if partner_path:
            return self._landing(partner_path.group(1), parse_qs(url.query).get("click_id", [""])[0])
        name = path.lstrip("/")
        # Only files that exist directly in sdk/demo, by exact name: no traversal, no listing.
        if "/" not in name and name in {p.name for p in self.server.demo_dir.iterdir() if p.is_file()}:
            return self._page(self.server.demo_dir / name)
        return self._send(404, b"not found", "text/plain; charset=utf-8")

    def _post(self) -> None:
        match = PARTNER_PATH.fullmatch(urlsplit(self.path).path)
        if not match or match.group(2) != "/signup":
            return self._send(404, b"not found", "text/plain; charset=utf-8")
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_FORM_BYTES:
            self.close_connection = True
            return self._send(413, b"form too large", "text/plain; charset=utf-8")
        form = parse_qs(self.rfile.read(length).decode(errors="replace"))
        partner = self.server.partner(match.group(1))
        if partner is None:
            return self._send(404, b"unknown demo partner", "text/plain; charset=utf-8")
        click_id = form.get("click_id", [""])[0].strip()
        if not click_id:
            return self._send(400, b"no click_id: open the landing page through an offer", "text/plain")
        paid = self.server.paid_action(partner)
        headers, body = sign_conversion(partner, click_id, datetime.now(UTC), paid)
        status, answer = call_api(f"{self.server.api_url}/v1/webhooks/conversions", headers, body)
        word, headline, message = describe_outcome(status, answer, partner)
        shown_request = "\n".join(
            [f"POST {self.server.api_url}/v1/webhooks/conversions"]
            + [f"{name}: {value}" for name, value in headers.items()]
            + ["", body]
        )
        values = {
            "partner_name": partner.name,
            "headline": headline,
            "status": word,
            "message": message,
            "request": shown_request,
            "response": json.dumps(answer, indent=2) if not isinstance(answer, str) else answer,
            "shop_url": self._own_url("/"),
        }
        self._template("partner-result.html", values)

    def _landing(self, reference: str, click_id: str) -> None:
        partner = self.server.partner(reference)
        if partner is None:
            return self._send(404, b"unknown demo partner", "text/plain; charset=utf-8")
        paid = self.server.paid_action(partner)
        reported = paid.action.replace("_", " ")
        if paid.amount_minor is not None:
            reported += f" of {paid.amount_minor / 100:.2f} {paid.currency}"
        note = (
            f"Demo: your click id is {click_id}. Signing up sends {partner.name}'s signed conversion "
            f"webhook, reporting a {reported} (what its offer pays for)."
            if click_id
            else "Demo: no click_id in the address, so nothing to attribute. Open this page from an offer."
        )
        values = {
            "partner_name": partner.name,
            # absolute: the page may be shown under the partner's own (routed) host name in tests
            "signup_action": self._own_url(f"/partner/{partner.partner_id}/signup"),
            "click_id": click_id,
            "click_note": note,
        }
        self._template("partner.html", values)

    def _own_url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    def _template(self, name: str, values: Mapping[str, str]) -> None:
        text = (self.server.demo_dir / name).read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", html.escape(value))
        self._send(200, text.encode(), STATIC_TYPES[".html"], {"Cache-Control": "no-store"})

    def _page(self, path: Path) -> None:
        self._file(path, {"Content-Security-Policy": self.server.content_security_policy()})

    def _file(self, path: Path, extra: Mapping[str, str] | None = None) -> None:
        content_type = STATIC_TYPES.get(path.suffix)
        if content_type is None:
            return self._send(404, b"not found", "text/plain; charset=utf-8")
        self._send(200, path.read_bytes(), content_type, {"Cache-Control": "no-cache", **(extra or {})})

    def _send(
        self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        if content_type.startswith("text/html"):
            # Nobody may frame the shop's pages (clickjacking on the offers)
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve_demo_shop(
    api_url: str,
    env: Mapping[str, str],
    host: str = "127.0.0.1",
    port: int = 0,
    sdk_dir: Path | None = None,
) -> DemoShopServer:
    """Start the demo shop on host:port (0 = a free port) in a daemon thread; `.url` says where.

    `env` holds what `afterglow local` writes to its env file (the demo publishable key and the
    `AFTERGLOW_DEMO_PARTNER_<NAME>_ID` / `_SECRET` pairs). It is read per request, so the shop can
    start first (its origin is needed for the demo retailer's allowed origins) and `env` be filled
    in after seeding. Stop it with `.shutdown()` then `.server_close()`.
    """
    server = DemoShopServer((host, port), api_url, env, sdk_dir or find_sdk_dir())
    threading.Thread(
        target=server.serve_forever, args=(0.2,), name="afterglow-demo-shop", daemon=True
    ).start()
    return server

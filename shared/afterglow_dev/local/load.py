"""`afterglow load`: a bounded load test of the local stack over loopback.

A fixed number of workers each play shoppers and partners as on a busy evening: a decision for a
fresh order, the impressions (sometimes an engage or a dismiss) the storefront SDK sends, now and
then the SDK's retry of the same batch, a click on an offer, and for some clicks the partner's
signed conversion webhook (now and then delivered twice). The run stops by itself at a wall-clock
bound or a request count, whichever comes first, and talks to 127.0.0.1 only.

Afterwards the ledger is read back (from moto, day index) and every record that belongs to the
run is counted by kind: it must equal what the API said it accepted — nothing lost, nothing twice.

Plain threads with one keep-alive `http.client` connection each, not asyncio: this module may run
in a process that hosts Lambda handlers, and no extra HTTP library is needed.
"""

import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks import Webhook

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_SECONDS = 60.0
REQUEST_TIMEOUT_S = 10.0
STARTUP_LINES = 200  # `afterglow local` prints a dozen lines before "ready:"
STOP_WAIT_S = 30.0
REQUEST_KINDS = ("decision", "events", "click", "webhook")
LEDGER_KINDS = ("decision", "impression", "engage", "dismiss", "click", "conversion")

# Orders like the demo shop's (sdk/demo/shop.js): categories the demo catalog has offers for.
SAMPLE_ORDERS = (
    ("TENT-2P", "camping", 24_900),
    ("STRIDE-PRO", "running", 13_900),
    ("BARISTA-DUO", "kitchen", 64_900),
    ("QC-HEADPHONES", "audio", 29_900),
)

# How often a shopper or a partner does each thing (per decision with offers, per click).
ENGAGE_RATE = 0.3
DISMISS_RATE = 0.2
EVENT_RETRY_RATE = 0.1
CLICK_RATE = 0.35
CONVERT_RATE = 0.5
REDELIVERY_RATE = 0.1


@dataclass(frozen=True)
class LoadSettings:
    """Bounds of one run; both bounds are small by default."""

    seconds: float = 20.0
    concurrency: int = 8
    max_requests: int = 4_000
    seed: int = 1


@dataclass
class LoadReport:
    """What one run did and what the ledger holds for it."""

    seconds: float
    requests: Counter[str] = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0  # failed requests (non-2xx/3xx, no answer) and answers not as documented
    error_samples: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)  # ledger kind -> records the API accepted
    ledger: Counter[str] = field(default_factory=Counter)  # ledger kind -> records found for the run

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def requests_per_s(self) -> float:
        return self.total_requests / self.seconds if self.seconds else 0.0

    @property
    def ledger_matches(self) -> bool:
        """Every accepted record is in the ledger exactly once, and nothing else is."""
        return +self.accepted == +self.ledger

    def figures(self) -> dict[str, float]:
        """Flat figures (for `make bench` and JSON)."""
        found: dict[str, float] = {
            "load_requests": self.total_requests,
            "load_requests_per_s": self.requests_per_s,
            "load_errors": self.errors,
            "load_ledger_matches": int(self.ledger_matches),
        }
        for kind in REQUEST_KINDS:
            samples = self.latencies_ms.get(kind, [])
            if samples:
                found[f"load_{kind}_p50_ms"] = percentile(samples, 50)
                found[f"load_{kind}_p99_ms"] = percentile(samples, 99)
        return found

    def table(self) -> str:
        """Requests, latency per kind, errors and the ledger check, for people."""
        lines = [f"{'request':<10} {'count':>7} {'p50 ms':>9} {'p99 ms':>9}"]
        for kind in REQUEST_KINDS:
            samples = self.latencies_ms.get(kind, [])
            p50, p99 = (percentile(samples, 50), percentile(samples, 99)) if samples else (0.0, 0.0)
            lines.append(f"{kind:<10} {self.requests[kind]:>7,} {p50:>9.1f} {p99:>9.1f}")
        lines.append(
            f"{'total':<10} {self.total_requests:>7,}   in {self.seconds:.1f} s = "
            f"{self.requests_per_s:,.1f} req/s;  errors: {self.errors}"
        )
        lines.append("")
        lines.append(f"{'ledger record':<14} {'accepted':>9} {'in ledger':>10}")
        for kind in sorted(set(LEDGER_KINDS) | set(self.accepted) | set(self.ledger)):
            lines.append(f"{kind:<14} {self.accepted[kind]:>9,} {self.ledger[kind]:>10,}")
        lines.append(f"ledger holds exactly the accepted records: {'yes' if self.ledger_matches else 'NO'}")
        if self.outcomes:
            lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        lines.extend(f"error: {sample}" for sample in self.error_samples)
        return "\n".join(lines)


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile by rank (no interpolation)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def signed_webhook_headers(secret: str, msg_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for a body, signed with the reference library as a partner does."""
    moment = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
    }


def demo_partners(env: Mapping[str, str]) -> dict[str, tuple[str, str, bool]]:
    """Demo partner id -> (webhook secret, an action its offer pays for, whether it needs an amount),
    from the env file `afterglow local` writes and the demo catalog's payouts."""
    from afterglow_dev.local.demo import DEMO_OFFERS, partner_terms

    slugs = {name: name.upper().replace(" ", "_").replace("&", "AND") for name, *_ in DEMO_OFFERS}
    ids = {name: env.get(f"AFTERGLOW_DEMO_PARTNER_{slug}_ID", "") for name, slug in slugs.items()}
    secrets = {name: env.get(f"AFTERGLOW_DEMO_PARTNER_{slug}_SECRET", "") for name, slug in slugs.items()}
    return partner_terms(ids, secrets)


class _Connection(http.client.HTTPConnection):
    """A keep-alive connection that sends a request's head and body without waiting: http.client
    writes them apart, and with Nagle's algorithm the body waits for the server's delayed ACK of
    the head (~40 ms on every POST, a figure of the client and not of the stack)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Budget:
    """The run's two bounds, shared by the workers: a deadline and a number of requests."""

    def __init__(self, seconds: float, max_requests: int) -> None:
        self.deadline = time.monotonic() + seconds
        self._left = max_requests
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self.deadline:
                return False
            self._left -= 1
            return True


class _Worker:
    """One simulated client: a keep-alive connection, its own random stream and tallies."""

    def __init__(self, api_url: str, env: Mapping[str, str], budget: _Budget, seed: int, run_id: str) -> None:
        parts = urlsplit(api_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key = env["AFTERGLOW_DEMO_PUBLISHABLE_KEY"]
        self.partners = demo_partners(env)
        self.budget = budget
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
        self.run_id = run_id
        self.seed = seed
        self.connection: _Connection | None = None
        self.requests: Counter[str] = Counter()
        self.latencies: dict[str, list[float]] = {kind: [] for kind in REQUEST_KINDS}
        self.errors: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()

    def _send(
        self, kind: str, method: str, path: str, body: str | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any] | None:
        """One request within the budget (_BudgetSpent once it is spent); None when it failed."""
        if not self.budget.take():
            raise _BudgetSpent
        self.requests[kind] += 1
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = _Connection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.errors.append(f"{kind}: {type(error).__name__}: {error}")
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            return None
        self.latencies[kind].append((time.perf_counter() - started) * 1000)
        if not 200 <= response.status < 400:
            self.errors.append(f"{kind}: HTTP {response.status} {raw[:200]!r}")
            return None
        payload = json.loads(raw) if raw and "json" in (response.getheader("content-type") or "") else None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def run(self) -> None:
        journey = 0
        try:
            while True:
                # The first order of every client goes all the way (a partner offer clicked and
                # converted), so that even a short run exercises every kind of request.
                try:
                    self._journey(f"load-{self.run_id}-{self.seed}-{journey}", whole=journey == 0)
                except (KeyError, TypeError, ValueError) as error:  # an answer not shaped as documented
                    self.errors.append(f"unexpected answer: {type(error).__name__}: {error}")
                journey += 1
        except _BudgetSpent:
            pass
        finally:
            if self.connection is not None:
                self.connection.close()

    def _journey(self, order_id: str, *, whole: bool = False) -> None:
        """One order: decision → events (→ SDK retry) → maybe a click → maybe a conversion."""
        sku, category, value = SAMPLE_ORDERS[0] if whole else self.rng.choice(SAMPLE_ORDERS)
        order = {
            "order_id": order_id,
            "order_value_minor": value,
            "currency": "EUR",
            "line_items": [{"sku": sku, "category": category, "price_minor": value}],
            "customer": {"email": f"{order_id}@example.com", "country": "DE"},
        }
        storefront = {"authorization": f"Bearer {self.key}", "content-type": "application/json"}
        answer = self._send("decision", "POST", "/v1/decisions", json.dumps(order), storefront)
        if answer is None:
            return
        decision = answer[2]
        if decision.get("degraded"):
            self.outcomes["decision_degraded"] += 1
            return
        self.accepted["decision"] += 1
        offers = decision.get("offers", [])
        if not offers:
            return
        self._events(offers, storefront)
        partner_offers = [o for o in offers if o["partner_id"] in self.partners]
        if whole and partner_offers:
            self._click_and_convert(partner_offers[0], convert=True)
        elif self.rng.random() < CLICK_RATE:
            self._click_and_convert(self.rng.choice(offers), convert=self.rng.random() < CONVERT_RATE)

    def _events(self, offers: list[dict[str, Any]], storefront: dict[str, str]) -> None:
        now = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": secrets.token_hex(8),
                "type": "impression",
                "token": o["tracking_token"],
                "occurred_at": now,
            }
            for o in offers
        ]
        if self.rng.random() < ENGAGE_RATE:
            events.append({**events[0], "event_id": secrets.token_hex(8), "type": "engage"})
        if self.rng.random() < DISMISS_RATE:
            events.append({**events[len(offers) - 1], "event_id": secrets.token_hex(8), "type": "dismiss"})
        body = json.dumps({"events": events})
        tries = 2 if self.rng.random() < EVENT_RETRY_RATE else 1  # the SDK re-sends a batch it lost
        for attempt in range(tries):
            answer = self._send("events", "POST", "/v1/events", body, storefront)
            if answer is None:
                return
            for event, result in zip(events, answer[2]["results"], strict=True):
                self.outcomes[f"event_{result['status']}"] += 1
                if result["status"] == "accepted":
                    self.accepted[event["type"]] += 1
                elif attempt == 0 or result["status"] != "duplicate":
                    self.errors.append(f"events: {event['type']} was {result}")

    def _click_and_convert(self, offer: dict[str, Any], *, convert: bool) -> None:
        click_url = urlsplit(offer["click_url"])
        answer = self._send("click", "GET", click_url.path, None, {})
        if answer is None:
            return
        status, headers, _ = answer
        click_ids = parse_qs(urlsplit(headers.get("location", "")).query).get("click_id")
        if status != 302 or not click_ids:
            self.errors.append(f"click: {status} without a click id")
            return
        self.accepted["click"] += 1
        partner = self.partners.get(offer["partner_id"])
        if partner is None or not convert:
            return  # a first-party offer, or a shopper who did not buy
        secret, action, needs_amount = partner
        conversion_id = f"{click_ids[0]}-{action}"
        body = json.dumps(
            {
                "click_id": click_ids[0],
                "conversion_id": conversion_id,
                "action": action,
                "occurred_at": datetime.now(UTC).isoformat(),
                **({"amount_minor": 5_900, "currency": "EUR"} if needs_amount else {}),
            }
        )
        deliveries = 2 if self.rng.random() < REDELIVERY_RATE else 1  # the partner retries
        for attempt in range(deliveries):
            headers = signed_webhook_headers(secret, f"msg_{conversion_id}", body)
            answer = self._send("webhook", "POST", "/v1/webhooks/conversions", body, headers)
            if answer is None:
                return
            outcome = answer[2]["status"]
            self.outcomes[f"webhook_{outcome}"] += 1
            if outcome == "recorded":
                self.accepted["conversion"] += 1
            elif attempt == 0 or outcome != "duplicate":
                self.errors.append(f"webhook: {answer[2]}")


class _BudgetSpent(Exception):
    """The run's deadline or request count is reached: the worker stops."""


def _require_loopback(api_url: str) -> None:
    host = urlsplit(api_url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"the load test only talks to 127.0.0.1, not {host!r}")


def ledger_counts(env: Mapping[str, str], order_prefix: str, first: date, last: date) -> Counter[str]:
    """Ledger records of the run's orders by kind: the decisions whose order id starts with the
    prefix, and every record of those decisions (read from the day index, day by day)."""
    import boto3

    from afterglow.settings import Settings
    from afterglow.store.ledger import LedgerStore

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "local"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "local"),
    )
    shards = int(env.get("LEDGER_SHARDS") or Settings.model_fields["ledger_shards"].default)
    ledger = LedgerStore(ddb, env["LEDGER_TABLE"], shards=shards)
    records: list[dict[str, Any]] = []
    day = first
    while day <= last:
        records.extend(ledger.read_day(day.isoformat()))
        day += timedelta(days=1)
    decisions = {
        r["decision_id"]
        for r in records
        if r.get("kind") == "decision" and str(r.get("order_id", "")).startswith(order_prefix)
    }
    return Counter(str(r["kind"]) for r in records if r.get("decision_id") in decisions)


def run_load(env: Mapping[str, str], settings: LoadSettings = LoadSettings()) -> LoadReport:
    """Run a bounded mix against the stack the env describes (its env file) and check the ledger."""
    api_url = env["AFTERGLOW_API_URL"]
    _require_loopback(api_url)
    if not 0 < settings.seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SECONDS:g}]")
    run_id = secrets.token_hex(4)  # unique order ids per run: the ledger count is exact
    budget = _Budget(settings.seconds, settings.max_requests)
    workers = [
        _Worker(api_url, env, budget, settings.seed * 1_000 + n, run_id) for n in range(settings.concurrency)
    ]
    first_day = datetime.now(UTC).date()
    started = time.perf_counter()
    threads = [threading.Thread(target=w.run, name=f"load-{n}", daemon=True) for n, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(settings.seconds + 2 * REQUEST_TIMEOUT_S)
    report = LoadReport(seconds=time.perf_counter() - started)
    for worker in workers:
        report.requests.update(worker.requests)
        for kind, samples in worker.latencies.items():
            report.latencies_ms.setdefault(kind, []).extend(samples)
        report.errors += len(worker.errors)
        report.error_samples.extend(worker.errors[: 5 - len(report.error_samples)])
        report.outcomes.update(worker.outcomes)
        report.accepted.update(worker.accepted)
    report.ledger = ledger_counts(env, f"load-{run_id}-", first_day, datetime.now(UTC).date())
    return report


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines, as `afterglow local` writes them."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


@contextmanager
def local_stack_process(workdir: Path, *, demo_orders: int = 0) -> Iterator[dict[str, str]]:
    """Start `afterglow local` on free loopback ports in its own process (so the figures are not
    the load client's own CPU), with `demo_orders` of the demo shop's trade played (none by default:
    a measurement or a test starts from an empty ledger); yields the environment it wrote (plus
    `ENV_FILE` and the lines it printed until ready, `STARTUP_OUTPUT`), stops it on exit;
    `RuntimeError` if it does not start."""
    env_file = workdir / "local.env"
    command = [sys.executable, "-m", "afterglow_dev.cli", "local", "--port", "0", "--moto-port", "0"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own CLI
        [*command, "--demo-port", "0", "--demo-orders", str(demo_orders), "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        for _ in range(STARTUP_LINES):
            line = process.stdout.readline()
            output.append(line)
            if line.startswith("ready:") or not line:
                break
        if not output[-1].startswith("ready:"):
            raise RuntimeError("the local stack did not start:\n" + "".join(output))
        stream = process.stdout
        # Keep draining its output so that its logging never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()
        yield {**read_env_file(env_file), "ENV_FILE": str(env_file), "STARTUP_OUTPUT": "".join(output)}
    finally:
        process.terminate()  # SIGTERM: the stack stops its workers and learning loop, then exits
        try:
            process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()  # its workers exit by themselves once their pipe to it closes
            process.wait(timeout=STOP_WAIT_S)

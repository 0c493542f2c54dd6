"""An API Gateway HTTP API stand-in: template routes → the real `lambda_handler`s, with v2 events.

Requests are served in parallel the way Lambda serves them: each is handed to a free warm worker
(`afterglow_dev.local.workers`), a process that, like a Lambda container, runs one invocation at a
time.
One log line per request says what was asked, what it answered, how long it took and where it ran.
"""

import base64
import contextlib
import importlib.util
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from afterglow_dev.local.template import FunctionSpec, Route, Template
from afterglow_dev.local.workers import NoWorkerFree, WorkerFailed

MAX_LOCAL_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit
MAX_CONNECTIONS = 128  # open client connections; past this a new one is answered 503 and closed
KEEP_ALIVE_IDLE_S = 60.0  # an idle keep-alive connection is closed after this (frees its slot)


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = "local"
    log_stream_name: str = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def load_function_module(root: Path, spec: FunctionSpec) -> ModuleType:
    """Import a function's app module from its CodeUri, as Lambda would (one module per function)."""
    path = root / spec.app_path
    module_spec = importlib.util.spec_from_file_location(f"afterglow_function_{spec.logical_id}", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def api_gateway_event(
    route: Route,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format 2.0 event, as the real service would send it."""
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body),
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = base64.b64encode(body).decode()
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
    return event


class Invoker(Protocol):
    """Runs a function's handler on an event: the answer and the name of the worker that ran it."""

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[dict[str, Any], str]: ...


class LocalGateway:
    """Routes requests to handlers exactly as template.yaml wires them."""

    def __init__(self, template: Template, workers: Invoker) -> None:
        self.routes: list[tuple[Route, Any]] = [(route, route.pattern()) for route in template.routes()]
        self.workers = workers

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


RequestLog = Callable[[str, str, int, float, str], None]
_log_lock = threading.Lock()


def print_request(method: str, path: str, status: int, ms: float, worker: str) -> None:
    """One line per request on stdout: method, path (never the query: it may carry a key), status,
    milliseconds and the worker that ran it (`-` when none did)."""
    line = f"{method} {path} {status} {ms:.1f} ms {worker}\n"
    with _log_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}})
    return status, {"content-type": "application/json"}, body.encode()


# What API Gateway answers when the function behind a route fails or is throttled.
_FUNCTION_FAILED = (500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
_BUSY = b'{"message":"Service Unavailable"}'


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection (keep-alive clients do not block each other), at most
    `MAX_CONNECTIONS` at once."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _refuse(request: socket.socket) -> None:
    head = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    with contextlib.suppress(OSError):
        request.sendall(head + f"content-length: {len(_BUSY)}\r\n\r\n".encode() + _BUSY)


def serve(
    gateway: LocalGateway, host: str, port: int, log: RequestLog = print_request
) -> ThreadingHTTPServer:
    """Bind the gateway to host:port; `start_serving` starts answering (once the workers run)."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = KEEP_ALIVE_IDLE_S
        # A response's head and body are two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK of the head (~40 ms on every keep-alive request).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            started = time.perf_counter()
            url = urlsplit(self.path)
            worker = "-"
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_LOCAL_BODY:
                status, headers, body = _error(413, "payload_too_large", "body too large")
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                status, headers, body, worker = self._dispatch(url.path, url.query, raw)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            log(self.command, url.path, status, (time.perf_counter() - started) * 1000, worker)

        def _dispatch(self, path: str, query: str, raw: bytes) -> tuple[int, dict[str, str], bytes, str]:
            matched = gateway.match(self.command, path)
            if matched is None:
                return (*_error(404, "not_found", f"no route {self.command} {path}"), "-")
            route, params = matched
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            headers.setdefault("x-forwarded-proto", "http")  # API Gateway sets it; links use it
            headers.setdefault("x-forwarded-port", bound_port)
            event = api_gateway_event(route, path, query, headers, raw, params, self.client_address[0])
            try:
                result, worker = gateway.workers.invoke(route.function, event)
            except NoWorkerFree:  # every worker busy for the whole wait: throttled
                return 503, {"content-type": "application/json"}, _BUSY, "-"
            except WorkerFailed as failure:  # what API Gateway answers when a function crashes
                print(f"afterglow local: {failure}", flush=True)
                return (*_FUNCTION_FAILED, "-")
            body = result.get("body") or ""
            payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
            response_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
            response_headers.pop("content-length", None)
            return int(result.get("statusCode", 200)), response_headers, payload, worker

        def __getattr__(self, name: str) -> Any:
            # Every method (TRACE, PROPFIND, …) reaches the router, which says 404 like API Gateway.
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    server = _BoundedHTTPServer((host, port), RequestHandler)
    bound_port = str(server.server_address[1])
    return server


def start_serving(server: ThreadingHTTPServer) -> None:
    """Answer requests in a daemon thread until `server.shutdown()`."""
    threading.Thread(target=server.serve_forever, args=(0.2,), name="afterglow-gateway", daemon=True).start()

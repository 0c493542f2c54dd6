"""An API Gateway HTTP API stand-in: template routes → the real `lambda_handler`s, with v2 events."""

import asyncio
import base64
import importlib.util
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from afterglow_dev.local.template import FunctionSpec, Route, Template

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_LOCAL_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit


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


class LocalGateway:
    """Routes requests to handlers exactly as template.yaml wires them."""

    def __init__(self, template: Template) -> None:
        self.routes: list[tuple[Route, Any]] = [(route, route.pattern()) for route in template.routes()]
        specs = template.functions()
        self.handlers: dict[str, Handler] = {
            spec.logical_id: load_function_module(template.root, spec).lambda_handler for spec in specs
        }
        self._lock = threading.Lock()

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """Call a function's real handler with a fake Lambda context, one invocation at a time."""
        context = FakeLambdaContext(
            function_name=function,
            aws_request_id=uuid.uuid4().hex,
            invoked_function_arn=f"arn:aws:lambda:local:123456789012:function:{function}",
        )
        with self._lock:
            # Mangum runs the app on the calling thread's event loop; connection threads have none.
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                return self.handlers[function](event, context)
            finally:
                asyncio.set_event_loop(None)
                loop.close()


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(
        {"error": {"code": "not_found" if status == 404 else "bad_request", "message": message}}
    )
    return status, {"content-type": "application/json"}, body.encode()


def serve(gateway: LocalGateway, host: str, port: int) -> HTTPServer:
    """Start the gateway on host:port: a thread per connection (keep-alive clients do not block
    each other), handlers invoked one at a time like a single warm Lambda."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_LOCAL_BODY:
                status, headers, body = (
                    413,
                    {"content-type": "application/json"},
                    b'{"error":{"code":"payload_too_large","message":"body too large"}}',
                )
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                status, headers, body = self._dispatch(url.path, url.query, raw)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _dispatch(self, path: str, query: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
            matched = gateway.match(self.command, path)
            if matched is None:
                return _error(404, f"no route {self.command} {path}")
            route, params = matched
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            headers.setdefault("x-forwarded-proto", "http")  # API Gateway sets it; links use it
            headers.setdefault("x-forwarded-port", bound_port)
            event = api_gateway_event(route, path, query, headers, raw, params, self.client_address[0])
            try:
                result = gateway.invoke(route.function, event)
            except Exception:  # what API Gateway answers when a function crashes
                return 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
            body = result.get("body") or ""
            payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
            response_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
            response_headers.pop("content-length", None)
            return int(result.get("statusCode", 200)), response_headers, payload

        def __getattr__(self, name: str) -> Any:
            # Every method (TRACE, PROPFIND, …) reaches the router, which says 404 like API Gateway.
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    server = ThreadingHTTPServer((host, port), RequestHandler)
    server.daemon_threads = True
    bound_port = str(server.server_address[1])

    threading.Thread(target=server.serve_forever, args=(0.2,), name="afterglow-gateway", daemon=True).start()
    return server

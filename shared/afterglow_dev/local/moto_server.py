"""moto in server mode, with one request at a time, over keep-alive connections.

DynamoDB applies each conditional or transactional write atomically; moto's backend has no locks,
so two threads can both pass `attribute_not_exists` on the same key. Serialising requests restores
the guarantee the ledger's exactly-once writes rely on, so concurrency tests prove something.

The local stack's every AWS call goes through this server, so it is lean where moto's own server
is not (measured per call on the local stack): werkzeug's development server closes the connection
after every response (a TCP connection and a thread per call), and moto's dispatcher lists its own
package directory on every request to recognise a service name (~150 `stat` calls). Here
connections are kept alive (HTTP/1.1, a response written at once without Nagle's delay) and the
list of moto's services is read once.

moto keeps every item as Python objects: with the 20,000-offer catalog and a ledger history the
process holds millions of them, and each full garbage collection walked them all — 0.7-1.1 s with
the catalog alone, every AWS call of the stack waiting (decisions degrade past 800 ms). With
`freeze_long_lived` (the local stack: moto in a process of its own making), what survives a young
collection is moved out of the collector's sight every few seconds (`gc.freeze`): moto's items live
as long as the server; the cost is that a reference cycle which outlives that is never freed, a few
hundred objects per minute.
"""

import gc
import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_NO_BODY_STATUSES = frozenset({204, 304})
FREEZE_EVERY_S = 2.0


class _OneAtATime:
    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, with its list of service modules read once instead of per request."""

    _modules = frozenset(backends.list_of_moto_modules())

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is None:
            return None
        if host == "moto_api" or host in self._modules:
            return host
        for backend, pattern in self.backend_url_patterns:
            if pattern.match(f"http://{host}"):
                return backend
        return None


class _KeepAliveHandler(MotoRequestHandler):
    """moto's request handler (its WSGI environ), keeping the connection open between requests."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def run_wsgi(self) -> None:
        body = self._read_body()
        environ = self.make_environ()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # as werkzeug: a 500, and the traceback in the log
            import traceback

            traceback.print_exc()
            started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
            chunks[:] = [b"Internal Server Error"]
        status, headers = started
        code = int(status.split(None, 1)[0])
        payload = b"".join(chunks)
        lines = [f"HTTP/1.1 {status}"]
        names = set()
        for name, value in headers:
            if name.lower() in ("connection", "transfer-encoding"):
                continue
            names.add(name.lower())
            lines.append(f"{name}: {value}")
        without_body = self.command == "HEAD" or code < 200 or code in _NO_BODY_STATUSES
        if "content-length" not in names and not without_body:
            lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if without_body else head + payload)


class SerializedMotoServer:
    """A moto server on host:port (0 = any free port) that applies requests one at a time."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, freeze_long_lived: bool = False) -> None:
        app = _OneAtATime(_Dispatcher(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_KeepAliveHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._stopped = threading.Event()
        self._freeze = freeze_long_lived

    def start(self) -> None:
        self._thread.start()
        if self._freeze:
            threading.Thread(target=self._freeze_long_lived, name="moto-gc", daemon=True).start()

    def _freeze_long_lived(self) -> None:
        while not self._stopped.wait(FREEZE_EVERY_S):
            gc.collect(1)  # young garbage first: only what outlives it is frozen
            gc.freeze()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

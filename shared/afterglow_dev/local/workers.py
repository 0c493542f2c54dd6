"""Warm workers for the local gateway: processes that each import every HTTP function's handler
once, then serve one invocation at a time — what a warm Lambda container (execution environment)
does.

Requests run in parallel across workers, never within one, so in-process state (the catalog
cache, the key cache, rate-limit buckets) is per worker, as in Lambda. Each worker gets the
stack's environment before it imports anything and reaches moto (in the `afterglow local` process)
over HTTP through `AWS_ENDPOINT_URL`.

The pool is bounded: a request waits at most `INVOCATION_TIMEOUT_S` for a free worker and a
worker gets as long to answer; one that overruns or dies is replaced by a fresh (cold) one.
Workers ignore Ctrl-C (it reaches the whole process group); the pool stops them, and a worker
whose `afterglow local` is gone exits by itself (its pipe closes).
"""

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

DEFAULT_WORKERS = 3  # moto runs in the stack's own process: on 2 cores, more workers only queue
MAX_WORKERS = 16
INVOCATION_TIMEOUT_S = 30.0  # API Gateway's integration limit: no HTTP request waits longer
READY_TIMEOUT_S = 120.0  # a cold start on a busy 2-core machine takes a few seconds
STOP_GRACE_S = 5.0


class WorkerError(Exception):
    """An invocation that got no answer from its function (API Gateway answers 5xx)."""


class NoWorkerFree(WorkerError):
    """Every worker stayed busy for the whole wait."""


class WorkerFailed(WorkerError):
    """The function raised, timed out or its worker died."""


@dataclass
class _Worker:
    name: str
    process: BaseProcess
    connection: Connection
    busy: threading.Lock = field(default_factory=threading.Lock)


def serve_invocations(connection: Connection, template_path: str, environment: dict[str, str]) -> None:
    """A worker's life: take the stack's environment, import the HTTP functions (a cold start),
    then invoke one event at a time until told to stop or the gateway goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pool stops us, not the terminal's Ctrl-C
    os.environ.update(environment)  # before any handler (or boto3 client) is imported
    import asyncio

    from afterglow_dev.local.gateway import FakeLambdaContext, load_function_module
    from afterglow_dev.local.template import Template

    template = Template(Path(template_path))
    handlers = {
        spec.logical_id: load_function_module(template.root, spec).lambda_handler
        for spec in template.functions()
        if spec.routes
    }
    asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs each call on this loop
    connection.send(("ready", os.getpid()))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return  # `afterglow local` is gone
        if message is None:
            return
        function, event = message
        context = FakeLambdaContext(
            function_name=function,
            aws_request_id=event.get("requestContext", {}).get("requestId", ""),
            invoked_function_arn=f"arn:aws:lambda:local:123456789012:function:{function}",
        )
        try:
            answer: tuple[str, Any] = ("ok", handlers[function](event, context))
        except Exception:  # the function crashed: say so in its log, the gateway answers 500
            traceback.print_exc()
            answer = ("error", None)
        connection.send(answer)


class WorkerPool:
    """`size` warm workers; `invoke` hands an event to a free one and waits for its answer."""

    def __init__(self, template_path: Path, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self._template_path = str(template_path)
        self._environment: dict[str, str] = {}
        self._size = size
        self._context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()  # the warmest worker first
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def size(self) -> int:
        return self._size

    def start(self, environment: dict[str, str]) -> None:
        """Start every worker with this environment and wait until each has imported the
        functions."""
        self._environment = dict(environment)
        started = [self._spawn(f"w{n}") for n in range(1, self._size + 1)]
        for worker in started:
            self._await_ready(worker)
            self._idle.put(worker)

    def _spawn(self, name: str) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=serve_invocations,
            args=(child_end, self._template_path, self._environment),
            name=f"afterglow-{name}",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(name, process, parent_end)
        with self._lock:
            self._workers[name] = worker
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        if not worker.connection.poll(READY_TIMEOUT_S):
            self._discard(worker)
            raise RuntimeError(f"worker {worker.name} did not start in {READY_TIMEOUT_S:g} s")
        try:
            worker.connection.recv()
        except EOFError as error:
            self._discard(worker)
            raise RuntimeError(f"worker {worker.name} failed to start (see its output)") from error

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The function's answer to the event, and the name of the worker that gave it."""
        try:
            worker = self._idle.get(timeout=INVOCATION_TIMEOUT_S)
        except queue.Empty as error:
            raise NoWorkerFree(f"no worker free in {INVOCATION_TIMEOUT_S:g} s") from error
        with worker.busy:
            try:
                worker.connection.send((function, event))
                if not worker.connection.poll(INVOCATION_TIMEOUT_S):
                    raise WorkerFailed(f"{function} timed out after {INVOCATION_TIMEOUT_S:g} s")
                status, result = worker.connection.recv()
            except (WorkerFailed, EOFError, OSError) as error:
                # As Lambda does after a timeout or a crash: this environment is gone, a cold one
                # takes its place.
                self._replace(worker)
                raise WorkerFailed(f"{function} in {worker.name}: {error or 'worker died'}") from None
        self._idle.put(worker)
        if status != "ok":
            raise WorkerFailed(f"{function} raised (its traceback is in the log)")
        return result, worker.name

    def _replace(self, worker: _Worker) -> None:
        self._discard(worker)
        with self._lock:
            if self._stopping:
                return
        fresh = self._spawn(worker.name)
        try:
            self._await_ready(fresh)
        except RuntimeError as error:
            print(f"afterglow local: {error}", flush=True)
            return
        self._idle.put(fresh)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            if self._workers.get(worker.name) is worker:
                del self._workers[worker.name]
        _end(worker)

    def stop(self) -> None:
        """Stop every worker: each finishes what it is doing (within a grace period), then exits."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers.values())
            self._workers.clear()
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in workers:
            if worker.busy.acquire(timeout=max(0.0, deadline - time.monotonic())):
                try:
                    worker.connection.send(None)
                except OSError:
                    pass
                finally:
                    worker.busy.release()
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            _end(worker)

    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        with self._lock:
            return [c.process.pid for c in self._workers.values() if c.process.pid is not None]


def _end(worker: _Worker) -> None:
    """Make sure a worker's process is gone and its pipe closed."""
    if worker.process.is_alive():
        worker.process.terminate()
        worker.process.join(2.0)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(2.0)
    worker.connection.close()

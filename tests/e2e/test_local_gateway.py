"""`afterglow local` serves requests as Lambda does: in parallel, each in a warm worker process (a
"container") that runs one invocation at a time, with one log line per request; Ctrl-C stops the
stack and every worker."""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from afterglow_dev.local.load import read_env_file

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
REQUEST_LINE = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>/\S*) (?P<status>\d{3}) (?P<ms>[\d.]+) ms (?P<worker>\S+)$"
)
WAIT_S = 60  # bound on every wait for the stack's output


@dataclass
class Stack:
    process: subprocess.Popen[str]
    env: dict[str, str]
    lines: "queue.Queue[str]"  # what the stack printed after `ready:`, line by line
    reader: threading.Thread

    def spawned(self) -> list[int]:
        """Process ids of the processes the stack spawned: its workers and its learning loop
        (multiprocessing's own helper aside)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]

    def printed_until_exit(self) -> list[str]:
        """Everything the stack printed that was not read yet, once it has exited."""
        self.reader.join(WAIT_S)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get_nowait())
        return rest

    def next_request_lines(self, count: int) -> list[re.Match[str]]:
        """The next `count` request log lines (other output skipped), waiting at most WAIT_S each."""
        found = []
        while len(found) < count:
            matched = REQUEST_LINE.match(self.lines.get(timeout=WAIT_S).rstrip("\n"))
            if matched:
                found.append(matched)
        return found


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """`afterglow local --workers 2` in a session of its own (so it can be sent Ctrl-C as a
    terminal sends it: to the whole process group)."""
    env_file = tmp_path / "local.env"
    command = [sys.executable, "-m", "afterglow_dev.cli", "local", "--port", "0", "--moto-port", "0"]
    command += ["--demo-port", "0", "--demo-orders", "0", "--workers", "2", "--env-file", str(env_file)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        printed = []
        while not (printed and printed[-1].startswith("ready:")):
            printed.append(lines.get(timeout=WAIT_S))
        yield Stack(process, read_env_file(env_file), lines, reader)
    finally:
        if process.poll() is None:  # the test failed half-way: the whole group goes
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=WAIT_S)


def _decision(api: str, key: str, order_id: str) -> requests.Response:
    order = {
        "order_id": order_id,
        "order_value_minor": 24900,
        "currency": "EUR",
        "line_items": [{"sku": "TENT-2P", "category": "camping", "price_minor": 24900}],
        "customer": {"email": f"{order_id}@example.com", "country": "DE"},
    }
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return requests.post(f"{api}/v1/decisions", data=json.dumps(order), headers=headers, timeout=30)


def test_requests_at_once_run_in_several_workers_each_logged_then_ctrl_c_stops_them_all(stack):
    api, key = stack.env["AFTERGLOW_API_URL"], stack.env["AFTERGLOW_DEMO_PUBLISHABLE_KEY"]
    spawned = stack.spawned()
    assert len(spawned) == 3  # two workers and the learning loop

    # Given six shoppers whose orders reach the gateway at the same moment
    start = threading.Barrier(6)
    answers: dict[int, int] = {}

    def shopper(n: int) -> None:
        start.wait(timeout=WAIT_S)
        answers[n] = _decision(api, key, f"gateway-{n}").status_code

    shoppers = [threading.Thread(target=shopper, args=(n,)) for n in range(6)]
    for thread in shoppers:
        thread.start()
    for thread in shoppers:
        thread.join(WAIT_S)

    # Then each got its offers, and the log has one line per request: method, path, status,
    # milliseconds and the worker — and more than one worker served them
    assert answers == dict.fromkeys(range(6), 200)
    logged = stack.next_request_lines(6)
    assert {(line["method"], line["path"], line["status"]) for line in logged} == {
        ("POST", "/v1/decisions", "200")
    }
    assert len({line["worker"] for line in logged}) >= 2, [line.string for line in logged]

    # And a route the template does not have is answered by the gateway itself (no worker)
    assert requests.get(f"{api}/v1/nowhere?key=pk_secret", timeout=30).status_code == 404
    (missing,) = stack.next_request_lines(1)
    assert missing.string == f"GET /v1/nowhere 404 {missing['ms']} ms -"  # never the query

    # When Ctrl-C reaches the terminal's process group
    os.killpg(stack.process.pid, signal.SIGINT)

    # Then the stack says so, exits cleanly, and no process of it outlives it
    assert stack.process.wait(timeout=WAIT_S) == 0
    assert "Stopping the local stack.\n" in stack.printed_until_exit()
    assert [pid for pid in spawned if Path(f"/proc/{pid}").exists()] == []

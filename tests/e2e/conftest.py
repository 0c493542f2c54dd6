"""The local stack as a newcomer runs it: `afterglow local` in its own process, driven over HTTP."""

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_LINES = 200  # bounded: the stack prints a dozen lines before "ready:"


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start `afterglow local` on free ports; yields the environment it wrote to its env file."""
    env_file = tmp_path_factory.mktemp("stack") / "local.env"
    command = [
        str(Path(sys.executable).with_name("afterglow")),
        "local",
        "--port",
        "0",
        "--moto-port",
        "0",
        "--demo-port",
        "0",
    ]
    process = subprocess.Popen(
        [*command, "--env-file", str(env_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
    )
    assert process.stdout is not None
    output = []
    for _ in range(STARTUP_LINES):
        line = process.stdout.readline()
        output.append(line)
        if line.startswith("ready:") or not line:
            break
    if not output[-1].startswith("ready:"):
        process.kill()
        pytest.fail("local stack did not start:\n" + "".join(output))
    # Keep draining the stack's output so that its logging never blocks on a full pipe.
    threading.Thread(target=lambda: [output.append(line) for line in process.stdout], daemon=True).start()
    try:
        yield {**_read_env(env_file), "ENV_FILE": str(env_file), "STARTUP_OUTPUT": "".join(output)}
    finally:
        process.terminate()
        process.wait(timeout=10)

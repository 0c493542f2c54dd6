"""Schemathesis against the local stack, from the served OpenAPI document: no 5xx, responses match
the schema. `make test` runs a short pass; `make fuzz` a long one (FUZZ_EXAMPLES).

The fuzzer holds the platform key and changes whatever it can (pauses retailers, revokes keys,
floods rate limits), so it gets a stack of its own: the session stack the other end-to-end tests
share must not depend on whether the fuzzer ran first, nor on how long a cache stays warm.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from afterglow_dev.local.load import local_stack_process

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local stack only the fuzzer uses."""
    with local_stack_process(tmp_path_factory.mktemp("fuzzed")) as env:
        yield env


@pytest.mark.parametrize("credential", ["AFTERGLOW_ADMIN_KEY", "AFTERGLOW_DEMO_PUBLISHABLE_KEY"])
def test_generated_requests_never_get_a_server_error(fuzzed_stack, credential, tmp_path):
    api = fuzzed_stack["AFTERGLOW_API_URL"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{api}/v1/openapi.json",
        "--url",
        api,
        "-H",
        f"Authorization: Bearer {fuzzed_stack[credential]}",
        "--max-examples",
        os.environ.get("FUZZ_EXAMPLES", "4"),
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--phases",
        os.environ.get("FUZZ_PHASES", "examples,fuzzing"),
        "--seed",
        "7",
        "--no-color",
    ]
    hooks = {"SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env={**os.environ, **hooks}
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]

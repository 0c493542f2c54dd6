"""Shared fixtures. Environment first: dummy credentials and region before any handler import."""

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "TOKEN_KEYS": "test:test-token-key-0123456789abcdef",
        "RATE_LIMIT_PER_IP_PER_S": "100000",  # tests send bursts from one address; one test lowers it
        "MODEL_PUBLISH_INTERVAL_SECONDS": "0",  # each learning-loop run publishes what changed
        # A busy shared machine must not turn a slow decision into a degraded one (the tests of the
        # deadline set their own).
        "DECISION_DEADLINE_MS": "10000",
        "EVALUATION_LOG_SHARE": "1",  # every decision logs its propensities (production: a tenth)
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto intercepts the real AWS endpoints

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from afterglow_dev.local import moto_speedups, moto_transactions
from afterglow_dev.local.gateway import load_function_module
from afterglow_dev.local.resources import create_data_resources
from afterglow_dev.local.template import Template

ROOT = Path(__file__).resolve().parent.parent
# moto's TransactWriteItems copies whole tables; the local stack's costs what its items cost.
moto_transactions.install()
# DynamoDB answers dumped as the JSON they already are, as the local stack does.
moto_speedups.install()


@pytest.fixture(scope="session")
def template() -> Template:
    return Template(ROOT / "template.yaml")


def reset_process_caches() -> None:
    """Forget settings, clients and warm caches so each test sees its own AWS."""
    from afterglow import warm

    warm.reset()


def _create_template_resources(template: Template, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    clients = {name: boto3.client(name) for name in ("dynamodb", "s3", "sqs")}
    names = create_data_resources(template, "test", clients)
    parameters = {**template.parameter_defaults(), "TokenKeys": os.environ["TOKEN_KEYS"]}
    for variable, value in template.environment(names, parameters).items():
        if not variable.startswith("POWERTOOLS_") and variable not in os.environ:
            monkeypatch.setenv(variable, value)
    reset_process_caches()
    return names


@pytest.fixture
def aws(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """In-process moto with every table, bucket and queue of template.yaml; yields local names."""
    with mock_aws():
        yield _create_template_resources(template, monkeypatch)
        reset_process_caches()


@pytest.fixture
def learning_loop(aws: dict[str, str], template: Template) -> Any:
    """The template's stream consumer (aggregator) and scheduled trainer, run on demand:
    `learning_loop.run_once()` folds what the ledger holds so far and publishes the model."""
    from afterglow_dev.local.learning_loop import LearningLoop

    return LearningLoop(template, aws)


@pytest.fixture
def moto_server_stores(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Stores on a moto server that applies requests one at a time, as DynamoDB applies each
    conditional write atomically: for tests that race threads against the same keys."""
    from afterglow.store import get_stores
    from afterglow_dev.local.moto_server import SerializedMotoServer

    server = SerializedMotoServer()
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    try:
        _create_template_resources(template, monkeypatch)
        yield get_stores()
    finally:
        reset_process_caches()
        server.stop()


_modules: dict[str, ModuleType] = {}


@pytest.fixture(scope="session")
def function_module(template: Template) -> Callable[[str], ModuleType]:
    """Import a function's app.py as Lambda would (by logical id, e.g. "DecideFunction")."""

    def load(logical_id: str) -> ModuleType:
        if logical_id not in _modules:
            spec = next(s for s in template.functions() if s.logical_id == logical_id)
            _modules[logical_id] = load_function_module(ROOT, spec)
        return _modules[logical_id]

    return load


@pytest.fixture
def stores(aws: dict[str, str]) -> Any:
    from afterglow.store import get_stores

    return get_stores()

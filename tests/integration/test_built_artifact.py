"""The artifact Lambda runs, built as `sam build` builds it, and nothing else on the path.

The shared-code layer comes from its make target, the dependencies layer from
layers/dependencies/requirements.txt (and what those require, copied from this environment). Each
function is then imported and invoked in an interpreter that sees only those and its own code,
against a moto server: a dev-only import or a missing runtime dependency fails here, not in AWS.
"""

import ast
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from afterglow_dev.artifact import DEV_ONLY, assemble_dependencies, build_shared_layer, clean_python
from tests.utils import seed_catalog, signed_headers

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> dict[str, Path]:
    workdir = tmp_path_factory.mktemp("artifact")
    return {
        "layer": build_shared_layer(workdir / "shared"),
        "dependencies": _dependencies(workdir / "dependencies" / "python"),
    }


def _dependencies(target: Path) -> Path:
    assemble_dependencies(target)
    return target


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_shared_layer_holds_no_dev_code_and_imports_no_dev_package(artifact):
    layer = artifact["layer"]
    assert [path.name for path in layer.iterdir()] == ["afterglow"]
    offenders = {
        str(path.relative_to(layer)): sorted(_imported_modules(path) & DEV_ONLY)
        for path in layer.rglob("*.py")
        if _imported_modules(path) & DEV_ONLY
    }
    assert offenders == {}
    assert not (layer / "afterglow" / "local").exists()


def test_the_dependencies_layer_holds_the_runtime_requirements_and_no_dev_tool(artifact):
    installed = {path.name.split("-")[0].lower() for path in artifact["dependencies"].glob("*.dist-info")}
    assert {
        "fastapi",
        "mangum",
        "pydantic",
        "boto3",
        "aws_lambda_powertools",
        "standardwebhooks",
    } <= installed
    assert not installed & {"moto", "werkzeug", "playwright", "matplotlib", "pytest"}


# Run in the clean interpreter: every function answers one sample event against the moto server.
_INVOKE_EVERY_FUNCTION = """
import importlib.util, json, sys
results = {}

class Context:
    function_name = "artifact"; memory_limit_in_mb = 1024; aws_request_id = "req-artifact"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:artifact"

def handler(name):
    spec = importlib.util.spec_from_file_location("app_" + name, f"{root}/functions/{name}/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler

root, events = sys.argv[1], json.loads(sys.argv[2])
for name, event in events.items():
    answer = handler(name.split("_")[0])(event, Context())
    results[name] = answer.get("statusCode", answer.get("status"))
    if name == "decide":
        results["offers"] = len(json.loads(answer["body"])["offers"])
import afterglow
results["afterglow_from"] = afterglow.__file__
print(json.dumps(results))
"""


def _event(name: str, **values: str) -> dict:
    text = (EVENTS / f"{name}.json").read_text()
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    return json.loads(text)


def test_every_function_runs_from_the_built_artifact_alone(artifact, moto_server_stores):
    # Given a seeded catalog on a moto server
    seeded = seed_catalog(moto_server_stores, category="coffee")
    body = json.dumps(
        {"click_id": "clk_unknown", "conversion_id": "conv-artifact", "action": "signup",
         "occurred_at": datetime.now(UTC).isoformat()}
    )  # fmt: skip
    signed = signed_headers(seeded.webhook_secret, body.encode(), msg_id="msg_artifact")
    webhook = _event("webhooks_post_conversion")
    headers = {**webhook["headers"], **signed, "afterglow-partner": seeded.partner_id}
    webhook["body"], webhook["headers"] = body, {**headers, "content-length": str(len(body))}
    events = {
        "decide": _event("decide_post_decision", PUBLISHABLE_KEY=seeded.publishable_key),
        "track_sdk": _event("track_get_sdk"),
        "webhooks": webhook,
        "admin_openapi": _event("admin_get_openapi"),
        "reconcile": json.loads((EVENTS / "reconcile_schedule.json").read_text()),
    }
    # When each function is imported and invoked from the layers as built, and nothing else
    paths = [artifact["layer"], artifact["dependencies"]]
    run = subprocess.run(
        [*clean_python(paths, _INVOKE_EVERY_FUNCTION), str(ROOT), json.dumps(events)],
        capture_output=True,
        text=True,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "ERROR"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    # Then every one answers as it does in the tests, from the layer's own package
    assert results["afterglow_from"].startswith(str(artifact["layer"]))
    assert (results["decide"], results["offers"]) == (200, 1)
    assert results["track_sdk"] == 200 and results["admin_openapi"] == 200
    assert results["webhooks"] == 200  # an unknown click: signed, verified, rejected with a reason
    assert results["reconcile"] == "ok"

"""template.yaml is valid (cfn-lint and the SAM transform, offline) and agrees with the code."""

import copy
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform

from afterglow.feedback import LEARNED_KINDS
from afterglow_dev.local.gateway import load_function_module
from afterglow_dev.local.template import Template
from tests.utils import http_routes

ROOT = Path(__file__).resolve().parents[2]


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only when a template names one; ours doesn't."""

    def load(self) -> dict[str, str]:
        return {}


def test_cfn_lint_finds_nothing(template: Template):
    result = subprocess.run(
        [Path(sys.executable).with_name("cfn-lint"), str(template.path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_transform_succeeds_offline(template: Template, monkeypatch: pytest.MonkeyPatch):
    # Given the template with local code paths swapped for S3 URIs, as `sam validate` does
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    document = copy.deepcopy(template.document)
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                assert (ROOT / properties[key]).is_dir(), f"{key} {properties[key]} does not exist"
                properties[key] = "s3://bucket/key"
    # When the SAM translator expands it
    output = transform(document, {"TokenKeys": "kid:0123456789abcdef0123"}, _NoManagedPolicies())
    # Then every function, the API stage and the nightly schedule exist as plain CloudFormation
    types = {resource["Type"] for resource in output["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGatewayV2::Api", "AWS::Scheduler::Schedule"} <= types


def test_every_template_route_has_a_handler_route_and_the_reverse(template: Template):
    for spec in template.functions():
        app = getattr(load_function_module(ROOT, spec), "app", None)
        code_routes = set()
        if app is not None:
            for route in http_routes(app):
                for method in getattr(route, "methods", None) or ():
                    if method != "HEAD":
                        code_routes.add(f"{method} {route.path}")
        template_routes = {route.route_key for route in spec.routes}
        assert code_routes == template_routes, spec.logical_id


def test_every_function_has_its_own_log_group_and_scoped_policies(template: Template):
    for spec in template.functions():
        properties = template.resources[spec.logical_id]["Properties"]
        log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert template.resources[log_group]["Properties"]["RetentionInDays"]
        for policy in properties["Policies"]:
            assert isinstance(policy, dict), f"{spec.logical_id}: use scoped SAM policy templates"


def test_data_resources_keep_pitr_ttl_encryption_and_public_access_block(template: Template):
    ledger = template.resources["LedgerTable"]["Properties"]
    catalog = template.resources["CatalogTable"]["Properties"]
    for table in (ledger, catalog):
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert ledger["TimeToLiveSpecification"]["Enabled"] is True
    bucket = template.resources["ReportsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"


def test_layer_requirements_match_the_package_dependencies():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [
        line.strip()
        for line in (ROOT / "layers/dependencies/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(layer) == sorted(declared)


def test_environment_variables_are_the_settings_the_code_reads(template: Template):
    from afterglow.settings import Settings

    variables = template.document["Globals"]["Function"]["Environment"]["Variables"]
    ours = {name for name in variables if not re.match(r"^(POWERTOOLS_|AWS_)", name)}
    assert {name.lower() for name in ours} <= set(Settings.model_fields)


def test_the_shared_layer_build_ships_the_package_its_data_and_its_bytecode(template: Template, tmp_path):
    # Given how template.yaml builds the shared-code layer
    layer = template.document["Resources"]["SharedCodeLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    # When `sam build` runs its make target (here without SAM)
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / layer["Properties"]["ContentUri"]), "build-SharedCodeLayer",
         f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={sys.executable}"],
        check=True,
    )  # fmt: skip
    # Then the package is under python/ with its data files and every module compiled
    package = tmp_path / "python" / "afterglow"
    assert (package / "openapi.json").is_file() and (package / "static" / "afterglow.js").is_file()
    sources = {path.stem for path in package.rglob("*.py")}
    compiled = {path.name.split(".")[0] for path in package.rglob("__pycache__/*.pyc")}
    assert sources and sources <= compiled


def test_the_aggregators_stream_filter_lets_through_exactly_the_kinds_learning_folds(template: Template):
    # The filter only spares invocations (the aggregator skips other kinds itself), but a kind it
    # leaves out is never learned: accepts and returns of add-ons were, once.
    events = template.document["Resources"]["AggregateFunction"]["Properties"]["Events"]
    (stream,) = (event for event in events.values() if event["Type"] == "DynamoDB")
    (pattern,) = stream["Properties"]["FilterCriteria"]["Filters"]
    kinds = json.loads(pattern["Pattern"])["dynamodb"]["NewImage"]["kind"]["S"]
    assert set(kinds) == LEARNED_KINDS

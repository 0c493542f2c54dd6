"""Reading template.yaml: functions, routes, data resources and environment, with refs resolved."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def pattern(self) -> re.Pattern[str]:
        """A regex for the path: `{name}` matches one path segment, everything else literally."""
        segments = [
            f"(?P<{segment[1:-1]}>[^/]+)" if segment.startswith("{") else re.escape(segment)
            for segment in self.path.split("/")
        ]
        return re.compile("^" + "/".join(segments) + "$")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    routes: list[Route] = field(default_factory=list)

    @property
    def app_path(self) -> str:
        module = self.handler.rsplit(".", 1)[0]
        return f"{self.code_uri.rstrip('/')}/{module}.py"


class Template:
    """A parsed SAM template (the SAM translator's own YAML parser understands !Ref/!Sub/!GetAtt)."""

    def __init__(self, path: Path) -> None:
        from samtranslator.yaml_helper import yaml_parse

        self.path = path
        self.root = path.parent
        self.document: dict[str, Any] = yaml_parse(path.read_text())

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.document["Resources"]
        return resources

    def functions(self) -> list[FunctionSpec]:
        """Every Lambda function with its HTTP API routes."""
        specs = []
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            props = resource["Properties"]
            routes = [
                Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id)
                for event in props.get("Events", {}).values()
                if event["Type"] == "HttpApi"
            ]
            specs.append(FunctionSpec(logical_id, props["CodeUri"], props["Handler"], routes))
        return specs

    def routes(self) -> list[Route]:
        return [route for spec in self.functions() for route in spec.routes]

    def stream_consumers(self) -> list[tuple[FunctionSpec, str, int]]:
        """Functions fed by a DynamoDB stream: (function, table logical id, batch size)."""
        consumers = []
        for spec in self.functions():
            for event in self.resources[spec.logical_id]["Properties"].get("Events", {}).values():
                if event["Type"] != "DynamoDB":
                    continue
                stream = event["Properties"]["Stream"]
                target = stream.get("Fn::GetAtt") if isinstance(stream, dict) else None
                table = target[0] if isinstance(target, list) else str(target or "").split(".")[0]
                consumers.append((spec, table, int(event["Properties"].get("BatchSize", 100))))
        return consumers

    def scheduled_functions(self) -> list[FunctionSpec]:
        """Functions run on a schedule (`Schedule` events; the state machine's nightly run aside)."""
        return [
            spec
            for spec in self.functions()
            if any(
                event["Type"] == "Schedule"
                for event in self.resources[spec.logical_id]["Properties"].get("Events", {}).values()
            )
        ]

    def data_resources(self) -> dict[str, dict[str, Any]]:
        """Tables, buckets and queues by logical id."""
        return {lid: r for lid, r in self.resources.items() if r["Type"] in DATA_RESOURCE_TYPES}

    def environment(self, physical_names: dict[str, str], parameters: dict[str, str]) -> dict[str, str]:
        """The functions' environment variables (Globals, then each function) with refs resolved."""
        variables: dict[str, Any] = dict(
            self.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        for spec in self.functions():
            props = self.resources[spec.logical_id]["Properties"]
            variables.update(props.get("Environment", {}).get("Variables", {}))
        return {name: self.resolve(value, physical_names, parameters) for name, value in variables.items()}

    def parameter_defaults(self) -> dict[str, str]:
        return {
            name: str(spec["Default"])
            for name, spec in self.document.get("Parameters", {}).items()
            if "Default" in spec
        }

    def resolve(self, value: Any, physical_names: dict[str, str], parameters: dict[str, str]) -> str:
        """Resolve a literal or a `!Ref` to a resource (its local name) or a parameter."""
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and set(value) == {"Ref"}:
            ref = value["Ref"]
            if ref in physical_names:
                return physical_names[ref]
            if ref in parameters:
                return parameters[ref]
            raise KeyError(f"template.yaml: cannot resolve !Ref {ref} locally")
        raise ValueError(f"template.yaml: unsupported environment value {value!r}")

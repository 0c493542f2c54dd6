"""The merged OpenAPI document of every HTTP function, generated from the FastAPI apps."""

import json
from pathlib import Path
from typing import Any

import afterglow
from afterglow_dev.local.gateway import load_function_module
from afterglow_dev.local.template import Template

# The runtime package ships the document (the admin function serves it at /v1/openapi.json).
DOCUMENT_PATH = Path(afterglow.__file__).with_name("openapi.json")


def merged_openapi(template: Template) -> dict[str, Any]:
    """One OpenAPI 3.1 document: the paths and schemas of every function routed in template.yaml."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Afterglow API",
            "version": "1",
            "description": "Post-purchase offers: decisions, tracking, partner conversions and admin.",
        },
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "pk_… or sk_…"}
            },
        },
        "security": [{"apiKey": []}],
    }
    for spec in template.functions():
        if not spec.routes:
            continue
        app = load_function_module(template.root, spec).app
        part = app.openapi()
        for path, operations in part.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        document["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
        document["components"]["schemas"].update(app.state.extra_schemas)
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    document["paths"] = dict(sorted(document["paths"].items()))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"

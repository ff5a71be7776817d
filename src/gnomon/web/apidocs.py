"""Interactive API docs at ``/docs``, rendered on the server from the app's own OpenAPI spec.

No Swagger UI: its assets come from a CDN (or a large bundle to vendor) and need inline
scripts the dashboard's CSP forbids. This page lists every operation with its parameters,
body fields and responses, and a "Try it" form per operation that the dashboard script
sends with ``fetch`` (with the token pasted at the top, kept only in the page).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gnomon.web.render import render

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    where: str  # path, query, header, body
    type: str
    required: bool
    note: str


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    tag: str
    summary: str
    description: str
    fields: list[Field] = field(default_factory=list)
    body: str | None = None  # a JSON skeleton of the request body
    responses: list[tuple[str, str]] = field(default_factory=list)
    secured: bool = False

    @property
    def anchor(self) -> str:
        return f"{self.method}-{self.path}".replace("/", "-").replace("{", "").replace("}", "")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return found
    return schema


def _type(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """A short type: ``integer``, ``string (date-time)``, ``JobIn``, ``array of string``,
    ``one of a, b``, with ``or null`` for optional values."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    if "anyOf" in schema:
        parts = [_type(spec, s) for s in schema["anyOf"]]
        return " or ".join(dict.fromkeys(parts))
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type(spec, schema.get('items', {}))}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _limits(schema: dict[str, Any]) -> str:
    words = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength") if k in schema]
    if "default" in schema:
        words.append(f"default {json.dumps(schema['default'])}")
    return "; ".join(words)


def _body(spec: dict[str, Any], op: dict[str, Any]) -> tuple[list[Field], str | None]:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return [], None
    schema = _resolve(spec, content["schema"])
    required = set(schema.get("required", []))
    fields, skeleton = [], {}
    for name, prop in schema.get("properties", {}).items():
        note = " ".join(filter(None, [prop.get("description", ""), _limits(prop)]))
        fields.append(Field(name, "body", _type(spec, prop), name in required, note))
        if name in required or prop.get("examples"):
            skeleton[name] = (prop.get("examples") or [""])[0]
    return fields, json.dumps(skeleton, indent=2)


def operations(spec: dict[str, Any]) -> list[Operation]:
    """Every operation of ``spec``, by tag, then path."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            fields = [
                Field(
                    p["name"],
                    p["in"],
                    _type(spec, p.get("schema", {})),
                    bool(p.get("required")),
                    " ".join(
                        filter(None, [p.get("description", ""), _limits(p.get("schema", {}))])
                    ),
                )
                for p in op.get("parameters", [])
            ]
            body_fields, body = _body(spec, op)
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    tag=(op.get("tags") or ["other"])[0],
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    fields=fields + body_fields,
                    body=body,
                    secured=bool(op.get("security")),
                    responses=[
                        (code, r.get("description", "")) for code, r in op["responses"].items()
                    ],
                )
            )
    return sorted(found, key=lambda o: (o.tag, o.path, METHODS.index(o.method.lower())))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The API reference (public, like the spec it is made from)."""
    spec = request.app.openapi()
    ops = operations(spec)
    tags = list(dict.fromkeys(o.tag for o in ops))
    return render(request, "apidocs.html", spec=spec, operations=ops, tags=tags)

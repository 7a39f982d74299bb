"""Every input the JSON API reads is bounded in /openapi.json (issue 17, point 7): integers
have a minimum and a maximum that fit the 32- or 64-bit columns behind them, strings a
maxLength, arrays a maxItems. Schemathesis (tests/contract/test_api_fuzz.py) then proves the
server keeps to what the document says; this test proves the document says it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_error_envelope import api_operations, resolve

MAX_INT = 2**63 - 1


def unbounded(doc: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """The places under ``schema`` where a client may send a value with no upper bound."""
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return []
        seen = seen | {ref}
    schema = resolve(doc, schema)
    out: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out += unbounded(doc, sub, where, seen)
    kind = schema.get("type")
    if kind == "integer":
        top = schema.get("maximum", schema.get("exclusiveMaximum"))
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if top is None or low is None or top > MAX_INT or low < -MAX_INT:
            out.append(f"{where}: integer without minimum/maximum")
    elif kind == "number":
        if schema.get("maximum", schema.get("exclusiveMaximum")) is None:
            out.append(f"{where}: number without maximum")
    elif kind == "string":
        fixed = {"maxLength", "enum", "const"} & set(schema)
        if not fixed and schema.get("format") not in {"binary", "date", "date-time", "time"}:
            out.append(f"{where}: string without maxLength")
    elif kind == "array":
        if "maxItems" not in schema:
            out.append(f"{where}: array without maxItems")
        out += unbounded(doc, schema.get("items", {}), f"{where}[]", seen)
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            out += unbounded(doc, sub, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                out.append(f"{where}: map without maxProperties")
            out += unbounded(doc, extra, f"{where}.*", seen)
    return out


def inputs_of(doc: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for method, path, op in api_operations(doc):
        for param in op.get("parameters", []):
            where = f"{method} {path} {param['in']}.{param['name']}"
            found += unbounded(doc, param.get("schema", {}), where, set())
        for media, body in op.get("requestBody", {}).get("content", {}).items():
            found += unbounded(doc, body.get("schema", {}), f"{method} {path} body({media})", set())
    return found


async def test_every_input_is_bounded(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    found = inputs_of(doc)
    assert found == [], "\n".join(found)


def test_the_checker_finds_an_unbounded_field() -> None:
    doc = {
        "components": {
            "schemas": {
                "In": {
                    "type": "object",
                    "properties": {
                        "n": {"type": "integer", "minimum": 1},
                        "s": {"type": "string", "maxLength": 5},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        }
    }
    got = unbounded(doc, {"$ref": "#/components/schemas/In"}, "body", set())
    assert got == [
        "body.n: integer without minimum/maximum",
        "body.tags: array without maxItems",
        "body.tags[]: string without maxLength",
    ]

"""Which schema locations are requests (documents activity-core sends) and which answers.

A location's role comes from the roots that reach it through ``$ref``: the strict
client documents and the OpenAPI request bodies and parameters are requests; the
OpenAPI responses, the hub's resources and the manifest are answers. A location no
root reaches (an unused definition) has no role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

REQUEST, RESPONSE = "request", "response"

# Roots every contract version has, whether or not it carries an OpenAPI document.
# The State Hub progress records are written by activity-core, so they are its documents.
FIXED_ROOTS: tuple[tuple[str, str, str], ...] = (
    ("interaction-event.schema.json", "", REQUEST),
    ("interaction-event.schema.json", "/$defs/InteractionEventRequest", REQUEST),
    ("interaction-event.schema.json", "/$defs/InteractionEvent", RESPONSE),
    ("widget.schema.json", "", REQUEST),
    ("widget.schema.json", "/$defs/WidgetCreateRequest", REQUEST),
    ("widget.schema.json", "/$defs/Widget", RESPONSE),
    ("widget.schema.json", "/$defs/WidgetVersion", RESPONSE),
    ("widget-mapping.schema.json", "", REQUEST),
    ("state-hub-progress.schema.json", "", REQUEST),
    ("vocabulary.schema.json", "", REQUEST),
    ("manifest.schema.json", "", RESPONSE),
    ("common.schema.json", "/$defs/Error", RESPONSE),
    ("common.schema.json", "/$defs/Page", RESPONSE),
    ("common.schema.json", "/$defs/Hub", RESPONSE),
    ("common.schema.json", "/$defs/Consumer", RESPONSE),
    ("common.schema.json", "/$defs/RegistryEntry", RESPONSE),
)

# Schemas of the tool's own files (the register), not of documents exchanged with a hub.
TOOLING_SCHEMAS = frozenset({"assumptions.schema.json"})

Marks = dict[str, dict[str, set[str]]]


def _resolve(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.split("/")[1:]:
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            return None
    return node


def _target(current: str, ref: str) -> tuple[str, str]:
    file, _, fragment = ref.partition("#")
    return (file.rsplit("/", 1)[-1] or current), fragment


def _children(node: Any, pointer: str) -> list[tuple[str, Any]]:
    # Definitions are reached through `$ref` only, not by standing in a root's document.
    if isinstance(node, dict):
        return [(f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}", v)
                for k, v in node.items() if k not in ("$defs", "definitions")]
    if isinstance(node, list):
        return [(f"{pointer}/{index}", value) for index, value in enumerate(node)]
    return []


def _mark(schemas: dict[str, Any], roots: list[tuple[str, str, str]]) -> Marks:
    marks: Marks = {}
    stack = list(roots)
    while stack:
        file, pointer, role = stack.pop()
        seen = marks.setdefault(file, {}).setdefault(pointer, set())
        if role in seen or file not in schemas:
            continue
        seen.add(role)
        node = _resolve(schemas[file], pointer)
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            stack.append((*_target(file, node["$ref"]), role))
        stack.extend((file, child, role) for child, _ in _children(node, pointer))
    return marks


def _openapi_roots(openapi: Any) -> list[tuple[str, str, str]]:
    """Schema files the OpenAPI document's requests and answers point at (local refs followed)."""
    found: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    stack: list[tuple[Any, str | None]] = [((openapi or {}).get("paths"), None)]
    while stack:
        node, role = stack.pop()
        if isinstance(node, list):
            stack.extend((value, role) for value in node)
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if role and isinstance(ref, str):
            if not ref.startswith("#"):
                found.append((*_target("", ref), role))
            elif (ref, role) not in seen:
                seen.add((ref, role))
                stack.append((_resolve(openapi, ref[1:]), role))
        for key, value in node.items():
            stack.append((value, _role_of(key, role)))
    return found


def _role_of(key: str, inherited: str | None) -> str | None:
    if inherited:
        return inherited
    if key in ("requestBody", "parameters"):
        return REQUEST
    if key == "responses":
        return RESPONSE
    return None


def schema_roles(schemas: dict[str, Any], openapi: Any = None) -> Marks:
    """file -> pointer -> roles, for every location of ``schemas`` a root reaches."""
    roots = [root for root in FIXED_ROOTS if root[0] in schemas]
    roots += [(name, "", REQUEST) for name in schemas if name not in TOOLING_SCHEMAS
              and not any(root[0] == name and root[1] == "" for root in FIXED_ROOTS)]
    if openapi is not None:
        roots += _openapi_roots(openapi)
    return _mark(schemas, roots)

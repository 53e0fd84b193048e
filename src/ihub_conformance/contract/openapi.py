"""The contract's OpenAPI document, and a self-contained bundle of it.

`contracts/<version>/openapi.yaml` points into the contract's JSON Schema files with
relative `$ref`s (one source of truth), and those files point at each other through their
`$id`s under https://ihub-conformance.invalid/ - a host that can never be fetched. OpenAPI
tools that follow `$ref`s over the network (Schemathesis among them) therefore get
``bundle_openapi()``: the same document with every referenced schema copied into
``components/schemas`` and every `$ref` rewritten to point there, resolved offline through
the contract's `referencing` registry.

Bundled component names are ``<file stem>.<$defs name>`` (``widget.WidgetCreateRequest``)
or the file stem for a whole document (``manifest``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import yaml
from referencing.exceptions import Unresolvable

from ihub_conformance.contract.loader import DEFAULT_VERSION, ID_BASE, load_contract
from ihub_conformance.documents import read_text
from ihub_conformance.errors import InputError

_COMPONENT = "#/components/schemas/"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def openapi_path(version: str = DEFAULT_VERSION) -> Path:
    """The version's openapi.yaml; a version without one shares v1's document."""
    own = load_contract(version).openapi_path
    return own if own.is_file() else load_contract("v1").openapi_path


def load_openapi(version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """The OpenAPI document as written (relative `$ref`s into the schema files)."""
    path = openapi_path(version)
    try:
        document = yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        raise InputError(str(path), "not valid YAML") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.1"):
        raise InputError(str(path), "not an OpenAPI 3.1 document", field="openapi")
    return document


def document_uri(version: str = DEFAULT_VERSION) -> str:
    """The base URI of the version's OpenAPI document: beside its schema files' `$id`s."""
    return f"{ID_BASE}/{version}/openapi.yaml"


def component_name(uri: str) -> str:
    """``.../v1/widget.schema.json#/$defs/Widget`` -> ``widget.Widget``."""
    resource, fragment = urldefrag(uri)
    stem = resource.rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".schema")
    pointer = fragment.removeprefix("/$defs/") if fragment.startswith("/$defs/") else fragment
    parts = [stem] + [part for part in pointer.split("/") if part]
    return _SAFE_NAME.sub("_", ".".join(parts))


class _Bundler:
    """Copies referenced schemas into components, rewriting `$ref`s as it goes."""

    def __init__(self, version: str, base: str) -> None:
        self.base = base
        self.resolver = load_contract(version).registry.resolver()
        self.components: dict[str, Any] = {}
        self._names: dict[str, str] = {}  # absolute URI -> component name

    def document(self, node: Any) -> Any:
        """Rewrite the OpenAPI document itself (its own `#/...` refs stay as they are)."""
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
                    out[key] = self._ref(urljoin(self.base, value))
                else:
                    out[key] = self.document(value)
            return out
        if isinstance(node, list):
            return [self.document(item) for item in node]
        return copy.deepcopy(node)

    def _ref(self, uri: str) -> str:
        if uri not in self._names:
            name = component_name(uri)
            if name in self.components:  # two URIs, one name: keep both apart
                name = f"{name}_{len(self.components)}"
            self._names[uri] = name
            try:
                resolved = self.resolver.lookup(uri)
            except Unresolvable:
                raise InputError(self.base, f"$ref {uri} does not resolve offline",
                                 field="$ref") from None
            self.components[name] = None  # reserve the name before recursing (cycles)
            base = urldefrag(uri)[0]
            self.components[name] = self._schema(resolved.contents, base)
        return _COMPONENT + self._names[uri]

    def _schema(self, node: Any, base: str) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                base = urljoin(base, node["$id"])
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key in ("$id", "$schema", "$defs"):
                    continue  # the copy lives under components; its $defs become components
                if key == "$ref" and isinstance(value, str):
                    out[key] = self._ref(urljoin(base, value))
                else:
                    out[key] = self._schema(value, base)
            return out
        if isinstance(node, list):
            return [self._schema(item, base) for item in node]
        return node


def bundle_openapi(version: str = DEFAULT_VERSION, assumptions: Any = None) -> dict[str, Any]:
    """The OpenAPI document with every schema `$ref` resolved into ``components/schemas``.

    Self-contained: no `$ref` leaves the document, so any OpenAPI tool can load it offline
    (``schemathesis.openapi.from_dict(bundle_openapi())``). With ``assumptions`` the
    document speaks that register's dialect (``dialect_openapi``).
    """
    bundler = _Bundler(version, document_uri(version))
    bundled = bundler.document(load_openapi(version))
    schemas = bundled.setdefault("components", {}).setdefault("schemas", {})
    clash = sorted(set(schemas) & set(bundler.components))
    if clash:
        raise InputError(str(openapi_path(version)), f"component name taken: {clash[0]}",
                         field="components/schemas")
    schemas.update(bundler.components)
    bundled["info"] = dict(bundled.get("info", {}), version=version)
    return bundled if assumptions is None else dialect_openapi(bundled, assumptions)


# -- the document in a hub's dialect (the register's values, not the file's defaults) --------

_DEFAULT_PATHS = {  # the paths as openapi.yaml writes them -> register path names
    "/api/v2/widgets/{id}": "widget", "/api/v2/widgets/{id}/versions": "widget_versions",
    "/api/v2/event-types": "event_types", "/api/v2/widget-types": "widget_types",
    "/api/v2/policy-scopes": "policy_scopes", "/api/v2/hubs": "hubs",
    "/api/v2/hubs/{slug}/manifest": "manifest", "/api/v2/consumer": "consumer",
    "/api/v2/openapi.yaml": "openapi", "/api/v2/widgets": "widgets",
    "/api/v2/interaction-events": "interaction_events",
}
# the documented error statuses -> the register's rejection case
_REJECTION_CASES = {"400": "validation", "401": "unauthorized", "404": "not_found",
                    "413": "payload_too_large", "415": "unsupported_media_type",
                    "422": "unknown_reference"}
_PAGE_SCHEMAS = ("WidgetPage", "WidgetVersionPage", "InteractionEventPage", "RegistryPage",
                 "HubPage")


def dialect_openapi(bundled: dict[str, Any], asm: Any) -> dict[str, Any]:
    """``bundled`` rewritten for the register's dialect: paths, security, parameters,
    statuses, page and error shapes, rate-limit headers; reads the hub lacks left out."""
    from ihub_conformance.contract import dialect

    doc = copy.deepcopy(bundled)
    doc["paths"] = _dialect_paths(doc["paths"], asm)
    _dialect_security(doc, asm)
    _dialect_parameters(doc, asm)
    schemas = doc["components"]["schemas"]
    schemas["Error"] = dialect.error_schema(asm)
    for name in _PAGE_SCHEMAS:
        rows = schemas[name].get("properties", {}).get("data", {}).get("items")
        schemas[name] = dialect.page_schema(asm, rows)
    for operation in _operation_objects(doc):
        operation["responses"] = _dialect_responses(operation["responses"], operation, asm)
    _dialect_headers(doc, asm)
    return doc


def _operation_objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in doc["paths"].values() for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")]


def _dialect_paths(paths: dict[str, Any], asm: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, item in paths.items():
        name = _DEFAULT_PATHS.get(path)
        if name is None:  # the State Hub
            out[asm.get("state_hub.path") if path == "/progress/" else path] = item
            continue
        if not asm.serves(name):
            continue
        if not asm.needs_key(name):
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["security"] = []
        out[asm.get(f"paths.{name}")] = item
    return out


def _dialect_security(doc: dict[str, Any], asm: Any) -> None:
    auth = asm.values["auth"]
    schemes = doc["components"]["securitySchemes"]
    schemes.clear()
    if not auth["header"]:
        doc["security"] = []
        return
    if auth["header"].lower() == "authorization" and (auth["scheme"] or "").lower() == "bearer":
        schemes["hubKey"] = {"type": "http", "scheme": "bearer"}
    else:  # a named header, bare or with another scheme word (`Token <key>`)
        schemes["hubKey"] = {"type": "apiKey", "in": "header", "name": auth["header"]}
    schemes["hubKey"]["description"] = (
        f"The API consumer key in `{auth['header']}`"
        + (f" as `{auth['scheme']} <key>`" if auth["scheme"] else "") + " (ASM-01).")
    doc["security"] = [{"hubKey": []}]


def _dialect_parameters(doc: dict[str, Any], asm: Any) -> None:
    pag = asm.values["pagination"]
    params = doc["components"]["parameters"]
    params["page"]["name"] = pag["page_param"]
    params["page"]["schema"].update(minimum=pag["first_page"], default=pag["first_page"])
    params["pageSize"]["name"] = pag["size_param"]
    params["pageSize"]["schema"].update(maximum=pag["max_size"], default=pag["default_size"])


def _status_keys(spec: Any) -> list[str]:
    if isinstance(spec, list):
        return [str(code) for code in spec]
    if isinstance(spec, int):
        return [str(spec)]
    return ["2XX"] if spec == "2xx" else ["4XX"]


def _dialect_responses(responses: dict[str, Any], operation: dict[str, Any], asm: Any
                       ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rejections = asm.values["status"]["rejections"]
    for status, response in responses.items():
        if status == "201":
            created = "create_widget" if operation.get("operationId") == "createWidget" \
                else "create_event"
            keys = _status_keys(asm.values["status"][created])
        elif status in _REJECTION_CASES:
            keys = _status_keys(rejections[_REJECTION_CASES[status]])
            if status == "400":  # an out-of-range page answers the bad_page spec
                keys += _status_keys(rejections["bad_page"])
        else:
            keys = [status]
        for key in keys:
            out.setdefault(key, response)
    return out


def _dialect_headers(doc: dict[str, Any], asm: Any) -> None:
    """Rate-limit headers renamed (or dropped) in every response that lists them."""
    rate = asm.values["rate_limit"]
    renames = {"X-RateLimit-Limit": rate["limit_header"],
               "X-RateLimit-Remaining": rate["remaining_header"],
               "X-RateLimit-Reset": rate["reset_header"]}
    responses = [r for op in _operation_objects(doc) for r in op["responses"].values()]
    responses += list(doc["components"].get("responses", {}).values())
    for response in responses:
        headers = response.get("headers") if isinstance(response, dict) else None
        if not headers:
            continue
        new = {renames.get(name, name): value for name, value in headers.items()
               if renames.get(name, name)}
        response["headers"] = new

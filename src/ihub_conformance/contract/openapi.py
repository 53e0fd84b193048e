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


def bundle_openapi(version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """The OpenAPI document with every schema `$ref` resolved into ``components/schemas``.

    Self-contained: no `$ref` leaves the document, so any OpenAPI tool can load it offline
    (``schemathesis.openapi.from_dict(bundle_openapi())``).
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
    return bundled

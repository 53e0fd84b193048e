"""The one validation engine: compiled contract validators, cached per (version, kind).

The CLI, the conformance suite, the gate and the event-stream validator all go
through :func:`validator_for`. Schemas are compiled once with jsonschema-rs
against an offline registry built from the contract files (nothing is ever
fetched); schema errors become :class:`Violation` objects whose pointers are
RFC 6901 pointers into the instance and whose reasons are written for the
person fixing the document. Rules a schema cannot express well (the
idempotency key, early-proposal names and their live replacements, list
order and duplicates) are domain checks on top.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

import jsonschema_rs

from ihub_conformance.contract.loader import Contract, load_contract, refuse_retrieval
from ihub_conformance.documents import pointer
from ihub_conformance.documents import pointer_token as escape
from ihub_conformance.errors import ConformanceError
from ihub_conformance.validation import rules as _domain
from ihub_conformance.validation.rules import Violation

# kind -> (schema short name, $defs entry or None for the root)
KINDS: dict[str, tuple[str, str | None]] = {
    "mapping": ("widget-mapping", "MappingDocument"),
    "event": ("interaction-event", None),
    "manifest": ("manifest", None),
    "widget": ("widget", None),
    "progress": ("state-hub-progress", None),
    "widget-resource": ("widget", "Widget"),
    "widget-request": ("widget", "WidgetCreateRequest"),
    "widget-version": ("widget", "WidgetVersion"),
    "event-resource": ("interaction-event", "InteractionEvent"),
    "event-request": ("interaction-event", "InteractionEventRequest"),
    "progress-event": ("state-hub-progress", "ProgressEvent"),
    "vocabulary": ("vocabulary", None),
    "error": ("common", "Error"),
    "pagination": ("common", "Pagination"),
    "page": ("common", "Page"),
    "hub": ("common", "Hub"),
    "consumer": ("common", "Consumer"),
    "registry-entry": ("common", "RegistryEntry"),
}

# Config keys under which activity-core accepts the mapping document.
MAPPING_WRAPPERS = ("widget_mapping", "capability_mapping")

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def unwrap_mapping(doc: Any) -> tuple[Any, str]:
    """The mapping document and the pointer prefix it sits under.

    activity-core reads the same document bare or under ``widget_mapping`` /
    ``capability_mapping``; a one-key wrapper is unwrapped.
    """
    if isinstance(doc, dict) and len(doc) == 1:
        (key,) = doc
        if key in MAPPING_WRAPPERS:
            return doc[key], "/" + key
    return doc, ""


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


class ContractValidator:
    """A compiled validator for one kind of document of one contract version."""

    def __init__(self, contract: Contract, kind: str) -> None:
        schema_name, definition = KINDS[kind]
        self.kind = kind
        self.version = contract.version
        self.schema_id = contract.schema_id(schema_name)
        entry = self.schema_id + (f"#/$defs/{definition}" if definition else "")
        self.entry = entry
        self._documents = {schema["$id"]: schema for schema in contract.schemas.values()}
        registry = jsonschema_rs.Registry(
            [(uri, schema) for uri, schema in self._documents.items()],
            retriever=refuse_retrieval,
        )
        root = contract.schemas[schema_name]
        schema = {"$schema": root["$schema"], "$ref": entry} if definition else root
        self._compiled = jsonschema_rs.validator_for(
            schema, registry=registry, validate_formats=True, retriever=refuse_retrieval
        )
        self._fast_is_valid = self._compiled.is_valid
        # The compiled schema alone (raises ValueError on non-JSON data): for hot loops that
        # inline the domain rules, like the event stream's idempotency-key check.
        self.compiled_is_valid: Callable[[Any], bool] = self._compiled.is_valid
        self._vocab = _domain.Vocabulary.from_contract(contract)
        self.key_separator = self._vocab.separator
        self._domain: Callable[[Any], Sequence[Violation]] = _domain.checks_for(kind, self._vocab)
        self._advisories = _domain.advisories_for(kind, self._vocab)
        self._unwraps = kind == "mapping"
        self._node_cache: dict[str, dict[str, Any] | None] = {}

    # -- public -----------------------------------------------------------

    def is_valid(self, doc: Any) -> bool:
        """True when the document meets the contract (no error objects are built)."""
        if self._unwraps:
            doc, _ = unwrap_mapping(doc)
        try:
            return self._fast_is_valid(doc) and not self._domain(doc)
        except ValueError:  # not JSON data (e.g. a datetime or a non-string key)
            return False

    def schema_is_valid(self, doc: Any) -> bool:
        """The schema alone, without the domain rules (for cross-checking other engines)."""
        if self._unwraps:
            doc, _ = unwrap_mapping(doc)
        return self._fast_is_valid(doc)

    def violations(self, doc: Any) -> list[Violation]:
        """Every violation, sorted by pointer; empty when the document is valid."""
        # The yes/no check first: no error objects are built for a valid document.
        return [] if self.is_valid(doc) else self.violations_of_invalid(doc)

    def violations_of_invalid(self, doc: Any) -> list[Violation]:
        """`violations` for a document the caller already found invalid (no pre-check)."""
        prefix = ""
        if self._unwraps:
            doc, prefix = unwrap_mapping(doc)
        try:
            found = self._collect(doc)
        except ValueError as exc:
            # jsonschema-rs only takes JSON data; name the offending Python type.
            found = {Violation("", f"not a JSON document: {exc}")}
        if prefix:
            found = {Violation(prefix + v.pointer, v.reason) for v in found}
        return sorted(found)

    def advisories(self, doc: Any) -> list[Violation]:
        """Warnings that break no rule (e.g. a mapping covering fewer first-slice types)."""
        prefix = ""
        if self._unwraps:
            doc, prefix = unwrap_mapping(doc)
        return sorted(Violation(prefix + v.pointer, v.reason) for v in self._advisories(doc))

    def _collect(self, doc: Any) -> set[Violation]:
        # No is_valid pre-check: callers reach this for documents already found invalid
        # (the fast closures below), and iter_errors yields nothing for a valid one.
        domain = set(self._domain(doc))
        found = set(domain)
        for error in self._compiled.iter_errors(doc):
            converted = self._convert(error)
            # A whole-list finding (uniqueItems, maxContains) the domain rule already
            # pins to the repeated item: one finding, at the item.
            if error.kind.name in _LIST_KINDS and _pinned_below(converted, domain):
                continue
            found.update(converted)
        return found

    # -- schema error -> violation -----------------------------------------

    def _convert(self, error: Any) -> list[Violation]:
        where = pointer(error.instance_path)
        kind = error.kind
        name = kind.name
        details = kind.as_dict()
        value = error.instance
        if name == "required":
            prop = details["property"]
            return [Violation(f"{where}/{escape(prop)}", f"missing required field {prop!r}")]
        if name in ("unevaluatedProperties", "additionalProperties"):
            unexpected = details.get("unexpected") or []
            return [
                Violation(
                    f"{where}/{escape(prop)}",
                    f"unexpected field {_show(prop)}: not part of the {self.version} contract",
                )
                for prop in unexpected
            ] or [Violation(where, "unexpected field: not part of the contract")]
        return [Violation(where, self._reason(name, details, value, error))]

    def _reason(self, name: str, details: dict[str, Any], value: Any, error: Any) -> str:
        node = self._parent_node(error.absolute_keyword_location)
        custom = node.get("x-reason") if node else None
        if name == "propertyNames" and node:  # the failing name's own subschema explains
            custom = (node.get("propertyNames") or {}).get("x-reason") or custom
        if name == "enum" and custom and not (isinstance(value, str)
                                              and value in self._vocab.special):
            return str(custom)
        if name == "enum":
            special = self._vocab.special.get(value) if isinstance(value, str) else None
            if special:
                return special
            title = (node or {}).get("title", "value")
            choices = details.get("options", [])
            options = ", ".join(str(option) for option in choices)
            if choices and json_type(value) not in {json_type(option) for option in choices}:
                return f"wrong type: {title} must be one of: {options}; got {json_type(value)}"
            return f"unknown {title} {_show(value)}; expected one of: {options}"
        if name == "type":
            expected = " or ".join(details.get("types", []))
            return f"wrong type: expected {expected}, got {json_type(value)}"
        if name == "const" and custom:
            return str(custom)
        if name == "const":
            return f"wrong value {_show(value)}: must be {details.get('expected_value')!r}"
        if (name == "not" and isinstance(value, str) and value in self._vocab.special
                and "enum" in details.get("schema", {})):
            return self._vocab.special[value]
        if custom and name in _CUSTOM_KINDS:
            if node and "x-secret-patterns" in node and isinstance(value, str):
                return _secret_kind(node, value) or str(custom)
            return str(custom)
        if name == "format":
            return f"bad format: not a valid {details.get('format')}"
        if name == "pattern":
            return f"pattern: does not match {details.get('pattern')}"
        if name == "minLength":
            return "empty: empty string" if value == "" else "too short"
        if name == "maxLength":
            return f"too long: more than {details.get('limit')} characters"
        if name == "minItems":
            return "empty: list must not be empty" if value == [] else "too few items"
        if name == "maxItems":
            return f"too many items: at most {details.get('limit')}"
        if name == "uniqueItems":
            return "duplicate: list items must be unique"
        if name in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            return f"out of range: {name} {details.get('limit')}"
        if name in ("not", "falseSchema"):
            return "not allowed here"
        return f"invalid ({name})"

    def _parent_node(self, location: str | None) -> dict[str, Any] | None:
        """The schema object holding the failing keyword (for its x-reason / title)."""
        if not location:
            return None
        cached = self._node_cache.get(location, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        uri, _, fragment = location.partition("#")
        node: Any = self._documents.get(uri)
        tokens = [unquote(t).replace("~1", "/").replace("~0", "~") for t in fragment.split("/")[1:]]
        for token in tokens[:-1]:
            if isinstance(node, dict):
                node = node.get(token)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                node = None
                break
        result = node if isinstance(node, dict) else None
        if len(self._node_cache) < 4096:
            self._node_cache[location] = result
        return result


# Keywords whose failure reads the schema node's x-reason.
_CUSTOM_KINDS = frozenset({"not", "pattern", "format", "falseSchema", "contains",
                           "uniqueItems", "propertyNames"})
_LIST_KINDS = frozenset({"uniqueItems", "contains"})


def _pinned_below(found: list[Violation], domain: set[Violation]) -> bool:
    """True when a domain violation sits below every one of `found`'s pointers."""
    return bool(found) and all(
        any(d.pointer.startswith(v.pointer + "/") for d in domain) for v in found)


def _show(value: Any) -> str:
    """Echo a value only when it is a short plain name; never echo possible secrets."""
    if isinstance(value, str) and _domain.is_plain_name(value):
        return repr(value)
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    return f"(a {json_type(value)})"


_secret_patterns: dict[int, list[tuple[str, re.Pattern[str]]]] = {}


def _secret_kind(node: dict[str, Any], value: str) -> str | None:
    """Which of the node's secret patterns the value matches (error path only)."""
    compiled = _secret_patterns.get(id(node))
    if compiled is None:
        compiled = [(reason, re.compile(pattern)) for reason, pattern in node["x-secret-patterns"]]
        _secret_patterns[id(node)] = compiled
    for reason, pattern in compiled:
        if pattern.search(value):
            return reason
    return None


_lock = threading.Lock()


@functools.lru_cache(maxsize=64)
def _cached(kind: str, version: str) -> ContractValidator:
    return ContractValidator(load_contract(version), kind)


def validator_for(kind: str, version: str = "v1") -> ContractValidator:
    """The compiled validator for ``kind`` (mapping, event, manifest, widget, progress, ...)."""
    if kind not in KINDS:
        raise ConformanceError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    with _lock:
        return _cached(kind, str(version))


def violations(kind: str, doc: Any, version: str = "v1") -> list[Violation]:
    """Shortcut: ``validator_for(kind, version).violations(doc)``."""
    return validator_for(kind, version).violations(doc)

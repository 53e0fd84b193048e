"""Two-tier event check for streams: one raw-line regex, then a structure-only schema.

Most of the event schema's cost is per string: every metadata value goes through
SafeString's secret-pattern alternation and its blank check. A JSON line holds each string
verbatim between quotes (an escape puts a backslash in the line, and a backslash is a
secret_scan prefilter anchor), so one regex over the raw line can prove that no string in
it can match those patterns. This module derives, from the loaded contract itself:

* `guard`: a compiled pattern over the raw line that matches whenever a removed check
  could fail: the secret_scan prefilter, each removed `not: {pattern}` with its `^`/`$`
  anchors read as the string's quotes, and a whitespace-only string for the blank check;
* `structure`: the contract's event validator compiled from a copy of the schemas with
  exactly those checks removed (everything else, token-like values included, stays).

A line the guard passes is judged by `structure` (same verdict as the full schema, see
tests/test_stream_guard.py); a line it flags is judged by the full schema.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from ihub_conformance.contract.loader import load_contract, refuse_retrieval
from ihub_conformance.secrets import scan as secret_scan
from ihub_conformance.stream._regex import quotes_for_anchors
from ihub_conformance.validation.engine import KINDS

__all__ = ["StreamTiers", "quotes_for_anchors", "stream_tiers"]

_NEGATED_CLASS = re.compile(r"^\[\^([^\[\]]+)\]$")


@dataclass(frozen=True)
class StreamTiers:
    """`guard(text)` True = the raw line is clean; then `structure(doc)` is the verdict."""

    guard: Callable[[str], bool]
    structure: Callable[[Any], bool]
    guard_pattern: str
    removed: int  # checks moved from the schema to the guard (0: the two tiers are one)


def _strip(node: Any, guards: list[str]) -> None:
    """Remove, in place, the per-string secret and blank checks a raw-line guard covers."""
    if isinstance(node, list):
        for item in node:
            _strip(item, guards)
        return
    if not isinstance(node, dict):
        return
    parts = node.get("allOf")
    if isinstance(parts, list):
        kept = []
        for part in parts:
            negated = part.get("not") if isinstance(part, dict) else None
            if ("x-secret-patterns" in part and isinstance(negated, dict)
                    and set(negated) == {"type", "pattern"} and negated["type"] == "string"):
                guards.append(quotes_for_anchors(negated["pattern"]))
                continue
            kept.append(part)
        if len(kept) < len(parts):  # this is a SafeString: its blank check goes too
            node["allOf"] = kept
            blank = node.get("pattern")
            match = _NEGATED_CLASS.match(blank) if isinstance(blank, str) else None
            if match:  # "has a character outside X" fails only for strings of X's
                guards.append(f'"[{match.group(1)}]*"')
                del node["pattern"]
    for value in node.values():
        _strip(value, guards)


@functools.lru_cache(maxsize=8)
def stream_tiers(version: str = "v1") -> StreamTiers:
    """The guard and structure-only validator for the `event` kind of a contract version."""
    contract = load_contract(version)
    schemas = copy.deepcopy(contract.schemas)
    guards: list[str] = []
    for schema in schemas.values():
        _strip(schema, guards)
    documents = {schema["$id"]: schema for schema in schemas.values()}
    registry = jsonschema_rs.Registry(list(documents.items()), retriever=refuse_retrieval)
    name, definition = KINDS["event"]
    assert definition is None
    structure = jsonschema_rs.validator_for(schemas[name], registry=registry,
                                            validate_formats=True, retriever=refuse_retrieval)
    pattern = "|".join([f"(?:{secret_scan.PREFILTER_PATTERN})",
                        *(f"(?-i:{g})" for g in dict.fromkeys(guards))])
    guard = jsonschema_rs.validator_for({"not": {"pattern": pattern}},
                                        pattern_options=jsonschema_rs.RegexOptions())
    return StreamTiers(guard.is_valid, structure.is_valid, pattern, len(guards))

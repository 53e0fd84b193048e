"""Which way a JSON Schema change moves the set of valid documents.

No maintained library compares two JSON Schema 2020-12 documents (oasdiff and
Specmatic read OpenAPI only; ``jsonschema-diff``-style tools report text edits,
not direction), so this walks both schemas keyword by keyword. Each keyword
change is a `SchemaEdit` with an effect: ``narrow`` (some document that was
valid is now refused), ``widen`` (some refused document is now valid),
``both``, ``added-field`` (a new optional property) or ``doc`` (annotations).

Stated limits: keywords are compared where they stand, not as the sets of
documents they describe, so a restructured but equivalent schema reads as
``both``; a changed ``pattern`` is decided by `patterns.compare_patterns` when
both patterns fall in the regular subset it reads, and is ``both`` otherwise;
``$ref`` targets are compared where they are defined, not at each use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ihub_conformance.contract.patterns import compare_patterns
from ihub_conformance.documents import pointer_token

NARROW, WIDEN, BOTH, ADDED_FIELD, DOC = "narrow", "widen", "both", "added-field", "doc"

_FLIP = {NARROW: WIDEN, WIDEN: NARROW}

# Keywords that say something about a value without deciding validity.
_ANNOTATIONS = frozenset({
    "title", "description", "$comment", "examples", "default", "deprecated",
    "readOnly", "writeOnly", "$anchor", "contentMediaType", "contentEncoding",
})
# Lower bounds (raising one narrows) and upper bounds (lowering one narrows).
_LOWER = frozenset({"minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum",
                    "minContains"})
_UPPER = frozenset({"maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum",
                    "maxContains"})
# Keywords holding one subschema that constrains (adding one narrows).
_SUBSCHEMA = frozenset({"items", "contains", "propertyNames", "additionalProperties",
                        "unevaluatedProperties", "unevaluatedItems", "then", "else"})
_VERSION_IN_ID = re.compile(r"/contracts/v[0-9]+/")


@dataclass(frozen=True)
class SchemaEdit:
    """One keyword-level change at ``pointer`` inside a schema document."""

    pointer: str
    change: str
    old: Any
    new: Any
    effect: str
    detail: str = ""
    # A value the old schema accepted here and the new one refuses, when one is known.
    sample: Any = None


def _as_dict(schema: Any) -> dict[str, Any]:
    if schema is True or schema is None:
        return {}
    if schema is False:
        return {"not": {}}
    return schema if isinstance(schema, dict) else {}


def _closed(schema: dict[str, Any]) -> bool:
    return schema.get("additionalProperties") is False or \
        schema.get("unevaluatedProperties") is False


def _types(schema: dict[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    found = {kind} if isinstance(kind, str) else set(kind)
    if "number" in found:
        found.add("integer")
    return found


def diff_schema(old: Any, new: Any, pointer: str = "", sign: int = 1) -> Iterator[SchemaEdit]:
    """Every keyword change from ``old`` to ``new``; ``sign`` -1 under ``not`` flips effects."""
    old_d, new_d = _as_dict(old), _as_dict(new)
    for key in sorted(set(old_d) | set(new_d), key=str):
        if old_d.get(key) == new_d.get(key) and (key in old_d) == (key in new_d):
            continue
        for edit in _diff_keyword(key, old_d, new_d, f"{pointer}/{pointer_token(key)}"):
            if sign < 0 and edit.effect in _FLIP:
                edit = SchemaEdit(edit.pointer, edit.change, edit.old, edit.new,
                                  _FLIP[edit.effect], edit.detail + " (inside `not`)")
            yield edit


def _diff_keyword(key: str, old: dict[str, Any], new: dict[str, Any],
                  pointer: str) -> Iterator[SchemaEdit]:
    before, after = old.get(key), new.get(key)
    present = (key in old, key in new)
    if key in _ANNOTATIONS or key.startswith("x-"):
        yield SchemaEdit(pointer, "annotation", before, after, DOC)
    elif key in ("$id", "$schema"):
        same = _VERSION_IN_ID.sub("/contracts/*/", str(before)) == \
            _VERSION_IN_ID.sub("/contracts/*/", str(after))
        yield SchemaEdit(pointer, "identifier", before, after, DOC if same else BOTH)
    elif key in _KEYWORDS:
        yield from _KEYWORDS[key](pointer, before, after, present, old, new)
    else:
        yield SchemaEdit(pointer, f"keyword {key} changed", before, after, BOTH,
                         "a keyword this comparison does not read; treated as breaking")


def _bounds(lower: bool):
    def compare(pointer, before, after, present, old, new):
        if not present[0]:
            yield SchemaEdit(pointer, "bound added", None, after, NARROW)
        elif not present[1]:
            yield SchemaEdit(pointer, "bound removed", before, None, WIDEN)
        else:
            raised = after > before
            narrows = raised if lower else not raised
            yield SchemaEdit(pointer, "bound raised" if raised else "bound lowered",
                             before, after, NARROW if narrows else WIDEN)
    return compare


def _enum(pointer, before, after, present, old, new):
    if not present[0]:
        yield SchemaEdit(pointer, "enum added", None, after, NARROW)
        return
    if not present[1]:
        yield SchemaEdit(pointer, "enum removed", before, None, WIDEN)
        return
    for value in before:
        if value not in after:
            yield SchemaEdit(pointer, "enum value removed", value, None, NARROW, sample=value)
    for value in after:
        if value not in before:
            yield SchemaEdit(pointer, "enum value added", None, value, WIDEN)


def _const(pointer, before, after, present, old, new):
    if not present[0]:
        yield SchemaEdit(pointer, "const added", None, after, NARROW)
    elif not present[1]:
        yield SchemaEdit(pointer, "const removed", before, None, WIDEN)
    else:
        yield SchemaEdit(pointer, "const changed", before, after, BOTH, sample=before)


def _type(pointer, before, after, present, old, new):
    old_types, new_types = _types(old), _types(new)
    if old_types is None:
        yield SchemaEdit(pointer, "type added", None, after, NARROW)
    elif new_types is None:
        yield SchemaEdit(pointer, "type removed", before, None, WIDEN)
    else:
        if old_types - new_types:
            yield SchemaEdit(pointer, "type narrowed", before, after, NARROW)
        if new_types - old_types:
            yield SchemaEdit(pointer, "type widened", before, after, WIDEN)


def _required(pointer, before, after, present, old, new):
    before, after = before or [], after or []
    for name in after:
        if name not in before:
            yield SchemaEdit(pointer, "required field added", None, name, NARROW)
    for name in before:
        if name not in after:
            yield SchemaEdit(pointer, "required field removed", name, None, WIDEN)


def _pattern(pointer, before, after, present, old, new):
    if not present[0]:
        yield SchemaEdit(pointer, "pattern added", None, after, NARROW)
    elif not present[1]:
        yield SchemaEdit(pointer, "pattern removed", before, None, WIDEN)
    else:
        effect, detail, sample = compare_patterns(before, after)
        yield SchemaEdit(pointer, "pattern changed", before, after, effect, detail, sample)


def _format(pointer, before, after, present, old, new):
    if not present[0]:
        yield SchemaEdit(pointer, "format added", None, after, NARROW)
    elif not present[1]:
        yield SchemaEdit(pointer, "format removed", before, None, WIDEN)
    else:
        yield SchemaEdit(pointer, "format changed", before, after, BOTH)


def _unique(pointer, before, after, present, old, new):
    yield SchemaEdit(pointer, "uniqueItems changed", before, after,
                     NARROW if after else WIDEN)


def _properties(pointer, before, after, present, old, new):
    before, after = before or {}, after or {}
    for name in sorted(set(before) | set(after), key=str):
        at = f"{pointer}/{pointer_token(name)}"
        if name not in before:
            yield _property_added(at, name, after[name], old)
        elif name not in after:
            closed = _closed(new)
            yield SchemaEdit(at, "property removed", name, None, NARROW if closed else WIDEN,
                             "no longer accepted: the object is closed" if closed else "")
        else:
            yield from diff_schema(before[name], after[name], at)


def _property_added(pointer: str, name: str, schema: Any, old: dict[str, Any]) -> SchemaEdit:
    if _as_dict(schema) == {"not": {}} or schema is False:
        return SchemaEdit(pointer, "property forbidden", None, name, NARROW)
    if _closed(old):
        return SchemaEdit(pointer, "optional field added", None, name, ADDED_FIELD,
                          "was refused by the closed object, now accepted")
    return SchemaEdit(pointer, "optional field added", None, name, ADDED_FIELD,
                      "the object is open: a value of another shape under this name "
                      "would now be refused")


def _keyed(added_effect: str, removed_effect: str, what: str):
    def compare(pointer, before, after, present, old, new):
        before, after = before or {}, after or {}
        for name in sorted(set(before) | set(after), key=str):
            at = f"{pointer}/{pointer_token(name)}"
            if name not in before:
                yield SchemaEdit(at, f"{what} added", None, name, added_effect)
            elif name not in after:
                yield SchemaEdit(at, f"{what} removed", name, None, removed_effect)
            else:
                yield from diff_schema(before[name], after[name], at)
    return compare


def _listed(added_effect: str, removed_effect: str, what: str):
    def compare(pointer, before, after, present, old, new):
        before, after = before or [], after or []
        for index in range(max(len(before), len(after))):
            at = f"{pointer}/{index}"
            if index >= len(before):
                yield SchemaEdit(at, f"{what} added", None, after[index], added_effect)
            elif index >= len(after):
                yield SchemaEdit(at, f"{what} removed", before[index], None, removed_effect)
            else:
                yield from diff_schema(before[index], after[index], at)
    return compare


def _subschema(pointer, before, after, present, old, new):
    if not present[0]:
        yield SchemaEdit(pointer, "constraint added", None, after, NARROW)
    elif not present[1]:
        yield SchemaEdit(pointer, "constraint removed", before, None, WIDEN)
    else:
        yield from diff_schema(before, after, pointer)


def _not(pointer, before, after, present, old, new):
    if not present[0]:
        yield SchemaEdit(pointer, "exclusion added", None, after, NARROW)
    elif not present[1]:
        yield SchemaEdit(pointer, "exclusion removed", before, None, WIDEN)
    else:
        yield from diff_schema(before, after, pointer, sign=-1)


def _opaque(what: str):
    def compare(pointer, before, after, present, old, new):
        yield SchemaEdit(pointer, f"{what} changed", before, after, BOTH)
    return compare


def _ref(pointer, before, after, present, old, new):
    same = _VERSION_IN_ID.sub("/contracts/*/", str(before)) == \
        _VERSION_IN_ID.sub("/contracts/*/", str(after))
    if not same:
        yield SchemaEdit(pointer, "reference changed", before, after, BOTH)


def _dependent_required(pointer, before, after, present, old, new):
    before, after = before or {}, after or {}
    for name in sorted(set(before) | set(after), key=str):
        added = set(after.get(name, [])) - set(before.get(name, []))
        removed = set(before.get(name, [])) - set(after.get(name, []))
        at = f"{pointer}/{pointer_token(name)}"
        if added:
            yield SchemaEdit(at, "dependent field required", None, sorted(added), NARROW)
        if removed:
            yield SchemaEdit(at, "dependent field no longer required", sorted(removed), None,
                             WIDEN)


_KEYWORDS = {
    **{key: _bounds(True) for key in _LOWER},
    **{key: _bounds(False) for key in _UPPER},
    **{key: _subschema for key in _SUBSCHEMA},
    "enum": _enum,
    "const": _const,
    "type": _type,
    "required": _required,
    "pattern": _pattern,
    "format": _format,
    "uniqueItems": _unique,
    "properties": _properties,
    "patternProperties": _keyed(NARROW, WIDEN, "pattern property"),
    "dependentSchemas": _keyed(NARROW, WIDEN, "dependent schema"),
    "dependentRequired": _dependent_required,
    "$defs": _keyed(ADDED_FIELD, WIDEN, "definition"),
    "allOf": _listed(NARROW, WIDEN, "allOf branch"),
    "anyOf": _listed(WIDEN, NARROW, "anyOf branch"),
    "oneOf": _listed(BOTH, BOTH, "oneOf branch"),
    "prefixItems": _listed(NARROW, WIDEN, "prefixItems entry"),
    "not": _not,
    "if": _opaque("condition"),
    "$ref": _ref,
    "$dynamicRef": _ref,
    "multipleOf": _opaque("multipleOf"),
}

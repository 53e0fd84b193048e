"""Contract evolution: every change between two contract directories, and whom it breaks.

A contract directory holds JSON Schemas, the vocabulary, the OpenAPI document, the
assumption register and the requirement catalog; `compare_contracts` reads them as
one and classifies each change:

- ``breaking-consumer``: a document activity-core sends (or a request it makes)
  that was valid is now refused;
- ``breaking-provider``: a hub that conformed now fails (a new required behaviour,
  a requirement raised to MUST, a narrowed answer), or the hub may now answer
  what clients of the old contract cannot read (a widened answer);
- ``compatible``; ``documentation`` (annotations, titles, quotes).

Whether a schema location is a request or an answer follows from which roots
reach it through ``$ref`` (`schema_roles`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ihub_conformance.contract import schema_diff as sd
from ihub_conformance.contract.openapi_diff import diff_openapi
from ihub_conformance.contract.roles import REQUEST, RESPONSE, schema_roles
from ihub_conformance.documents import pointer_token, read_text, read_yaml, yaml_error_where
from ihub_conformance.errors import InputError

CONSUMER = "breaking-consumer"
PROVIDER = "breaking-provider"
COMPATIBLE = "compatible"
DOCUMENTATION = "documentation"
CLASSES = (CONSUMER, PROVIDER, COMPATIBLE, DOCUMENTATION)
BREAKING = (CONSUMER, PROVIDER)

VOCABULARY_FILE = "vocabulary/ops-hub.json"
OPENAPI_FILE = "openapi.yaml"
REGISTER_FILE = "assumptions.yaml"
CATALOG_FILE = "requirements.yaml"


@dataclass(frozen=True)
class Change:
    """One classified change: where, old and new, its class and why."""

    document: str
    location: str
    change: str
    old: Any
    new: Any
    change_class: str
    reason: str = ""
    alias: str | None = None
    # A value the old contract accepted at this location and the new one refuses.
    sample: Any = None

    def line(self) -> str:
        """The one-line text form: class, where, old -> new, what, alias, why."""
        where = f"{self.document}#{self.location}" if self.location.startswith("/") \
            else f"{self.document} {self.location}".rstrip()
        text = f"[{self.change_class}] {where}: {_show(self.old)} -> {_show(self.new)} " \
            f"({self.change}"
        if self.alias:
            text += f"; alias {self.alias} bridges it"
        return text + (f"; {self.reason})" if self.reason else ")")

    def as_json(self) -> dict[str, Any]:
        found = {"document": self.document, "location": self.location, "change": self.change,
                 "old": self.old, "new": self.new, "class": self.change_class,
                 "reason": self.reason}
        if self.alias:
            found["alias"] = self.alias
        return found


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class ContractTree:
    """One contract directory (a version under contracts/, a copy, or a git revision)."""

    label: str
    directory: Path
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        return (self.directory / name).is_file()

    def read(self, name: str) -> Any:
        """A parsed document (JSON or YAML) by path relative to the directory."""
        if name not in self._cache:
            path = self.directory / name
            if name.endswith(".json"):
                try:
                    self._cache[name] = json.loads(read_text(path))
                except ValueError as exc:
                    raise InputError(str(path), f"not valid JSON: {exc}") from None
            else:
                self._cache[name] = _fast_yaml(path)
            if not isinstance(self._cache[name], dict):
                raise InputError(str(path), "the top level must be an object (a mapping)")
            if name.endswith(".schema.json"):
                _check_schema(path, self._cache[name])
        return self._cache[name]

    def schema_files(self) -> list[str]:
        return sorted(path.name for path in self.directory.glob("*.schema.json"))

    def schemas(self) -> dict[str, Any]:
        return {name: self.read(name) for name in self.schema_files()}

    def aliases(self) -> dict[str, str]:
        if not self.has(VOCABULARY_FILE):
            return {}
        aliases = self.read(VOCABULARY_FILE).get("aliases") or {}
        if not isinstance(aliases, dict):
            raise InputError(str(self.directory / VOCABULARY_FILE), "must be a mapping of an "
                             "old name to its replacement", field="aliases")
        return {str(k): str(v) for k, v in aliases.items()}


def _check_schema(path: Path, schema: dict[str, Any]) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(pointer_token(part) for part in exc.path)
        raise InputError(str(path), f"not a JSON Schema 2020-12 document: {exc.message}",
                         field=where) from None


def _fast_yaml(path: Path) -> Any:
    # libyaml when present: the catalog is read twice per comparison.
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return read_yaml(path)
    try:
        return yaml.load(read_text(path), Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML ({yaml_error_where(exc)})") from None


def open_tree(directory: Path, label: str | None = None) -> ContractTree:
    """A contract directory; not a directory or without schemas is an InputError."""
    if not directory.is_dir():
        raise InputError(str(directory), "not a contract directory (no such directory)")
    tree = ContractTree(label or directory.name, directory)
    if not tree.schema_files():
        raise InputError(str(directory), "not a contract directory (no *.schema.json files)")
    return tree


def compare_contracts(old: ContractTree, new: ContractTree) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    changes = [change for part, compare in _PARTS.items()
               for change in _guarded(part, compare, old, new)]
    changes = _merge_renames(changes, new.aliases(), _deferred(new))
    changes = _name_property_renames(changes)
    order = {name: index for index, name in enumerate(CLASSES)}
    return sorted(changes, key=lambda c: (order[c.change_class], c.document, c.location))


def _guarded(part: str, compare: Any, old: ContractTree, new: ContractTree) -> list[Change]:
    # A document of the right top-level type can still hold a value of an unexpected
    # shape (a list where a mapping belongs): one line naming the part, no traceback.
    try:
        return list(compare(old, new))
    except (AttributeError, TypeError, KeyError) as exc:
        raise InputError(f"{old.directory} -> {new.directory}",
                         f"unexpected structure ({type(exc).__name__}: {exc})",
                         field=part) from None


def is_breaking(changes: Iterable[Change]) -> bool:
    return any(change.change_class in BREAKING for change in changes)


def count_by_class(changes: Iterable[Change]) -> dict[str, int]:
    counts = dict.fromkeys(CLASSES, 0)
    for change in changes:
        counts[change.change_class] += 1
    return counts


# -- schemas ----------------------------------------------------------------------


def _schema_changes(old: ContractTree, new: ContractTree) -> Iterator[Change]:
    roles_old, roles_new = _roles(old), _roles(new)
    for name in sorted(set(old.schema_files()) | set(new.schema_files())):
        if not old.has(name):
            yield Change(name, "", "document added", None, name, COMPATIBLE,
                         "a new schema document; nothing that was valid changes")
            continue
        if not new.has(name):
            yield Change(name, "", "document removed", name, None, CONSUMER,
                         "documents of this kind have no contract any more")
            continue
        for edit in sd.diff_schema(old.read(name), new.read(name)):
            roles = _roles_at(roles_old, name, edit.pointer) | _roles_at(roles_new, name,
                                                                          edit.pointer)
            change_class, reason = _classify_edit(edit.effect, roles)
            yield Change(name, edit.pointer, edit.change, edit.old, edit.new, change_class,
                         "; ".join(part for part in (edit.detail, reason) if part),
                         sample=edit.sample)


def _roles(tree: ContractTree) -> dict[str, dict[str, set[str]]]:
    return schema_roles(tree.schemas(),
                        tree.read(OPENAPI_FILE) if tree.has(OPENAPI_FILE) else None)


def _roles_at(marks: dict[str, dict[str, set[str]]], name: str, pointer: str) -> set[str]:
    nodes = marks.get(name, {})
    while True:
        if pointer in nodes:
            return nodes[pointer]
        if not pointer:
            return set()
        pointer = pointer.rsplit("/", 1)[0]


def _classify_edit(effect: str, roles: set[str]) -> tuple[str, str]:
    if effect == sd.DOC:
        return DOCUMENTATION, ""
    if effect == sd.ADDED_FIELD:
        return COMPATIBLE, "new optional field"
    if not roles:
        return COMPATIBLE, "no document root or operation reaches this location"
    if effect == sd.WIDEN:
        if RESPONSE in roles:
            return PROVIDER, "the hub may now answer what clients of the old contract " \
                "cannot read"
        return COMPATIBLE, "every document valid before is still valid"
    if REQUEST in roles:
        return CONSUMER, "a document activity-core sends that was valid is now refused"
    return PROVIDER, "a hub answer that was valid is now refused"


# -- vocabulary ---------------------------------------------------------------------

# Names activity-core uses: removing one refuses documents that use it.
_VOCABULARY_NAMES = frozenset({"eventTypes", "widgetTypes", "policyScopes",
                               "annotationCategories"})
_VOCABULARY_TEXT = frozenset({"source", "deferredNote", "notes", "note", "$schema", "contract"})


def _vocabulary_changes(old: ContractTree, new: ContractTree) -> Iterator[Change]:
    if not (old.has(VOCABULARY_FILE) and new.has(VOCABULARY_FILE)):
        yield from _presence(old, new, VOCABULARY_FILE, CONSUMER, COMPATIBLE)
        return
    before, after = old.read(VOCABULARY_FILE), new.read(VOCABULARY_FILE)
    for key in sorted(set(before) | set(after), key=str):
        yield from _vocabulary_key(key, before.get(key), after.get(key))


def _vocabulary_key(key: str, before: Any, after: Any) -> Iterator[Change]:
    where = f"/{pointer_token(key)}"
    if before == after:
        return
    if key in _VOCABULARY_TEXT:
        yield Change(VOCABULARY_FILE, where, "text changed", before, after, DOCUMENTATION)
    elif key in _VOCABULARY_NAMES:
        yield from _name_list(where, before or [], after or [],
                              "activity-core documents using it are refused")
    elif key == "eventWidgetTypes":
        yield from _restriction_map(where, before or {}, after or {})
    elif key == "hub":
        yield Change(VOCABULARY_FILE, where, "hub changed", before, after, CONSUMER,
                     "mappings naming the old hub are refused")
    else:
        yield Change(VOCABULARY_FILE, where, f"{key} changed", before, after, COMPATIBLE,
                     "bookkeeping of names (aliases, deferred, not seeded): "
                     "what is valid does not change")


def _name_list(where: str, before: list[Any], after: list[Any], why: str) -> Iterator[Change]:
    for name in before:
        if name not in after:
            yield Change(VOCABULARY_FILE, where, "name removed", name, None, CONSUMER, why,
                         sample=name)
    for name in after:
        if name not in before:
            yield Change(VOCABULARY_FILE, where, "name added", None, name, COMPATIBLE)


def _restriction_map(where: str, before: dict[str, list[Any]],
                     after: dict[str, list[Any]]) -> Iterator[Change]:
    # eventWidgetTypes: an event type listed here may map only to these widget types.
    for key in sorted(set(before) | set(after), key=str):
        at = f"{where}/{pointer_token(key)}"
        if key not in before:
            yield Change(VOCABULARY_FILE, at, "restriction added", None, after[key], CONSUMER,
                         "mappings of this event type to other widget types are refused")
        elif key not in after:
            yield Change(VOCABULARY_FILE, at, "restriction removed", before[key], None,
                         COMPATIBLE)
        else:
            yield from _name_list(at, before[key], after[key],
                                  "mappings to this widget type are refused")


# -- OpenAPI, catalog, register -----------------------------------------------------


def _presence(old: ContractTree, new: ContractTree, name: str, added: str,
              removed: str) -> Iterator[Change]:
    if new.has(name) and not old.has(name):
        yield Change(name, "", "document added", None, name, added,
                     f"{old.label} has no {name}: everything in it is new")
    elif old.has(name) and not new.has(name):
        yield Change(name, "", "document removed", name, None, removed,
                     f"{new.label} has no {name}")


def _openapi_changes(old: ContractTree, new: ContractTree) -> Iterator[Change]:
    if not (old.has(OPENAPI_FILE) and new.has(OPENAPI_FILE)):
        yield from _presence(old, new, OPENAPI_FILE, PROVIDER, CONSUMER)
        return
    for found in diff_openapi(old.read(OPENAPI_FILE), new.read(OPENAPI_FILE)):
        change_class, reason = found.change_class, found.reason
        if found.effect is not None:
            change_class, reason = _classify_edit(found.effect, {found.role})
            reason = "; ".join(part for part in (found.reason, reason) if part)
        yield Change(OPENAPI_FILE, found.location, found.change, found.old, found.new,
                     change_class, reason)


def _catalog_changes(old: ContractTree, new: ContractTree) -> Iterator[Change]:
    if not (old.has(CATALOG_FILE) and new.has(CATALOG_FILE)):
        yield from _presence(old, new, CATALOG_FILE, PROVIDER, COMPATIBLE)
        return
    before = _by_id(old.read(CATALOG_FILE), "requirements", old.directory / CATALOG_FILE)
    after = _by_id(new.read(CATALOG_FILE), "requirements", new.directory / CATALOG_FILE)
    for rid in sorted(set(before) | set(after), key=str):
        yield from _requirement_changes(rid, before.get(rid), after.get(rid))
    yield from _top_level(CATALOG_FILE, old.read(CATALOG_FILE), new.read(CATALOG_FILE),
                          {"requirements"})


def _by_id(data: Any, key: str, path: Path) -> dict[str, dict[str, Any]]:
    entries = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(str(path), f"no `{key}` list", field=key)
    return {str(entry.get("id")): entry for entry in entries if isinstance(entry, dict)}


def _bound_party(requirement: dict[str, Any]) -> str:
    # ACS statements bind activity-core (the consumer); every other area binds the hub
    # or the deployment the gate checks.
    return CONSUMER if requirement.get("area") == "ACS" else PROVIDER


def _requirement_changes(rid: str, before: dict[str, Any] | None,
                         after: dict[str, Any] | None) -> Iterator[Change]:
    where = rid
    if before is None:
        level = after.get("level")
        yield Change(CATALOG_FILE, where, f"requirement added ({level})", None, level,
                     _bound_party(after) if level == "MUST" else COMPATIBLE,
                     "a new required behaviour" if level == "MUST" else "advice only")
        return
    if after is None:
        yield Change(CATALOG_FILE, where, "requirement removed", before.get("level"), None,
                     COMPATIBLE, "nothing has to meet it any more")
        return
    for key in sorted((set(before) | set(after)) - {"verified_by", "id"}, key=str):
        if before.get(key) != after.get(key):
            yield _requirement_field(rid, key, before, after)


def _requirement_field(rid: str, key: str, before: dict[str, Any],
                       after: dict[str, Any]) -> Change:
    old, new = before.get(key), after.get(key)
    if key == "level":
        raised = new == "MUST"
        return Change(CATALOG_FILE, rid, "level raised" if raised else "level lowered", old,
                      new, _bound_party(after) if raised else COMPATIBLE,
                      "what was advice is now required" if raised else "now advice only")
    if key == "kind" and new == "behaviour":
        return Change(CATALOG_FILE, rid, "now checked against the hub", old, new, PROVIDER,
                      "the conformance suite now checks it")
    if key in ("kind", "area", "assumptions"):
        return Change(CATALOG_FILE, rid, f"{key} changed", old, new, COMPATIBLE)
    return Change(CATALOG_FILE, rid, f"{key} changed", old, new, DOCUMENTATION)


def _register_changes(old: ContractTree, new: ContractTree) -> Iterator[Change]:
    if not (old.has(REGISTER_FILE) and new.has(REGISTER_FILE)):
        yield from _presence(old, new, REGISTER_FILE, COMPATIBLE, COMPATIBLE)
        return
    before, after = old.read(REGISTER_FILE), new.read(REGISTER_FILE)
    old_entries = _by_id(before, "entries", old.directory / REGISTER_FILE)
    new_entries = _by_id(after, "entries", new.directory / REGISTER_FILE)
    for asm in sorted(set(old_entries) | set(new_entries), key=str):
        yield from _register_entry(asm, old_entries.get(asm), new_entries.get(asm))
    yield from _register_values("/values", before.get("values"), after.get("values"))
    yield from _top_level(REGISTER_FILE, before, after, {"entries", "values"})


def _top_level(name: str, before: dict[str, Any], after: dict[str, Any],
               compared: set[str]) -> Iterator[Change]:
    for key in sorted((set(before) | set(after)) - compared, key=str):
        if before.get(key) != after.get(key):
            yield Change(name, f"/{pointer_token(key)}", f"{key} changed", before.get(key),
                         after.get(key), DOCUMENTATION)


def _files(tree: ContractTree) -> dict[str, bytes]:
    return {path.relative_to(tree.directory).as_posix(): path.read_bytes()
            for path in sorted(tree.directory.rglob("*")) if path.is_file()}


def _other_files(old: ContractTree, new: ContractTree) -> Iterator[Change]:
    """Files no comparison above reads: listed, so that no edit passes unseen."""
    read = {*old.schema_files(), *new.schema_files(), VOCABULARY_FILE, OPENAPI_FILE,
            REGISTER_FILE, CATALOG_FILE}
    before, after = _files(old), _files(new)
    for name in sorted((set(before) | set(after)) - read):
        if before.get(name) != after.get(name):
            what = "added" if name not in before else "removed" if name not in after \
                else "changed"
            yield Change(name, "", f"file {what}", None, None, DOCUMENTATION,
                         "not classified: diff does not read this file; review it by hand")


def _register_entry(asm: str, before: dict[str, Any] | None,
                    after: dict[str, Any] | None) -> Iterator[Change]:
    if before is None or after is None:
        verb = "added" if before is None else "removed"
        yield Change(REGISTER_FILE, asm, f"assumption {verb}", before and asm, after and asm,
                     COMPATIBLE, "a guess where the source is silent; hubs that differ get "
                     "an assumption mismatch, not a broken requirement")
        return
    for key in sorted(set(before) | set(after), key=str):
        if before.get(key) != after.get(key):
            yield Change(REGISTER_FILE, asm, f"{key} changed", before.get(key), after.get(key),
                         DOCUMENTATION if isinstance(after.get(key), str) else COMPATIBLE)


def _register_values(where: str, before: Any, after: Any) -> Iterator[Change]:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            yield from _register_values(f"{where}/{pointer_token(key)}", before.get(key),
                                        after.get(key))
        return
    if before is None or after is None:
        yield Change(REGISTER_FILE, where, "value added" if before is None else "value removed",
                     before, after, COMPATIBLE)
        return
    yield Change(REGISTER_FILE, where, "assumed value changed", before, after, PROVIDER,
                 "a hub that matched the old choice now shows an assumption mismatch "
                 "(calibrate the register for it)")


# -- renames -------------------------------------------------------------------------


def _deferred(tree: ContractTree) -> set[str]:
    if not tree.has(VOCABULARY_FILE):
        return set()
    deferred = tree.read(VOCABULARY_FILE).get("deferred") or []
    if not isinstance(deferred, list):
        raise InputError(str(tree.directory / VOCABULARY_FILE), "must be a list of names",
                         field="deferred")
    return {str(name) for name in deferred}


def _merge_renames(changes: list[Change], aliases: dict[str, str],
                   deferred: set[str]) -> list[Change]:
    """Pair a removed name with the name that replaces it at the same location.

    A removed name the new vocabulary defers is said to be deferred; a lone removed
    name beside a lone added one at the same location is a rename no alias bridges.
    """
    removed = {(c.document, c.location, c.old): c for c in changes
               if c.change in ("enum value removed", "name removed")}
    added = {(c.document, c.location, c.new): c for c in changes
             if c.change in ("enum value added", "name added")}
    merged: dict[int, Change] = {}
    dropped: set[int] = set()
    for (doc, loc, name), gone in removed.items():
        target = aliases.get(str(name))
        came = added.get((doc, loc, target)) if target is not None else None
        if came is None:
            merged[id(gone)] = _unbridged(gone, changes, deferred)
            continue
        merged[id(gone)] = Change(doc, loc, "renamed", name, target, gone.change_class,
                                  gone.reason, alias=f"{name} -> {target}", sample=name)
        dropped.add(id(came))
    return [merged.get(id(c), c) for c in changes if id(c) not in dropped]


def _unbridged(gone: Change, changes: list[Change], deferred: set[str]) -> Change:
    if str(gone.old) in deferred:
        return Change(gone.document, gone.location, "deferred", gone.old, None,
                      gone.change_class, "now deferred (State Hub fallback only); "
                      + gone.reason, sample=gone.sample)
    here = [c for c in changes if (c.document, c.location) == (gone.document, gone.location)]
    removed = [c for c in here if c.change in ("enum value removed", "name removed")]
    added = [c for c in here if c.change in ("enum value added", "name added")]
    if len(removed) == 1 and len(added) == 1:
        return Change(gone.document, gone.location, "removed; no alias bridges it to the "
                      f"added {added[0].new!r}", gone.old, None, gone.change_class,
                      gone.reason, sample=gone.sample)
    return gone


_PARTS = {
    "schemas": _schema_changes,
    VOCABULARY_FILE: _vocabulary_changes,
    OPENAPI_FILE: _openapi_changes,
    CATALOG_FILE: _catalog_changes,
    REGISTER_FILE: _register_changes,
    "other files": _other_files,
}


def _name_property_renames(changes: list[Change]) -> list[Change]:
    """A property removed beside one added in the same object reads as a rename; say so."""
    def parent(change: Change) -> tuple[str, str]:
        return change.document, change.location.rsplit("/", 1)[0]

    removed: dict[tuple[str, str], list[Change]] = {}
    added: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        if change.change == "property removed":
            removed.setdefault(parent(change), []).append(change)
        elif change.change == "optional field added":
            added.setdefault(parent(change), []).append(change)
    hinted: dict[int, Change] = {}
    for key, gone in removed.items():
        came = added.get(key, [])
        if len(gone) == 1 and len(came) == 1:
            old = gone[0]
            hinted[id(old)] = Change(old.document, old.location, f"property removed (renamed "
                                     f"to {came[0].new!r}?)", old.old, came[0].new,
                                     old.change_class, old.reason, sample=old.sample)
    return [hinted.get(id(change), change) for change in changes]

"""Proof by example: a document valid under the old contract that the new one refuses.

For a change that breaks activity-core, the search starts from the old version's
valid corpus (``fixtures/corpus/<version>/<kind>/valid``): each document as it
is, then with one value set to the value the change took away (a removed enum
value or name, the old ``const``, a string the old pattern matched and the new
does not), then with the field a change made required removed. The first
candidate the engine accepts under OLD and refuses under NEW is the witness.
No witness (no corpus outside a checkout, or none of these edits reaches the
change) is reported as such, never invented.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ihub_conformance._paths import corpus_dir
from ihub_conformance.contract.evolution import Change
from ihub_conformance.contract.loader import load_contract_dir
from ihub_conformance.documents import pointer, walk, with_value, without
from ihub_conformance.errors import ConformanceError
from ihub_conformance.validation.engine import ContractValidator

# The documents activity-core sends (the engine's kinds and the corpus directories),
# each with the schema file at its root.
CONSUMER_KINDS = {"event": "interaction-event.schema.json", "mapping": "widget-mapping.schema.json",
                  "widget": "widget.schema.json", "progress": "state-hub-progress.schema.json"}
_FILE_REF = re.compile(r'"\$ref":\s*"([^"#]+\.json)')
_VERSION = re.compile(r"^v[0-9]+$")


@dataclass(frozen=True)
class Witness:
    """A document the old contract accepts and the new one refuses, and why."""

    kind: str
    base: str
    edit: str
    document: Any
    refusal: str

    def describe(self) -> str:
        return f"{self.kind} document {self.base}{self.edit} is valid under OLD and refused " \
            f"by NEW: {self.refusal}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "base": self.base, "edit": self.edit,
                "document": self.document, "refusal": self.refusal}


def contract_version(directory: Path) -> str:
    """The version a contract directory holds: its name, else its vocabulary's ``contract``."""
    if _VERSION.match(directory.name):
        return directory.name
    try:
        vocabulary = json.loads((directory / "vocabulary" / "ops-hub.json").read_text("utf-8"))
        return str(vocabulary["contract"])
    except (OSError, ValueError, KeyError, TypeError):
        return directory.name


@functools.lru_cache(maxsize=32)
def _validator(directory: Path, kind: str) -> ContractValidator | None:
    try:
        return ContractValidator(load_contract_dir(directory, contract_version(directory)), kind)
    except (ConformanceError, ValueError):
        return None


def _files_reached(directory: Path, root: str) -> set[str]:
    """Schema files a document rooted at ``root`` reaches through ``$ref``."""
    reached, todo = set(), [root]
    while todo:
        name = todo.pop()
        if name in reached or not (directory / name).is_file():
            continue
        reached.add(name)
        text = (directory / name).read_text("utf-8")
        todo += [ref.rsplit("/", 1)[-1] for ref in _FILE_REF.findall(text)]
    return reached


def _corpus(version: str, kind: str) -> list[tuple[str, Any]]:
    root = corpus_dir()
    folder = root / version / kind / "valid" if root is not None else None
    if folder is None or not folder.is_dir():
        return []
    return [(str(path.relative_to(root.parent.parent)), json.loads(path.read_text("utf-8")))
            for path in sorted(folder.glob("*.json"))]


def find_witness(old_dir: Path, new_dir: Path, change: Change) -> Witness | None:
    """A document valid under ``old_dir`` and refused under ``new_dir`` because of ``change``."""
    versions = dict.fromkeys((contract_version(old_dir), contract_version(new_dir)))
    for kind, root in CONSUMER_KINDS.items():
        if change.document.endswith(".schema.json") and \
                change.document not in _files_reached(old_dir, root):
            continue
        old, new = _validator(old_dir, kind), _validator(new_dir, kind)
        if old is None or new is None:
            continue
        for version in versions:
            for base, document in _corpus(version, kind):
                found = _first_witness(old, new, kind, base, document, change)
                if found is not None:
                    return found
    return None


def _first_witness(old: ContractValidator, new: ContractValidator, kind: str, base: str,
                   document: Any, change: Change) -> Witness | None:
    # An edit of a document NEW accepts is what NEW refuses; a document refused as it
    # is counts only when NEW's refusal points at what the change touched.
    base_valid_under_new = new.is_valid(document)
    for edit, candidate in _candidates(document, change):
        if not old.is_valid(candidate) or new.is_valid(candidate):
            continue
        refusals = new.violations(candidate)
        relevant = [v for v in refusals if _points_at(v.pointer, v.reason, change)]
        if (edit and base_valid_under_new) or relevant:
            reason = (relevant or refusals)[0]
            return Witness(kind, base, edit, candidate,
                           f"{reason.pointer or '/'}: {reason.reason}")
    return None


def _points_at(where: str, reason: str, change: Change) -> bool:
    steps = change.location.split("/")
    names = {steps[i + 1] for i, step in enumerate(steps[:-1]) if step == "properties"}
    texts = {str(v) for v in (change.sample, change.old, change.new) if isinstance(v, str)}
    last = where.rsplit("/", 1)[-1]
    return last in names or last in texts or any(
        re.search(rf"(?<![\w-]){re.escape(text)}(?![\w-])", reason) for text in texts)


def _candidates(document: Any, change: Change) -> Iterator[tuple[str, Any]]:
    yield "", document
    if change.sample is not None:
        for path, value in _leaves(document):
            if type(value) is type(change.sample) and value != change.sample:
                yield from _set_value(document, path, value, change.sample)
    if change.change == "required field added" and isinstance(change.new, str):
        for path, _ in _keys(document, change.new):
            yield f" without {pointer(path)}", without(document, path)


def _set_value(document: Any, path: tuple[Any, ...], value: Any,
               sample: Any) -> Iterator[tuple[str, Any]]:
    edit = f" with {pointer(path)} = {json.dumps(sample)}"
    yield edit, with_value(document, path, sample)
    if isinstance(value, str) and isinstance(sample, str):
        # Values that embed this one (the idempotency key embeds the event type) follow it.
        text = json.dumps(document).replace(value, sample.replace('"', '\\"'))
        try:
            yield edit + " (and everywhere it is embedded)", json.loads(text)
        except ValueError:
            return


def _leaves(node: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    return ((path, value) for path, value in walk(node)
            if not isinstance(value, (dict, list)))


def _keys(node: Any, name: str) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every member called ``name`` (list indexes are ints: never a match)."""
    return ((path, value) for path, value in walk(node) if path and path[-1] == name)

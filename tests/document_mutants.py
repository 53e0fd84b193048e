"""Mutations of valid contract documents: each one a change the contract must refuse.

Shared by the validation tests and the stream tier tests (which prove the fast tiers
reject every mutant the engine rejects).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ihub_conformance.documents import walk, with_value, without

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "v1"
KINDS = ["mapping", "event", "manifest", "widget", "progress"]
Path_ = tuple[Any, ...]

# Fields a client may leave out (regexes over dotted paths, list indexes as '#').
OPTIONAL = {
    "event": [r"viewContext", r"metadata", r"metadata\.attributes(\..+)?"],  # ACS-01: SHOULD
    "mapping": [r"description"],
    "manifest": [r"id", r"hubId", r"description", r"createdAt", r"updatedAt"],
    "widget": [r"capabilityRef", r"viewContext", r"policyScope", r"status", r"adapterSpecId"],
    "progress": [r"#\.detail\.(summary|attributes)(\..+)?"],
}
# Free-form compact detail: any JSON type is allowed there (strings still checked).
FREE_FORM = {
    "event": [r"metadata\.attributes\.(?!observed_at$).+"],
    "progress": [r"#\.detail\.attributes\..+"],
}
# Objects that must reject unknown fields (empty path = the document itself).
STRICT = {
    "event": [r"", r"metadata"],
    "mapping": [r"", r"mappings\.#", r"mappings\.#\.widget"],
    "manifest": [r""],
    "widget": [r""],
    "progress": [r"#", r"#\.detail"],
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT")
SECRETS = [
    "Bearer 0123456789abcdef",
    "token=0123456789abcdef",
    "https://hub.coulomb.social/api/v2/widgets?api_key=abc",
    "https://ops:hunter2@registry.example/v2",
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJvcHMifQ.c2ln",
    "-----BEGIN PRIVATE KEY-----",
    "AKIAABCDEFGHIJKLMNOP",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "Authorization: Basic b3BzOmh1bnRlcjI=",
    "<!DOCTYPE html><html><body>login</body></html>",
]
EARLY = {
    "ops-service-discovered": "ops-service-observed",
    "ops-drift-detected": "ops-inventory-drift",
    "ops-service": "ops-service-card",
    "ops-endpoint": "ops-endpoint-card",
    "ops-backup-set": "ops-backup-card",
    "ops-risk": "ops-drift-card",
    "ops-production": "ops-evidence",
}


def _dotted(path: Path_) -> str:
    return ".".join("#" if isinstance(p, int) else str(p) for p in path)


def _matches(patterns: list[str], path: Path_) -> bool:
    dotted = _dotted(path)
    return any(re.fullmatch(pattern, dotted) for pattern in patterns)


def _wrong_types(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return ["true", 1]
    if isinstance(value, int):
        return [str(value), value + 0.5, None, True]
    if isinstance(value, float):
        return [str(value), None]
    if isinstance(value, str):
        return [12345, None, [value], {"value": value}]
    if isinstance(value, list):
        return [{}, "list", None]
    if isinstance(value, dict):
        return [[value], "object", None]
    return ["null"]


def mutants(kind: str, doc: Any) -> Iterator[tuple[str, Any]]:
    """(description, mutant) pairs that each break the contract."""
    for path, value in walk(doc):
        if not path:
            for wrong in _wrong_types(doc):
                yield f"root as {type(wrong).__name__}", wrong
            continue
        where = "/" + "/".join(map(str, path))
        free = _matches(FREE_FORM.get(kind, []), path)
        if isinstance(path[-1], str) and not _matches(OPTIONAL[kind], path):
            yield f"drop {where}", without(doc, path)
        if not free:
            for wrong in _wrong_types(value):
                yield f"{where} as {type(wrong).__name__}", with_value(doc, path, wrong)
        if isinstance(value, str):
            yield f"blank {where}", with_value(doc, path, "")
            yield f"whitespace {where}", with_value(doc, path, "   ")
            if UUID.match(value):
                yield f"truncated uuid {where}", with_value(doc, path, value[:-1])
                yield f"non-hex uuid {where}", with_value(doc, path, "g" + value[1:])
            if TIMESTAMP.match(value):
                yield f"no offset {where}", with_value(doc, path, value[:19])
                yield f"bad month {where}", with_value(doc, path, value[:5] + "13" + value[7:])
                yield f"date only {where}", with_value(doc, path, value[:10])
            # a manifest declaring ops-evidence is explicitly expanded: valid (VOC-14)
            if value in EARLY and not (kind == "manifest" and EARLY[value] == "ops-evidence"):
                yield f"early name {where}", with_value(doc, path, EARLY[value])
            if free:
                for secret in SECRETS:
                    yield f"secret in {where}", with_value(doc, path, f"probe: {secret}")
        if isinstance(value, dict) and _matches(STRICT[kind], path):
            yield f"unknown field in {where}", with_value(doc, (*path, "zzUnknown"), "x")
    if isinstance(doc, dict) and _matches(STRICT[kind], ()):
        yield "unknown top-level field", {**doc, "zzUnknown": "x"}

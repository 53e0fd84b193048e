"""The requirement catalog: load it, query it, and keep its `verified_by` lists in sync.

`contracts/<version>/requirements.yaml` holds one entry per statement of the source
document (schema: `contracts/catalog.schema.json`). Tests name the requirements they
verify with ``@pytest.mark.requirement("EVT-03", ...)``; ``sync`` collects those markers
(``pytest --collect-only`` in a subprocess, so the caller's session is untouched) and
rewrites only the ``verified_by`` lines of the YAML, keeping its comments and layout.

    ihub-conformance catalog sync           # rewrite verified_by
    ihub-conformance catalog sync --check   # exit 1 when out of date
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ihub_conformance._paths import contracts_dir
from ihub_conformance.documents import read_yaml
from ihub_conformance.errors import (
    ConformanceError,
    InputError,
)

AREAS = ("WID", "EVT", "ACS", "FBK", "VOC", "GATE", "SEC")
MARKER = "requirement"
# Where verifying tests live, relative to the checkout root: the conformance suite
# (behaviour) and the project's own tests (the gate's config checks, the contract tests).
TEST_DIRS = ("conformance", "tests")
_COLLECT_TIMEOUT_S = 300


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str  # MUST | SHOULD
    area: str
    kind: str  # behaviour | config | documentation
    title: str
    quote: str
    section: str
    assumptions: tuple[str, ...] = ()
    verified_by: tuple[str, ...] = ()
    note: str = ""  # why the level or the reading is what it is, when the quote alone does not say
    temporary: bool = False  # the quote describes a current state the source expects to change

    @property
    def is_must(self) -> bool:
        return self.level == "MUST"


@dataclass(frozen=True)
class Catalog:
    contract: str
    path: Path
    source_document: str
    requirements: tuple[Requirement, ...]

    def __iter__(self):
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    def ids(self) -> tuple[str, ...]:
        return tuple(req.id for req in self.requirements)

    def get(self, requirement_id: str) -> Requirement:
        for req in self.requirements:
            if req.id == requirement_id:
                return req
        raise KeyError(f"{requirement_id}: not in the {self.contract} requirement catalog")

    def by_area(self) -> dict[str, tuple[Requirement, ...]]:
        """Requirements grouped by area, areas in catalog order (WID, EVT, ...)."""
        return {
            area: tuple(req for req in self.requirements if req.area == area)
            for area in AREAS
            if any(req.area == area for req in self.requirements)
        }

    def must(self) -> tuple[Requirement, ...]:
        return tuple(req for req in self.requirements if req.is_must)


# --------------------------------------------------------------------------- loading


def catalog_path(version: str = "v1") -> Path:
    """The catalog file for a contract version; a version without its own uses v1's."""
    base = contracts_dir()
    if not (base / version).is_dir():
        raise InputError(str(base / version), f"unknown contract version {version!r}")
    own = base / version / "requirements.yaml"
    return own if own.is_file() else base / "v1" / "requirements.yaml"


def schema_path() -> Path:
    return contracts_dir() / "catalog.schema.json"


def _pointer(path: Sequence[Any]) -> str:
    return "/" + "/".join(str(part) for part in path)


def validate_catalog_data(data: Any, source: str) -> None:
    """Schema-validate a parsed catalog and check what the schema cannot (unique ids)."""
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    error = best_match(Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        raise InputError(source, error.message, field=_pointer(error.absolute_path))
    seen: set[str] = set()
    for index, entry in enumerate(data["requirements"]):
        if entry["id"] in seen:
            raise InputError(source, f"duplicate id {entry['id']}",
                             field=f"/requirements/{index}/id")
        seen.add(entry["id"])


def _requirement(entry: dict[str, Any]) -> Requirement:
    return Requirement(
        id=entry["id"],
        level=entry["level"],
        area=entry["area"],
        kind=entry["kind"],
        title=entry["title"],
        quote=entry["source"]["quote"],
        section=entry["source"]["section"],
        assumptions=tuple(entry.get("assumptions", ())),
        verified_by=tuple(entry["verified_by"]),
        note=entry.get("note", ""),
        temporary=bool(entry.get("temporary", False)),
    )


def load_catalog(version: str = "v1", path: str | Path | None = None) -> Catalog:
    """Load and validate the requirement catalog of a contract version (or a given file)."""
    file = Path(path) if path is not None else catalog_path(version)
    data = read_yaml(file)
    validate_catalog_data(data, str(file))
    return Catalog(
        contract=data["contract"],
        path=file,
        source_document=data["source"]["document"],
        requirements=tuple(_requirement(entry) for entry in data["requirements"]),
    )


# ------------------------------------------------------------------ collecting markers


@dataclass(frozen=True)
class MarkerScan:
    """What `pytest --collect-only` found: all test ids and the requirement markers."""

    tests: tuple[str, ...]  # every collected node id (parameters stripped)
    by_requirement: dict[str, tuple[str, ...]]  # requirement id -> verifying node ids

    def tests_under(self, prefix: str) -> tuple[str, ...]:
        return tuple(test for test in self.tests if test.startswith(prefix))


def _base_nodeid(nodeid: str) -> str:
    # One entry per test function: parametrized cases verify the same requirement.
    return nodeid.split("[", 1)[0]


class _MarkerCollector:
    """pytest plugin run inside the collection subprocess."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.errors: list[str] = []

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            text = str(report.longrepr).strip().splitlines()
            self.errors.append(f"{report.nodeid or '.'}: {text[-1] if text else 'error'}")

    def pytest_collection_finish(self, session) -> None:
        tests: list[str] = []
        markers: dict[str, list[str]] = {}
        for item in session.items:
            nodeid = _base_nodeid(item.nodeid)
            if nodeid not in tests:
                tests.append(nodeid)
            for mark in item.iter_markers(MARKER):
                for requirement_id in mark.args:
                    bucket = markers.setdefault(str(requirement_id), [])
                    if nodeid not in bucket:
                        bucket.append(nodeid)
        payload = {"tests": tests, "markers": markers, "errors": self.errors}
        self.out.write_text(json.dumps(payload), encoding="utf-8")


def _collect_in_process(out: Path, dirs: Sequence[str]) -> int:
    import pytest

    collector = _MarkerCollector(out)
    code = pytest.main(["--collect-only", "-q", "--rootdir", os.getcwd(), *dirs],
                       plugins=[collector])
    if not out.exists():  # collection aborted before finishing
        out.write_text(json.dumps({"tests": [], "markers": {}, "errors": collector.errors}))
    return int(code)


def collect_requirement_markers(test_root: Path,
                                dirs: Sequence[str] = TEST_DIRS) -> MarkerScan:
    """Collect (not run) the tests under ``test_root/<dirs>`` and read their markers."""
    test_root = Path(test_root).resolve()
    present = [d for d in dirs if (test_root / d).is_dir()]
    if not present:
        return MarkerScan(tests=(), by_requirement={})
    with tempfile.TemporaryDirectory(prefix="ihub-catalog-") as tmp:
        out = Path(tmp) / "markers.json"
        cmd = [sys.executable, "-m", "ihub_conformance.contract.catalog", "_collect", str(out),
               *present]
        try:
            proc = subprocess.run(cmd, cwd=test_root, capture_output=True, text=True,
                                  timeout=_COLLECT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise ConformanceError(
                f"{test_root}: test collection took longer than {_COLLECT_TIMEOUT_S}s") from None
        if not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ConformanceError(f"{test_root}: test collection failed: "
                                   f"{tail[-1] if tail else f'exit {proc.returncode}'}")
        payload = json.loads(out.read_text(encoding="utf-8"))
    if payload["errors"]:
        raise InputError(str(test_root), f"pytest could not collect {payload['errors'][0]}")
    return MarkerScan(
        tests=tuple(payload["tests"]),
        by_requirement={key: tuple(value) for key, value in payload["markers"].items()},
    )


# ------------------------------------------------------------------ rewriting the YAML

_ID_LINE = re.compile(r"^\s*- id:\s*(?P<id>\S+)\s*$")
_VERIFIED_LINE = re.compile(r"^(?P<indent>\s+)verified_by:")


def _render_verified_by(indent: str, tests: Sequence[str]) -> list[str]:
    if not tests:
        return [f"{indent}verified_by: []\n"]
    quoted = ["'" + test.replace("'", "''") + "'" for test in tests]
    return [f"{indent}verified_by:\n"] + [f"{indent}  - {q}\n" for q in quoted]


def rewrite_verified_by(text: str, verified_by: dict[str, Sequence[str]]) -> str:
    """Replace each entry's `verified_by` block; every other line stays byte-identical."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        id_match = _ID_LINE.match(line)
        if id_match:
            current = id_match.group("id")
        key = _VERIFIED_LINE.match(line)
        if key and current is not None:
            indent = key.group("indent")
            i += 1
            # The old block: list items indented deeper than the key.
            while i < len(lines):
                nxt = lines[i]
                depth = len(nxt) - len(nxt.lstrip(" "))
                if nxt.strip().startswith("- ") and depth > len(indent):
                    i += 1
                    continue
                break
            out.extend(_render_verified_by(indent, verified_by.get(current, ())))
            current = None
            continue
        out.append(line)
        i += 1
    return "".join(out)


def _without_verified_by(data: dict[str, Any]) -> dict[str, Any]:
    stripped = dict(data)
    stripped["requirements"] = [
        {k: v for k, v in entry.items() if k != "verified_by"} for entry in data["requirements"]
    ]
    return stripped


def sync_verified_by(test_root: Path, catalog_path: Path, *, check: bool = False,
                     dirs: Sequence[str] = TEST_DIRS) -> dict[str, Any]:
    """Set every entry's `verified_by` from the tests' requirement markers.

    Returns ``{"verified_by": {id: [...]}, "changed": [ids], "unknown": {id: [tests]},
    "tests": n, "written": bool}``. With ``check`` nothing is written. Markers naming
    ids that are not in the catalog are reported under ``unknown`` (a typo in a test).
    """
    catalog_path = Path(catalog_path)
    text = catalog_path.read_text(encoding="utf-8")
    data = read_yaml(catalog_path)
    validate_catalog_data(data, str(catalog_path))
    scan = collect_requirement_markers(test_root, dirs)
    ids = [entry["id"] for entry in data["requirements"]]
    wanted = {rid: sorted(scan.by_requirement.get(rid, ())) for rid in ids}
    changed = [entry["id"] for entry in data["requirements"]
               if list(entry["verified_by"]) != wanted[entry["id"]]]
    unknown = {rid: list(tests) for rid, tests in sorted(scan.by_requirement.items())
               if rid not in wanted}
    written = False
    if changed and not check:
        new_text = rewrite_verified_by(text, wanted)
        new_data = yaml.safe_load(new_text)
        # Safety net: the rewrite may touch verified_by and nothing else.
        if (_without_verified_by(new_data) != _without_verified_by(data)
                or [e["verified_by"] for e in new_data["requirements"]] != list(wanted.values())):
            raise ConformanceError(f"{catalog_path}: cannot rewrite verified_by in place "
                                   "(keep `verified_by:` the last key of every entry)")
        catalog_path.write_text(new_text, encoding="utf-8")
        written = True
    return {"verified_by": wanted, "changed": changed, "unknown": unknown,
            "tests": len(scan.tests), "written": written}


if __name__ == "__main__":  # internal: the collection subprocess of collect_requirement_markers
    sys.exit(_collect_in_process(Path(sys.argv[2]), sys.argv[3:]))

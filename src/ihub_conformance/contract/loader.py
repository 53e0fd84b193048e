"""Load a contract version: its schemas, an offline `referencing` registry and its vocabulary."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ihub_conformance._paths import contracts_dir
from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.errors import ConformanceError

DEFAULT_VERSION = "v1"
ID_BASE = "https://ihub-conformance.invalid/contracts"

# short name -> file under contracts/<version>/
SCHEMA_FILES = {
    "common": "common.schema.json",
    "widget": "widget.schema.json",
    "interaction-event": "interaction-event.schema.json",
    "manifest": "manifest.schema.json",
    "vocabulary": "vocabulary.schema.json",
    "widget-mapping": "widget-mapping.schema.json",
    "state-hub-progress": "state-hub-progress.schema.json",
}

_VERSION = re.compile(r"^v[0-9]+$")


@dataclass(frozen=True)
class Contract:
    """One contract version, loaded from ``contracts/<version>/``."""

    version: str
    directory: Path
    schemas: dict[str, dict[str, Any]]
    registry: Registry
    vocabulary: dict[str, Any]
    openapi_path: Path

    @property
    def assumptions(self) -> Assumptions:
        """The assumption register for this version (v1's when the version has none)."""
        return load_assumptions(self.version)

    def schema_id(self, name: str) -> str:
        """The ``$id`` of a schema by short name, e.g. ``interaction-event``."""
        return str(self.schemas[name]["$id"])


def available_versions() -> list[str]:
    """Contract versions present under ``contracts/``, oldest first."""
    root = contracts_dir()
    found = (
        [
            child.name
            for child in root.iterdir()
            if child.is_dir()
            and _VERSION.match(child.name)
            and (child / SCHEMA_FILES["common"]).is_file()
        ]
        if root.is_dir()
        else []
    )
    return sorted(found, key=lambda name: int(name[1:]))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConformanceError(f"{path}: broken contract file: {exc}") from None


def refuse_retrieval(uri: str) -> Resource:
    """The retriever of every schema registry (referencing and jsonschema-rs): refuse.

    Every document of a contract is in the registry; anything else would be a network
    fetch, which the contracts must never need.
    """
    raise ConformanceError(f"contract reference {uri} is not in the contract; refusing to fetch it")


def load_contract(version: str = DEFAULT_VERSION) -> Contract:
    """Load a contract version (``v0``, ``v1``...); unknown versions are a ConformanceError."""
    return _load_cached(str(version))


@functools.lru_cache(maxsize=8)
def _load_cached(version: str) -> Contract:
    versions = available_versions()
    if version not in versions:
        raise ConformanceError(
            f"unknown contract version {version!r}; available: {', '.join(versions) or 'none'}"
        )
    return load_contract_dir(contracts_dir() / version, version)


def load_contract_dir(directory: Path, version: str) -> Contract:
    """Load a contract directory outside contracts/ (a copy, a git revision) as ``version``."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, filename in SCHEMA_FILES.items():
        schema = _read_json(directory / filename)
        expected = f"{ID_BASE}/{version}/{filename}"
        if schema.get("$id") != expected:
            raise ConformanceError(f"{directory / filename}: $id must be {expected!r}")
        schemas[name] = schema
    vocabulary = _read_json(directory / "vocabulary" / "ops-hub.json")
    registry: Registry = Registry(retrieve=refuse_retrieval).with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas.values()
    )
    return Contract(
        version=version,
        directory=directory,
        schemas=schemas,
        registry=registry.crawl(),
        vocabulary=vocabulary,
        openapi_path=directory / "openapi.yaml",
    )

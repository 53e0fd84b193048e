"""The assumption register: one place for every choice the source leaves open."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ihub_conformance._paths import contracts_dir
from ihub_conformance.documents import read_yaml
from ihub_conformance.errors import InputError

ENV_OVERRIDE = "IHUB_ASSUMPTIONS"


@dataclass(frozen=True)
class Assumptions:
    """The register's entries and the (possibly overridden) values."""

    contract: str
    entries: tuple[dict[str, Any], ...]
    values: dict[str, Any] = field(default_factory=dict)
    overridden_from: str | None = None

    def get(self, dotted: str) -> Any:
        """Read a value by dotted path, e.g. ``auth.header``."""
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return node

    def path(self, name: str, **params: str) -> str:
        """An API path from ``values.paths`` with ``{placeholders}`` filled in."""
        return str(self.values["paths"][name]).format(**params)

    def auth_headers(self, key: str) -> dict[str, str]:
        auth = self.values["auth"]
        scheme = auth.get("scheme") or ""
        return {auth["header"]: f"{scheme} {key}".strip()}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_assumptions(version: str = "v1", override: str | Path | None = None) -> Assumptions:
    """Load the register for a contract version, with a user override merged in.

    ``override`` defaults to the file named by ``$IHUB_ASSUMPTIONS``.
    """
    register = contracts_dir() / version / "assumptions.yaml"
    if not register.is_file():
        register = contracts_dir() / "v1" / "assumptions.yaml"
    data = read_yaml(register, syntax="YAML/JSON")
    values = data["values"]
    source = override or os.environ.get(ENV_OVERRIDE) or None
    if source:
        extra = read_yaml(Path(source), syntax="YAML/JSON")
        if not isinstance(extra, dict):
            raise InputError(str(source), "must be a mapping of assumption values")
        extra = extra.get("values", extra)
        unknown = sorted(set(extra) - set(values))
        if unknown:
            raise InputError(str(source), "unknown assumption key", field=unknown[0])
        values = _deep_merge(values, extra)
    return Assumptions(
        contract=str(data.get("contract", version)),
        entries=tuple(data["entries"]),
        values=values,
        overridden_from=str(source) if source else None,
    )

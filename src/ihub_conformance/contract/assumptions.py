"""The assumption register: one place for every choice the source leaves open.

``values`` holds the register's choices (overridable, shape: assumptions.schema.json);
``fixed`` holds what the source document itself fixes (readable the same way, never
overridable). Everything that talks to or plays a hub reads both through ``Assumptions``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from ihub_conformance._paths import contracts_dir
from ihub_conformance.documents import read_yaml
from ihub_conformance.errors import InputError

ENV_OVERRIDE = "IHUB_ASSUMPTIONS"
# Status specs (values.status.*): an int, a list of ints, "2xx"/"4xx", or "any" (no 5xx).
ANY_STATUS = "any"
# path name -> the values.endpoints switch saying whether the hub has that read
ENDPOINT_OF = {"widget": "widget", "widget_versions": "widget_versions", "hubs": "hubs",
               "event_types": "registries", "widget_types": "registries",
               "policy_scopes": "registries", "manifest": "manifest", "consumer": "consumer",
               "openapi": "openapi"}


@dataclass(frozen=True)
class Assumptions:
    """The register's entries, the (possibly overridden) values and the fixed values."""

    contract: str
    entries: tuple[dict[str, Any], ...]
    values: dict[str, Any] = field(default_factory=dict)
    overridden_from: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)  # dotted key -> value

    def get(self, dotted: str) -> Any:
        """Read a value by dotted path, e.g. ``auth.header`` (fixed values too)."""
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return node

    def path(self, name: str, **params: str) -> str:
        """An API path (``values.paths`` or a fixed one) with ``{placeholders}`` filled in."""
        return str(self.get(f"paths.{name}")).format(**params)

    def auth_headers(self, key: str | None) -> dict[str, str]:
        """The header carrying ``key`` (none when the hub takes no key, or no key given)."""
        auth = self.values["auth"]
        if not key or not auth.get("header"):
            return {}
        scheme = auth.get("scheme") or ""
        return {auth["header"]: f"{scheme} {key}".strip()}

    def needs_key(self, name: str) -> bool:
        """Whether the read named ``name`` (under paths) needs a key in this dialect."""
        auth = self.values["auth"]
        return bool(auth.get("header")) and name not in (auth.get("public_reads") or ())

    def has_endpoint(self, name: str) -> bool:
        """Whether the hub has the optional read ``name`` (values.endpoints)."""
        return bool(self.values["endpoints"].get(name, True))

    def serves(self, path_name: str) -> bool:
        """Whether the hub answers the path named ``path_name`` at all (ENDPOINT_OF)."""
        return self.has_endpoint(ENDPOINT_OF.get(path_name, path_name))

    def success_ok(self, operation: str, status: int) -> bool:
        """Whether ``status`` is the register's success answer for ``create_widget``/..."""
        return status_matches(self.values["status"][operation], status)

    def rejection_ok(self, case: str, status: int) -> bool:
        """Whether ``status`` is the register's answer for the rejection ``case``."""
        return status_matches(self.values["status"]["rejections"][case], status)

    def asm_id(self, dotted: str) -> str | None:
        """The id of the entry whose ``values`` list holds ``dotted`` (or a parent of it)."""
        for entry in self.entries:
            for owned in entry.get("values") or ():
                if dotted == owned or dotted.startswith(owned + "."):
                    return str(entry["id"])
        return None

    def shape_owner(self, kind: str) -> str | None:
        """The id of the entry that guessed the shape of a ``kind`` answer (its ``shapes``),
        None for a shape the source fixes."""
        for entry in self.entries:
            if kind in (entry.get("shapes") or ()):
                return str(entry["id"])
        return None

    def ids(self) -> tuple[str, ...]:
        return tuple(str(entry["id"]) for entry in self.entries)

    def is_fixed(self, dotted: str) -> bool:
        return dotted in self.fixed


def status_matches(spec: Any, status: int) -> bool:
    """Whether ``status`` satisfies a register status spec."""
    if spec == ANY_STATUS:
        return status < 500
    if isinstance(spec, str) and len(spec) == 3 and spec.endswith("xx"):
        return status // 100 == int(spec[0])
    if isinstance(spec, list):
        return status in spec
    return status == spec


def describe_status(spec: Any) -> str:
    """A status spec as text for messages: ``201``, ``400 or 422``, ``any 4xx``."""
    if spec == ANY_STATUS:
        return "any non-5xx"
    if isinstance(spec, str):
        return f"any {spec}"
    if isinstance(spec, list):
        return " or ".join(str(code) for code in spec)
    return str(spec)


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _nested(dotted: str, value: Any) -> dict[str, Any]:
    """``a.b`` and 1 -> ``{"a": {"b": 1}}``."""
    node: Any = value
    for part in reversed(dotted.split(".")):
        node = {part: node}
    return node


def _leaves(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every key in ``node`` (parents and leaves)."""
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, dict):
            yield from _leaves(value, dotted + ".")


def _refuse_fixed(source: str, override: Mapping[str, Any], fixed: list[dict[str, Any]]) -> None:
    """An override of a value the source fixes is refused, naming the source statement."""
    touched = set(_leaves(override))
    for item in fixed:
        if item["key"] in touched:
            raise InputError(source, f"fixed by the source document ({item['source']}); "
                             "not an assumption, so it cannot be overridden", field=item["key"])


def _check_values(source: str, values: dict[str, Any]) -> None:
    """One line naming the first bad field when ``values`` break assumptions.schema.json."""
    schema = json.loads((contracts_dir() / "v1" / "assumptions.schema.json").read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(values))
    if error is None:
        return
    where = ".".join(str(part) for part in error.absolute_path) or None
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = ".".join(filter(None, [where, unknown[0] if unknown else None]))
        raise InputError(source, "unknown assumption key", field=where)
    raise InputError(source, f"not a valid assumption value: {error.message[:200]}", field=where)


def _read_override(source: str) -> dict[str, Any]:
    extra = read_yaml(Path(source), syntax="YAML/JSON")
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise InputError(source, "must be a mapping of assumption values")
    extra = extra.get("values", extra)
    if not isinstance(extra, dict):
        raise InputError(source, "must be a mapping of assumption values", field="values")
    return extra


def load_assumptions(version: str = "v1", override: str | Path | None = None) -> Assumptions:
    """Load the register for a contract version, with a user override merged in.

    ``override`` defaults to the file named by ``$IHUB_ASSUMPTIONS``. An unknown key, a
    value of the wrong kind, or an override of a value the source fixes is an InputError.
    """
    register = contracts_dir() / version / "assumptions.yaml"
    if not register.is_file():
        register = contracts_dir() / "v1" / "assumptions.yaml"
    data = read_yaml(register, syntax="YAML/JSON")
    values = data["values"]
    fixed = list(data.get("fixed") or ())
    source = str(override or os.environ.get(ENV_OVERRIDE) or "") or None
    if source:
        extra = _read_override(source)
        _refuse_fixed(source, extra, fixed)
        values = _deep_merge(values, extra)
        _check_values(source, values)
    for item in fixed:  # readable in place too: values["paths"]["widgets"]
        values = _deep_merge(values, _nested(item["key"], item["value"]))
    return Assumptions(
        contract=str(data.get("contract", version)),
        entries=tuple(data["entries"]),
        values=values,
        overridden_from=source,
        fixed={item["key"]: item["value"] for item in fixed},
    )

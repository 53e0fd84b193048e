"""Loading and checking the reference hub's seed (fixtures/seed/ops-hub.yaml).

A bad seed is refused before the hub starts, with one line naming the file,
the field (``widgets[2].widgetType``) and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ihub_conformance._paths import seed_dir
from ihub_conformance.documents import PARSE_ERRORS, StrictLoader, refusal
from ihub_conformance.errors import InputError

DEFAULT_SEED_NAME = "ops-hub.yaml"
_SECTIONS = ("hubs", "event_types", "widget_types", "policy_scopes", "adapter_specs",
             "manifests", "consumers", "widgets", "progress")


def default_seed_path() -> Path:
    return seed_dir() / DEFAULT_SEED_NAME


def load_seed(seed: str | Path | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read and check a seed: a path, an already-parsed mapping, or None (the default)."""
    if isinstance(seed, Mapping):
        return _check(dict(seed), "<seed>")
    path = Path(seed) if seed is not None else default_seed_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise InputError(str(path), f"cannot read seed: {reason}") from None
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except PARSE_ERRORS as exc:
        raise refusal(str(path), exc) from None
    return _check(data, str(path))


def normalize_timestamp(value: Any) -> str:
    """RFC 3339 UTC with microseconds, so stored timestamps sort as strings."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, reason: str) -> InputError:
        return InputError(self.source, reason, field=field)

    def rows(self, data: dict[str, Any], section: str) -> list[dict[str, Any]]:
        rows = data.get(section) or []
        if not isinstance(rows, list):
            raise self.fail(section, "must be a list")
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise self.fail(f"{section}[{index}]", "must be a mapping")
        return rows

    def text(self, row: dict[str, Any], where: str, key: str, *, optional: bool = False) -> Any:
        value = row.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(f"{where}.{key}", "must be a non-empty string")
        return value

    def uid(self, row: dict[str, Any], where: str, key: str) -> str:
        value = self.text(row, where, key)
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise self.fail(f"{where}.{key}", "must be a UUID") from None

    def names(self, row: dict[str, Any], where: str, key: str, known: set[str]) -> list[str]:
        value = row.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", "must be a list of strings")
        for index, name in enumerate(value):
            if name not in known:
                raise self.fail(f"{where}.{key}[{index}]", f"{name!r} is not in the registry")
        return value


# long: one validation pass over the seed's sections, in file order
def _check(data: Any, source: str) -> dict[str, Any]:
    c = _Checker(source)
    if not isinstance(data, dict):
        raise InputError(source, "seed must be a mapping of sections")
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise c.fail(unknown[0], f"unknown section (known: {', '.join(_SECTIONS)})")
    out: dict[str, Any] = {}
    hubs = {}
    for i, row in enumerate(c.rows(data, "hubs")):
        where = f"hubs[{i}]"
        hub = {"id": c.uid(row, where, "id"), "slug": c.text(row, where, "slug"),
               "name": c.text(row, where, "name")}
        hubs[hub["slug"]] = hub
    out["hubs"] = list(hubs.values())
    registries: dict[str, set[str]] = {}
    for section in ("event_types", "widget_types", "policy_scopes"):
        rows = []
        for i, row in enumerate(c.rows(data, section)):
            where = f"{section}[{i}]"
            rows.append({"name": c.text(row, where, "name"),
                         "description": c.text(row, where, "description", optional=True)})
        out[section] = rows
        registries[section] = {r["name"] for r in rows}
    manifests = {}
    for i, row in enumerate(c.rows(data, "manifests")):
        where = f"manifests[{i}]"
        hub = c.text(row, where, "hub")
        if hub not in hubs:
            raise c.fail(f"{where}.hub", f"unknown hub {hub!r}")
        status = c.text(row, where, "status")
        categories = row.get("annotationCategories")
        if not isinstance(categories, list) or not categories or not all(
            isinstance(v, str) and v for v in categories
        ):
            raise c.fail(f"{where}.annotationCategories", "must be a non-empty list of strings")
        version = row.get("version")
        if not isinstance(version, int | str) or isinstance(version, bool):
            raise c.fail(f"{where}.version", "must be an integer or a string")
        manifest = {
            "id": c.uid(row, where, "id"), "hub": hub, "version": version, "status": status,
            "eventTypes": c.names(row, where, "eventTypes", registries["event_types"]),
            "widgetTypes": c.names(row, where, "widgetTypes", registries["widget_types"]),
            "annotationCategories": categories,
            "policyScopes": c.names(row, where, "policyScopes", registries["policy_scopes"]),
        }
        manifests[manifest["id"]] = manifest
    out["manifests"] = list(manifests.values())
    consumers = []
    for i, row in enumerate(c.rows(data, "consumers")):
        where = f"consumers[{i}]"
        hub = c.text(row, where, "hub")
        if hub not in hubs:
            raise c.fail(f"{where}.hub", f"unknown hub {hub!r}")
        manifest = row.get("manifest")
        if manifest is not None:
            manifest = c.uid(row, where, "manifest")
            if manifest not in manifests:
                raise c.fail(f"{where}.manifest", f"unknown manifest {manifest}")
        consumers.append({"id": c.uid(row, where, "id"), "name": c.text(row, where, "name"),
                          "hub": hub, "manifest": manifest,
                          "key_env": c.text(row, where, "key_env", optional=True)})
    if len({r["name"] for r in consumers}) != len(consumers):
        raise c.fail("consumers", "consumer names must be unique")
    out["consumers"] = consumers
    out["adapter_specs"] = [{"id": c.uid(row, f"adapter_specs[{i}]", "id"),
                             "name": c.text(row, f"adapter_specs[{i}]", "name")}
                            for i, row in enumerate(c.rows(data, "adapter_specs"))]
    registries["adapter_specs"] = {row["id"] for row in out["adapter_specs"]}
    out["widgets"] = [_widget(c, row, i, hubs, registries)
                      for i, row in enumerate(c.rows(data, "widgets"))]
    out["progress"] = [_progress(c, row, i) for i, row in enumerate(c.rows(data, "progress"))]
    return out


def _widget(c: _Checker, row: dict[str, Any], i: int, hubs: dict[str, Any],
            registries: dict[str, set[str]]) -> dict[str, Any]:
    where = f"widgets[{i}]"
    hub = c.text(row, where, "hub")
    if hub not in hubs:
        raise c.fail(f"{where}.hub", f"unknown hub {hub!r}")
    widget_type = c.text(row, where, "widgetType")
    if widget_type not in registries["widget_types"]:
        raise c.fail(f"{where}.widgetType", f"{widget_type!r} is not in the registry")
    scope = c.text(row, where, "policyScope", optional=True) or "internal"
    if scope not in registries["policy_scopes"]:
        raise c.fail(f"{where}.policyScope", f"{scope!r} is not in the registry")
    status = c.text(row, where, "status", optional=True) or "active"
    if status not in ("active", "deprecated", "draft"):
        raise c.fail(f"{where}.status", "must be active, deprecated or draft")
    adapter = row.get("adapterSpecId")
    if adapter is not None and str(adapter).lower() not in registries["adapter_specs"]:
        raise c.fail(f"{where}.adapterSpecId", "names no entry of adapter_specs")
    return {
        "id": c.uid(row, where, "id"), "hubId": hubs[hub]["id"], "name": c.text(row, where, "name"),
        "widgetType": widget_type, "policyScope": scope, "status": status,
        "capabilityRef": c.text(row, where, "capabilityRef", optional=True),
        "viewContext": c.text(row, where, "viewContext", optional=True),
        "adapterSpecId": c.text(row, where, "adapterSpecId", optional=True),
    }


def _progress(c: _Checker, row: dict[str, Any], i: int) -> dict[str, Any]:
    where = f"progress[{i}]"
    detail = row.get("detail") or {}
    if not isinstance(detail, dict):
        raise c.fail(f"{where}.detail", "must be a mapping")
    created = row.get("created_at") or datetime.now(UTC)
    try:
        created = normalize_timestamp(created)
    except (TypeError, ValueError):
        raise c.fail(f"{where}.created_at", "must be an RFC 3339 timestamp with zone") from None
    progress_id = row.get("id")
    if not isinstance(progress_id, int) or isinstance(progress_id, bool) or progress_id < 1:
        raise c.fail(f"{where}.id", "must be a positive integer")
    return {
        "id": progress_id, "event_type": c.text(row, where, "event_type"),
        "idempotency_key": c.text(row, where, "idempotency_key", optional=True),
        "activity_core_run_id": c.text(row, where, "activity_core_run_id", optional=True),
        "context_key": c.text(row, where, "context_key", optional=True),
        "detail": detail, "created_at": created,
    }

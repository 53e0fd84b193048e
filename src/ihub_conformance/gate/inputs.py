"""The widget mapping the gate checks: from --mapping, $OPS_HUB_WIDGET_MAPPING or the manifests.

The mapping may be a file path or JSON text, and may arrive wrapped as
``{"widget_mapping": {...}}`` or ``{"capability_mapping": {...}}`` (the config
keys activity-core accepts); the gate unwraps it before checking.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ihub_conformance.documents import PARSE_ERRORS, loads_json, read_text, refusal
from ihub_conformance.errors import InputError

MAPPING_ENV = "OPS_HUB_WIDGET_MAPPING"
WRAPPER_KEYS = ("widget_mapping", "capability_mapping")


@dataclass(frozen=True)
class MappingInput:
    """A parsed mapping document and where it came from (for file:line evidence)."""

    doc: Any  # unwrapped document (normally a dict)
    text: str
    source: str  # a file path, or "$OPS_HUB_WIDGET_MAPPING", or "file:line"
    file: str | None  # the file holding the text, if any
    first_line: int = 1  # line of the text's first character in that file
    wrapper: str | None = None

    @property
    def entries(self) -> list[dict[str, Any]]:
        rows = self.doc.get("mappings") if isinstance(self.doc, dict) else None
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    def _names(self, field: str) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.entries:
            value = row.get(field)
            if isinstance(value, str) and value:
                seen.setdefault(value)
        return list(seen)

    @property
    def event_types(self) -> list[str]:
        return self._names("eventType")

    @property
    def widget_types(self) -> list[str]:
        return self._names("widgetType")

    @property
    def policy_scopes(self) -> list[str]:
        return self._names("policyScope")

    @property
    def hub(self) -> str | None:
        hub = self.doc.get("hub") if isinstance(self.doc, dict) else None
        return hub if isinstance(hub, str) else None


def parse_mapping_text(text: str, source: str, *, file: str | None = None,
                       first_line: int = 1) -> MappingInput:
    """Parse JSON mapping text; malformed JSON is an InputError naming the line."""
    try:
        doc = loads_json(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"widget mapping is not valid JSON "
                         f"(line {first_line + exc.lineno - 1}: {exc.msg})") from None
    except PARSE_ERRORS as exc:
        raise refusal(source, exc, "JSON") from None
    wrapper = None
    if isinstance(doc, dict) and len(doc) == 1 and next(iter(doc)) in WRAPPER_KEYS:
        wrapper = next(iter(doc))
        doc = doc[wrapper]
    return MappingInput(doc, text, source, file, first_line, wrapper)


def _read_file(path: str, source: str) -> MappingInput:
    return parse_mapping_text(read_text(path, "widget mapping"), source, file=path)


def _is_file(value: str) -> bool:
    """Whether ``value`` names a file; a value no file name can be (too long, a NUL) is not."""
    try:
        return Path(value).is_file()
    except (OSError, ValueError):
        return False


def mapping_from_value(value: str, source: str) -> MappingInput:
    """An OPS_HUB_WIDGET_MAPPING-style value: JSON text, else a path to a JSON file."""
    if value.lstrip().startswith(("{", "[")):
        return parse_mapping_text(value, source)
    if _is_file(value):
        return _read_file(value, value)
    raise InputError(source, "neither JSON text nor a readable file path")


def resolve_mapping(option: str | None) -> MappingInput | None:
    """--mapping FILE (JSON text also accepted), else $OPS_HUB_WIDGET_MAPPING, else None."""
    if option:
        if _is_file(option) or not option.lstrip().startswith("{"):
            return _read_file(option, option)
        return parse_mapping_text(option, "--mapping")
    value = os.environ.get(MAPPING_ENV, "")
    if value.strip():
        return mapping_from_value(value, f"${MAPPING_ENV}")
    return None

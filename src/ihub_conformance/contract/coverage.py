"""Which words of the source document no catalog entry and no "not a requirement" covers.

The source (``contracts/source/ops-hub-evidence-intake.md``) is read whole: prose, bullets,
tables, the gate list, the code block and the open questions. Each section's text is
whitespace-normalised; every quote (a requirement's or a reasoned non-requirement's)
marks the characters it spans. A letter or digit no quote spans is an unread
statement, reported with the statement around it. Markdown syntax (headings, code
fences, list numbers, table rules) is not text and needs no cover.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ihub_conformance._paths import contracts_dir
from ihub_conformance.documents import read_yaml
from ihub_conformance.errors import InputError

PREAMBLE = "(preamble)"  # the title and the date lines before the first `## ` heading
REASONS = ("context", "observation", "open-question", "metadata", "pointer", "restates")
_FENCE = re.compile(r"^```.*$", re.M)
_TABLE_RULE = re.compile(r"^\|[\s|:-]+\|\s*$", re.M)
_LIST_NUMBER = re.compile(r"(?:^|(?<=\s))\d+\.(?=\s)")
_TITLE = re.compile(r"^# .*$", re.M)
# where one statement ends and the next begins, in normalised text
_BREAK = re.compile(r"(?<=[.;])\s+(?=[A-Z`])|(?<=`)\s+(?=[A-Z])|\s+(?=- )|\s+(?=\d+\. )|\s*\|\s*")


@dataclass(frozen=True)
class NotRequirement:
    """A sentence of the source that states no requirement, and why."""

    section: str
    quote: str
    reason: str  # one of REASONS
    why: str


def source_path() -> Path:
    """The pinned copy of the source the catalog quotes."""
    return contracts_dir() / "source" / "ops-hub-evidence-intake.md"


def normalise(text: str) -> str:
    return " ".join(text.split())


def source_sections(text: str) -> dict[str, str]:
    """Section heading -> the section's prose, normalised, without markdown syntax."""
    parts = re.split(r"^## ", text, flags=re.M)
    sections = {PREAMBLE: _prose(_TITLE.sub("", parts[0]))}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        sections[heading.strip()] = _prose(body)
    return sections


def _prose(body: str) -> str:
    return normalise(_TABLE_RULE.sub("", _FENCE.sub("", body)))


def uncovered(sections: dict[str, str],
              quotes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(section, statement) for every statement with a letter or digit no quote spans.

    ``quotes`` are (section, quote) pairs; every occurrence of a quote in its section
    counts. A quote not found in its section covers nothing (the catalog test reports it).
    """
    covered = {name: bytearray(len(text)) for name, text in sections.items()}
    for section, quote in quotes:
        text, needle = sections.get(section), normalise(quote)
        if text is None or not needle:
            continue
        start = text.find(needle)
        while start != -1:
            covered[section][start:start + len(needle)] = b"\1" * len(needle)
            start = text.find(needle, start + 1)
    missing: list[tuple[str, str]] = []
    for name, text in sections.items():
        syntax = {m.start() + i for m in _LIST_NUMBER.finditer(text) for i in range(len(m[0]))}
        for start, end in _statements(text):
            if any(text[i].isalnum() and not covered[name][i] and i not in syntax
                   for i in range(start, end)):
                missing.append((name, text[start:end]))
    return missing


def _statements(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _BREAK.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def not_requirements_path(version: str = "v1") -> Path:
    return contracts_dir() / version / "not-requirements.yaml"


def load_not_requirements(version: str = "v1",
                          path: str | Path | None = None) -> tuple[NotRequirement, ...]:
    """The reasoned list of source sentences that are not requirements."""
    where = Path(path) if path else not_requirements_path(version)
    data = read_yaml(where, syntax="YAML")
    entries = data.get("statements") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(str(where), "must hold a `statements` list", field="/statements")
    return tuple(_not_requirement(entry, str(where), index)
                 for index, entry in enumerate(entries))


def _not_requirement(entry: Any, source: str, index: int) -> NotRequirement:
    fields = ("section", "quote", "reason", "why")
    if not isinstance(entry, dict) or set(entry) != set(fields) or not all(
            isinstance(entry[name], str) and entry[name].strip() for name in fields):
        raise InputError(source, f"needs exactly {', '.join(fields)} (non-empty strings)",
                         field=f"/statements/{index}")
    if entry["reason"] not in REASONS:
        raise InputError(source, f"reason must be one of {', '.join(REASONS)}",
                         field=f"/statements/{index}/reason")
    return NotRequirement(*(entry[name] for name in fields))

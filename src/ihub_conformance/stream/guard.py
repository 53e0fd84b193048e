"""The stream tier's raw-line guard: one pattern over a JSON line, derived from the contract.

Most of the event schema's cost is per string: every metadata value goes through
SafeString's secret-pattern alternation and its blank check. A JSON line holds each string
verbatim between quotes (an escape puts a backslash in the line, and a backslash is a
secret prefilter anchor), so one pattern over the raw line can prove that no string in it
can fail those checks. `guard_pattern` reads them from the loaded contract itself: the
secret prefilter, each SafeString `not: {pattern}` with its `^`/`$` anchors read as the
string's quotes, and a whitespace-only string for the blank check. A line the pattern
does not match holds no string those checks or the secret detectors could flag.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.secrets import scan as secret_scan
from ihub_conformance.stream.raw_patterns import quotes_for_anchors

__all__ = ["guard_pattern", "string_checks"]

_NEGATED_CLASS = re.compile(r"^\[\^([^\[\]]+)\]$")


def string_checks(node: Any) -> list[str]:
    """Raw-line patterns for the per-string secret and blank checks under `node`."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += string_checks(item)
        return found
    if not isinstance(node, dict):
        return found
    parts = node.get("allOf")
    secret = [part["not"]["pattern"] for part in parts or ()
              if isinstance(part, dict) and "x-secret-patterns" in part
              and isinstance(part.get("not"), dict) and "pattern" in part["not"]]
    if secret:  # a SafeString: its secret alternation and its blank check
        found += [quotes_for_anchors(pattern) for pattern in secret]
        blank = node.get("pattern")
        match = _NEGATED_CLASS.match(blank) if isinstance(blank, str) else None
        if match:  # "has a character outside X" fails only for strings of X's
            found.append(f'"[{match.group(1)}]*"')
    for value in node.values():
        found += string_checks(value)
    return found


@functools.lru_cache(maxsize=8)
def guard_pattern(version: str = "v1") -> str:
    """The raw-line pattern of `version`: a line it does not match is clean."""
    checks = string_checks(list(load_contract(version).schemas.values()))
    return "|".join([f"(?:{secret_scan.PREFILTER_PATTERN})",
                     *(f"(?-i:{check})" for check in dict.fromkeys(checks))])

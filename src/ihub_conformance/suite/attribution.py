"""Verdicts that attribute: a wrong guess of ours is not a broken source rule.

A test checks two kinds of things. A statement of the source document stays a
plain ``assert``: when it fails, the hub broke a requirement. A value the source
leaves open (a status code, a header name, an envelope key, a parameter name)
comes from the assumption register; such a check goes through
:func:`expect_assumption`, and when the hub answers otherwise the failure is an
**assumption mismatch** (ASM id, expected, observed): the run is not a pass, and
the report says to calibrate, but no requirement is called broken.

A requirement the hub gives no way to observe (no such endpoint, no second key)
is ``unverifiable``: :func:`unverifiable` ends the test (or fixture) the way
``pytest.skip`` does, and the plugin records the reason.

Tests name the register entries they rely on with
``@pytest.mark.assumption("ASM-02", ...)`` beside ``@pytest.mark.requirement``.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import pytest

MARKER = "assumption"
CALIBRATE_HINT = ("the hub differs from a register guess, not from the source: "
                  "run `ihub-conformance calibrate --target URL` and pass its file "
                  "as --assumptions")
_VALUE_LIMIT = 300


def _show(value: object) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _VALUE_LIMIT else text[:_VALUE_LIMIT] + "…"


class AssumptionMismatch(AssertionError):
    """A hub answered differently from a register choice (not from a source statement)."""

    def __init__(self, asm_id: str, expected: object, observed: object,
                 detail: str = "") -> None:
        self.asm_id = asm_id
        self.expected = expected
        self.observed = observed
        self.detail = detail
        super().__init__(self.summary())

    def summary(self) -> str:
        """One line: which guess, what we expected, what the hub did."""
        what = f" ({self.detail})" if self.detail else ""
        return (f"assumption mismatch {self.asm_id}{what}: expected {_show(self.expected)}, "
                f"observed {_show(self.observed)}; {CALIBRATE_HINT}")

    def as_dict(self) -> dict[str, Any]:
        return {"assumption": self.asm_id, "expected": _show(self.expected),
                "observed": _show(self.observed), "detail": self.detail}


def expect_assumption(asm_id: str, ok: bool, *, expected: object, observed: object,
                      detail: str = "") -> None:
    """Raise AssumptionMismatch unless ok."""
    if not ok:
        raise AssumptionMismatch(asm_id, expected, observed, detail)


class Unverifiable(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """The hub gives no way to observe a requirement; ends the test like a skip.

    A subclass of pytest's skip outcome, so a test or fixture that raises it is
    never reported as failed, even outside this plugin; the plugin tells it from
    a plain skip and marks the test's requirements ``unverifiable``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(msg=f"unverifiable: {reason}", pytrace=False)


def unverifiable(reason: str) -> NoReturn:
    """End the current test: its requirements cannot be observed on this hub."""
    raise Unverifiable(reason)


def assumption_ids(item: pytest.Item) -> list[str]:
    """The register ids an item's ``assumption`` markers name, in order, once each."""
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        for asm in mark.args:
            if str(asm) not in ids:
                ids.append(str(asm))
    return ids


def classify(excinfo: pytest.ExceptionInfo[BaseException] | None) -> tuple[str, Any]:
    """What a test's exception means: ("mismatch", AssumptionMismatch) |
    ("unverifiable", reason) | ("other", None)."""
    if excinfo is None:
        return "other", None
    exc = excinfo.value
    if isinstance(exc, AssumptionMismatch):
        return "mismatch", exc
    if isinstance(exc, Unverifiable):
        return "unverifiable", exc.reason
    return "other", None

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
import re
from typing import Any, NoReturn

import httpx
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


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return out


def classify(excinfo: pytest.ExceptionInfo[BaseException] | None) -> tuple[str, Any]:
    """What a test's exception means: ("mismatch", AssumptionMismatch) |
    ("unverifiable", reason) | ("other", None)."""
    if excinfo is None:
        return "other", None
    exc = excinfo.value
    if isinstance(exc, BaseExceptionGroup):  # Hypothesis: several distinct failures
        leaves = _leaves(exc)
        if leaves and all(isinstance(leaf, AssumptionMismatch) for leaf in leaves):
            return "mismatch", leaves[0]
    if isinstance(exc, AssumptionMismatch):
        return "mismatch", exc
    # Hypothesis reports distinct errors of one test together: all mismatches is one.
    leaves = _failures(exc) if isinstance(exc, BaseExceptionGroup) else []
    if leaves and all(isinstance(leaf, AssumptionMismatch) for leaf in leaves):
        return "mismatch", leaves[0]
    if isinstance(exc, Unverifiable):
        return "unverifiable", exc.reason
    return "other", None


# -- attributing an unexpected answer ------------------------------------------------------


def path_assumption(assumptions: Any, path: str) -> str | None:
    """The register entry that chose ``path`` (None for a path the source fixes)."""
    for name, template in (assumptions.values.get("paths") or {}).items():
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(str(template)))
        if re.fullmatch(pattern, path) and not assumptions.is_fixed(f"paths.{name}"):
            return assumptions.asm_id(f"paths.{name}")
    return None


def status_mismatch(assumptions: Any, response: httpx.Response,
                    expected: int) -> AssumptionMismatch | None:
    """An answer whose status differs from ``expected`` only where the source is silent.

    The source fixes no status code: a 2xx where another 2xx was expected, a 4xx
    where another 4xx was expected, a refusal of the key as the register sends it,
    or no answer at a path the register guessed, contradict a guess, not the
    source. Anything else (a success where a rejection was due, a refusal of a
    valid request at a path the source names) is for the caller to fail.
    """
    code, request = response.status_code, response.request
    what = f"{request.method} {request.url.path}"
    if code // 100 == expected // 100 and code // 100 in (2, 4):
        asm = "ASM-06" if code < 300 else ("ASM-01" if expected == 401 else "ASM-05")
        return AssumptionMismatch(asm, expected, code, f"{what}: the source fixes no status")
    if code in (401, 403) and expected < 300:
        header = (assumptions.values.get("auth") or {}).get("header")
        if header and header in request.headers:
            return AssumptionMismatch("ASM-01", f"{expected} with the key in `{header}`", code,
                                      f"{what}: the hub refused the key as the register "
                                      "sends it")
        return AssumptionMismatch(assumptions.asm_id("auth.public_reads") or "ASM-09",
                                  f"{expected} without a key", code,
                                  f"{what}: the register takes this read to be public")
    asm = path_assumption(assumptions, request.url.path)
    if code in (404, 405) and expected < 300 and asm:
        return AssumptionMismatch(asm, f"{expected} at {request.url.path}", code,
                                  f"{what}: the register guessed this read's path")
    return None


def _failures(group: BaseException) -> list[BaseException]:
    inner = getattr(group, "exceptions", None)
    if not inner:
        return [group]
    return [leaf for exc in inner for leaf in _failures(exc)]

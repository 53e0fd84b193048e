"""Which way a changed ``pattern`` moves: language inclusion through greenery's automata.

A JSON Schema ``pattern`` searches (it is not anchored), so ``p`` becomes ``.*(p).*``
unless it starts with ``^`` or ends with ``$``. greenery reads the regular subset
(classes, groups, alternation, quantifiers, ``\\d \\s \\w`` and their negations); a
pattern outside it (inline flags, lookaround, backreferences, ``^`` or ``$`` inside
a group) is not compared, and the change counts as breaking both ways, saying so.
"""

from __future__ import annotations

import itertools
import re

from greenery import Fsm, parse

_NARROW, _WIDEN, _BOTH, _SAME = "narrow", "widen", "both", "doc"

# A '-' last (or first) in a character class is a literal in ECMA-262; greenery wants it escaped.
_CLASS_DASH = re.compile(r"(?<!\\)-\]")
_CLASS_DASH_FIRST = re.compile(r"(?<!\\)\[(\^?)-")


def _anchored(pattern: str) -> str:
    body = _CLASS_DASH_FIRST.sub(r"[\1\\-", _CLASS_DASH.sub(r"\\-]", pattern))
    start = body.startswith("^")
    end = body.endswith("$") and not body.endswith("\\$")
    core = body[1 if start else 0: len(body) - 1 if end else len(body)]
    return f"{'' if start else '.*'}({core}){'' if end else '.*'}"


def _automaton(pattern: str) -> Fsm | None:
    try:
        return parse(_anchored(pattern)).to_fsm()
    except Exception:  # greenery raises several types for what it cannot read
        return None


def _sample(fsm: Fsm) -> str | None:
    for found in itertools.islice(fsm.strings([]), 1):
        return "".join(found)
    return None


def compare_patterns(old: str, new: str) -> tuple[str, str, str | None]:
    """(effect, detail, a string the old pattern accepted and the new one refuses or None)."""
    before, after = _automaton(old), _automaton(new)
    if before is None or after is None:
        return _BOTH, "not compared (outside the regular subset greenery reads)", None
    lost = before.difference(after)
    gained = after.difference(before)
    lost_empty, gained_empty = lost.empty(), gained.empty()
    if lost_empty and gained_empty:
        return _SAME, "equivalent rewrite: the same strings match", None
    sample = None if lost_empty else _sample(lost)
    if gained_empty:
        return _NARROW, f"now refuses e.g. {sample!r}", sample
    if lost_empty:
        return _WIDEN, f"now also accepts e.g. {_sample(gained)!r}", None
    return _BOTH, f"now refuses e.g. {sample!r} and accepts e.g. {_sample(gained)!r}", sample

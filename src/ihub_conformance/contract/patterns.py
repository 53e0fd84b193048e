"""Which way a changed ``pattern`` moves: language inclusion through greenery's automata.

A JSON Schema ``pattern`` searches (it is not anchored), so ``p`` becomes ``.*(p).*``
unless it starts with ``^`` or ends with ``$``. greenery reads the regular subset
(classes, groups, alternation, quantifiers, ``\\d \\s \\w`` and their negations); a
pattern outside it (inline flags, lookaround, backreferences, ``^`` or ``$`` inside
a group) is not compared, and the change counts as breaking both ways, saying so.
ECMA-262 unicode escapes (backslash, u, four hex digits) are read as their
characters. Known imprecision: greenery's ``.`` also matches a line terminator,
which ECMA-262's does not.
"""

from __future__ import annotations

import itertools
import multiprocessing
import re
from typing import Any

from greenery import Fsm, parse

_NARROW, _WIDEN, _BOTH, _SAME = "narrow", "widen", "both", "doc"
DEADLINE_S = 5.0
MAX_PATTERN = 400

# A '-' last (or first) in a character class is a literal in ECMA-262; greenery wants it escaped.
_CLASS_DASH = re.compile(r"(?<!\\)-\]")
_CLASS_DASH_FIRST = re.compile(r"(?<!\\)\[(\^?)-")


# ECMA-262 \uXXXX escapes (the portable spelling of whitespace classes); greenery reads
# the characters themselves. An escaped backslash before the `u` is left alone.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")
_METACHARACTERS = frozenset("\\^$.|?*+()[]{}-")


def _literal(match: re.Match[str]) -> str:
    char = chr(int(match.group(2), 16))
    return match.group(1) + ("\\" + char if char in _METACHARACTERS else char)


def _anchored(pattern: str) -> str:
    pattern = _UNICODE_ESCAPE.sub(_literal, pattern)
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
    """(effect, detail, a string the old pattern accepted and the new one refuses or None).

    Building automata can blow up (``.*`` around a long alternation), so the comparison
    runs in a forked process with a deadline; past it the change counts as breaking both
    ways, saying so.
    """
    if len(old) > MAX_PATTERN or len(new) > MAX_PATTERN:
        return _BOTH, f"not compared (longer than {MAX_PATTERN} characters)", None
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_compare_into, args=(send, old, new), daemon=True)
    worker.start()
    send.close()
    try:
        if receive.poll(DEADLINE_S):
            return receive.recv()
    except (EOFError, OSError):
        pass
    finally:
        if worker.is_alive():
            worker.kill()
        worker.join()
        receive.close()
    return _BOTH, f"not compared (automata comparison took longer than {DEADLINE_S} s)", None


def _compare_into(send: Any, old: str, new: str) -> None:
    send.send(_compare(old, new))
    send.close()


def _compare(old: str, new: str) -> tuple[str, str, str | None]:
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

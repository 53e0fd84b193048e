"""Patterns over raw JSON lines: anchors read as quotes (`quotes_for_anchors`), and
Hyperscan, where it is installed: "where does the first match end?" over bytes.

Hyperscan has wheels for x86-64 and macOS arm64 only, so every caller keeps a fallback
(Rust regex through jsonschema-rs) and gets None here when Hyperscan is missing or cannot
compile its pattern. Block mode reads `^` and `$` as the ends of the scanned buffer, not
of the string a pattern was written for, so a pattern with anchors is refused too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from typing import Any

# A non-ASCII `\uXXXX` escape or range of them (the contract's portable whitespace class).
_NON_ASCII_ESCAPE = re.compile(r"\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|"
                               r"[1-9a-fA-F][0-9a-fA-F]{3})(?:-\\u[0-9a-fA-F]{4})?")


def quotes_for_anchors(pattern: str) -> str:
    """`pattern` over a raw JSON line: `^` and `$` (outside classes) become the quotes.

    A string matching `pattern` appears verbatim as `"string"` in an escape-free line, so
    the result matches that line wherever `pattern` matched the string.
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":  # a negated class: keep its caret
                out.append("[^")
                i += 2
                continue
        elif ch in "^$":
            ch = '"'
        out.append(ch)
        i += 1
    return "".join(out)


def has_anchor(pattern: str) -> bool:
    """True when `pattern` has a `^` or `$` outside a character class."""
    return quotes_for_anchors(pattern) != pattern  # it rewrites exactly those


def ascii_classes(pattern: str) -> str | None:
    """`pattern` for ASCII input, with its non-ASCII `\\uXXXX` class members dropped
    (Hyperscan has no `\\u` escape). On ASCII text it matches exactly where `pattern`
    does; lines with other bytes go to the engine anyway. None when such an escape stands
    outside a class.
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        escape = _NON_ASCII_ESCAPE.match(pattern, i)
        if escape and not in_class:
            return None
        if escape:
            i = escape.end()
            continue
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        in_class = ch != "]" if in_class else ch == "["
        out.append(ch)
        i += 1
    return "".join(out)


def first_match_end(pattern: str) -> Callable[[bytes, int], int] | None:
    """`end(data, start)`: where the first match in `data[start:]` ends (an offset into
    `data`), or -1 for none. None when Hyperscan is unavailable or refuses `pattern`.

    Hyperscan reports matches in order of their end offsets, so the scan stops at the
    first one: a long token run would otherwise call back once per character. Not for
    concurrent use from several threads (one scratch space, one result slot).
    """
    try:
        import hyperscan
    except ImportError:
        return None
    if has_anchor(pattern):
        return None
    pattern = ascii_classes(pattern)
    if pattern is None:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=[pattern.encode()], ids=[0], elements=1, flags=[0])
    except hyperscan.error:
        return None
    scan, stop = database.scan, hyperscan.ScanTerminated
    ends: list[int] = []

    def on_match(_id: int, _start: int, end: int, _flags: int, _context: Any) -> bool:
        ends.append(end)
        return True  # stop: the caller decides where to go on from

    def end(data: bytes, start: int = 0) -> int:
        with suppress(stop):
            # A memoryview: a slice of `data` would copy the rest of it for each call.
            scan(memoryview(data)[start:] if start else data, match_event_handler=on_match)
        return start + ends.pop() if ends else -1

    return end

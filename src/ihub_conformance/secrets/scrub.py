"""The one scrubber: every spelling of a secret that an output may carry, replaced.

Reports, logs, JUnit/Allure files, cassettes and the gate's outputs all pass through
`Scrubber` before they are written or printed. A secret can reach an output raw, escaped
by a JSON encoder (with or without `ensure_ascii`), URL-encoded (`quote`, `quote_plus`)
or base64-encoded, alone or inside a longer encoded value (an HTTP Basic credential):
`spellings` lists them all, and `contains_literal` (the canary check) looks for the
same list.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

__all__ = ["MIN_SECRET", "REDACTED", "Scrubber", "base64_fragments", "scrub", "spellings"]

REDACTED = "<REDACTED>"
# A "secret" this short is no credential, and replacing it would garble every word.
MIN_SECRET = 4
# Shorter base64 fragments would match unrelated base64 text and carry few secret bits.
_MIN_FRAGMENT = 8
# Leading characters of a base64 run that also depend on the 0, 1 or 2 bytes before the
# secret, and trailing characters kept for 0, 1 or 2 secret bytes in a last group.
_DROP = (0, 2, 3)
_TAIL = (0, 1, 2)


def base64_fragments(secret: str) -> list[str]:
    """The base64 text of `secret` at each of the three byte alignments it can take inside
    a longer encoded value: only the characters no neighbouring byte affects."""
    data = secret.encode()
    found = []
    for offset in range(3):
        total = offset + len(data)
        encoded = base64.b64encode(bytes(offset) + data).decode().rstrip("=")
        fragment = encoded[_DROP[offset]:total // 3 * 4 + _TAIL[total % 3]]
        if len(fragment) >= _MIN_FRAGMENT:
            found += [fragment, fragment.replace("+", "-").replace("/", "_")]
    return found


def spellings(secret: str) -> list[str]:
    """Every spelling of `secret` to replace: raw, JSON-escaped, URL-encoded, base64."""
    found = [secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe=""), quote(secret), quote_plus(secret),
             *base64_fragments(secret)]
    return list(dict.fromkeys(s for s in found if s))


class Scrubber:
    """Replaces every spelling of each secret with its mark (`{secret: mark}`)."""

    def __init__(self, marks: Mapping[str, str]) -> None:
        pairs = {(spelling, mark) for secret, mark in marks.items()
                 if secret and len(secret) >= MIN_SECRET and secret != mark
                 for spelling in spellings(secret)}
        # Longest first, so a secret that contains another is replaced whole.
        self.pairs = sorted(pairs, key=lambda pair: (-len(pair[0]), pair))
        self._byte_pairs = [(s.encode(), m.encode()) for s, m in self.pairs]

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def text(self, text: str) -> str:
        for spelling, mark in self.pairs:
            if spelling in text:
                text = text.replace(spelling, mark)
        return text

    def data(self, data: bytes) -> bytes:
        for spelling, mark in self._byte_pairs:
            if spelling in data:
                data = data.replace(spelling, mark)
        return data


def scrub(text: str, secrets: Iterable[str | None], mark: str = REDACTED) -> str:
    """`text` with every spelling of each secret replaced by `mark`."""
    return Scrubber({s: mark for s in secrets if s}).text(text)

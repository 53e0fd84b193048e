"""Check a stream of newline-delimited event payloads at pipeline speed.

`ihub-conformance validate events FILE.jsonl` (or `-` for stdin) reports, per line:
malformed JSON, contract violations (through the one validation engine), early-proposal
and deferred event types, secret-like material and duplicate idempotency keys.

The hot path per valid line is: orjson parse, one Rust-regex guard over the raw line
(stream_guard: the secret_scan prefilter plus the schema's per-string secret and blank
patterns), the contract's schema compiled without those patterns, the idempotency-key
rule and one insertion into a compact key index. Lines the guard flags get the full
schema and the secret prefilter; error objects, secret detectors and pointers are built
only for lines that fail a fast check. The input is read line by line; memory does not
depend on the stream's length except for 8 bytes per distinct idempotency key (see
`KeyIndex`). `--jobs N` spreads the input over N processes (stream_parallel).
"""

from __future__ import annotations

import functools
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any, NamedTuple

import orjson

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.documents import may_repeat_keys, repeated_key
from ihub_conformance.secrets import scan as secret_scan
from ihub_conformance.stream import fastpath as stream_fastpath
from ihub_conformance.validation.engine import validator_for
from ihub_conformance.validation.rules import idempotency_key

_BLOCK = 64  # lines per guard scan (stream_fastpath); a finding waits for its block at most
_EVERY = range(_BLOCK)


def _engine_only(block: list[bytes]) -> range:
    """Without the tier every line is "flagged": the engine takes them all."""
    return _EVERY


def _no_proof(raw: bytes) -> None:
    return None

# Finding kinds, in the order a reader fixes them.
MALFORMED = "malformed"
SCHEMA = "schema"
EARLY_NAME = "early-name"
DEFERRED = "deferred"
SECRET = "secret"  # noqa: S105 (a finding kind)
DUPLICATE = "duplicate"
FINDING_KINDS = (MALFORMED, SCHEMA, EARLY_NAME, DEFERRED, SECRET, DUPLICATE)
# A SHOULD-level finding (ACS-01: no metadata.attributes.observed_at): reported, counted in
# the summary when present, but its line stays valid and the exit code is unchanged.
WARNING = "warning"
DUPLICATE_REASON = ("duplicate idempotency key (activity_core_run_id + context_key + event type) "
                    "earlier in this stream")


class Finding(NamedTuple):
    """One problem on one line. `reason` never contains secret material.

    A named tuple, not a dataclass: a bad stream has many, and tuples are ~3x cheaper to
    build and to pickle (the `--jobs` workers send theirs to the parent).
    """

    line: int
    kind: str
    pointer: str
    reason: str
    secret_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "kind": self.kind, "pointer": self.pointer,
                               "reason": self.reason}
        if self.secret_kind:
            out["secret_kind"] = self.secret_kind
        return out


@dataclass
class StreamSummary:
    """Counts for a checked stream; filled in while `check_stream` is consumed."""

    contract: str
    lines: int = 0  # non-blank lines read
    blank: int = 0
    valid: int = 0
    invalid: int = 0
    distinct_keys: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"findings": sum(self.counts.values()),
                "by_kind": {k: self.counts.get(k, 0) for k in self._kinds()},
                "blank_lines": self.blank, "distinct_idempotency_keys": self.distinct_keys}

    def _kinds(self) -> tuple[str, ...]:
        # Warnings are listed only when there are some: a stream without any reads as before.
        return (*FINDING_KINDS, WARNING) if self.counts.get(WARNING) else FINDING_KINDS

    def text(self) -> str:
        kinds = ", ".join(f"{k} {self.counts[k]}" for k in self._kinds() if self.counts.get(k))
        return (f"{self.lines} lines, {self.valid} valid, {self.invalid} invalid"
                f"{' (' + kinds + ')' if kinds else ''}; contract {self.contract}")


class KeyIndex:
    """Seen idempotency keys as 64-bit hashes in 4096 sorted arrays: 8 bytes per key.

    A Python set would cost ~100 bytes per key (int object plus slot); 200,000 distinct
    keys would add ~20 MB, most of the process. Sorted `array('q')` buckets keep the
    cost at 8 bytes (plus array over-allocation) with C-speed bisect/insert. Hashes are
    Python's 64-bit string hash of the idempotency key: two different keys collide with
    probability ~2^-64, so a false duplicate in a stream of n keys has probability
    ~n²/2^65 (about 1e-9 at 200,000 keys).
    """

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        self.buckets = [array("q") for _ in range(4096)]

    def __len__(self) -> int:
        """Distinct keys recorded."""
        return sum(map(len, self.buckets))

    def note(self, number: int, h: int) -> bool:
        """Record key hash `h` of line `number`; True when it is new (False: a duplicate).
        The line number is not kept (`KeyLog` keeps it)."""
        bucket = self.buckets[h & 4095]
        i = bisect_left(bucket, h)
        if i < len(bucket) and bucket[i] == h:
            return False
        bucket.insert(i, h)
        return True


class KeyLog:
    """Every keyed line's (number, hash), for a caller that resolves duplicates across
    chunks of a file (stream.parallel): here no line is a duplicate yet."""

    __slots__ = ("hashes", "numbers")

    def __init__(self) -> None:
        self.numbers, self.hashes = array("q"), array("q")

    def note(self, number: int, h: int) -> bool:
        self.numbers.append(number)
        self.hashes.append(h)
        return True


class _Classifier:
    """Turns engine violations into findings: early names and deferred types named."""

    def __init__(self, contract: str) -> None:
        vocab = load_contract(contract).vocabulary
        self.aliases: dict[str, str] = dict(vocab.get("aliases", {}))
        self.deferred = frozenset(vocab.get("deferred", ()))
        self.version = contract

    def kind(self, pointer: str, doc: Any) -> str:
        if pointer == "/eventType" and isinstance(doc, dict):
            value = doc.get("eventType")
            if not isinstance(value, str):  # a list or object here is a type error
                return SCHEMA
            if value in self.deferred:
                return DEFERRED
            if value in self.aliases:
                return EARLY_NAME
        return SCHEMA


def _safe_reason(reason: str) -> str:
    # The engine avoids echoing values, but a reason quoting document text (an expected
    # idempotency key, say) must not carry secret material into a report.
    # Echoed document text is always quoted (repr); unquoted reasons are fixed wording.
    quoted = "'" in reason or '"' in reason
    if quoted and secret_scan.might_contain_secret(reason) and secret_scan.scan_text(reason):
        return reason.split(":", 1)[0] + ": (details withheld: they contain secret-like text)"
    return reason


def _safe_pointer(pointer: str) -> str:
    # A secret used as a field name would otherwise travel in the pointer.
    if not secret_scan.might_contain_secret(pointer):
        return pointer
    return "/".join(secret_scan.mask_secrets(part) for part in pointer.split("/"))


def check_stream(lines: Iterable[bytes], *, contract: str = "v1",
                 summary: StreamSummary | None = None, tier: bool = True) -> Iterator[Finding]:
    """Findings for each line of a JSON Lines stream, in line order (lazy).

    Pass a `StreamSummary` to have its counts filled in as the stream is consumed.
    `tier=False` sends every line to the engine: the reference verdict the tier must equal
    (the differential tests and the benchmark use it; the output is the same either way).
    """
    summary = summary if summary is not None else StreamSummary(contract)
    keys = KeyIndex()
    try:
        yield from check_lines(lines, contract, summary, keys, _BLOCK if tier else None)
    finally:
        summary.distinct_keys = len(keys)


def check_lines(lines: Iterable[bytes], contract: str, summary: StreamSummary,
                keys: KeyIndex | KeyLog, tier_at: int | None = _BLOCK) -> Iterator[Finding]:
    """The checking loop: a block of lines at a time, each line proven valid by the tier
    (stream.fastpath) or judged by the engine (`_LineCheck`). `keys.note` records each
    keyed line. The tier is used from line `tier_at` on (0: from the start, for a caller
    that has built it already; it costs ~0.1 s, more than a short stream is worth; None:
    never, every line to the engine)."""
    check = _LineCheck(contract, keys.note)
    note = keys.note
    flagged, key_of = _tier(check.version) if tier_at == 0 else (_engine_only, _no_proof)
    source = iter(lines)
    before = valid = 0  # lines before this block; valid lines so far
    try:
        while block := list(islice(source, _BLOCK)):
            skip = flagged(block)
            for index, raw in enumerate(block):
                number = before + index + 1
                if (unflagged := index not in skip) and (key := key_of(raw)) is not None \
                        and note(number, hash(key)):
                    valid += 1  # proven valid from its bytes, and its key is new
                    continue
                found = check(number, raw, unflagged)
                if found is None:
                    summary.blank += 1
                elif found:
                    yield from _record(summary, found)
                else:
                    valid += 1
            before += len(block)
            if before == tier_at:
                flagged, key_of = _tier(check.version)
    finally:
        summary.valid += valid
        summary.lines += valid


class _LineCheck:
    """The engine's verdict on one line: the schema, the secret prefilter, the key rule.

    `check(number, raw, unflagged)` is [] for a valid line, its findings otherwise, None
    for a blank one. Fast checks first; error objects, pointers and secret detectors are
    built only for a line that fails one (`_findings`). `unflagged`: the tier's block
    guard, which includes the secret prefilter, passed the line.
    """

    def __init__(self, contract: str, note: Callable[[int, int], bool]) -> None:
        self.validator = validator_for("event", contract)
        self.version = self.validator.version
        self.classifier = _Classifier(self.version)
        self.note = note
        self.schema_is_valid = self.validator.compiled_is_valid
        self.clean = secret_scan.prefilter_validator().is_valid
        self.separator = self.validator.key_separator

    def __call__(self, number: int, raw: bytes, unflagged: bool) -> list[Finding] | None:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return _malformed(number, raw, exc)
        # orjson keeps the last of repeated keys; the contract's one rule refuses them.
        if may_repeat_keys(raw, doc) and (repeated := repeated_key(raw)) is not None:
            return [Finding(number, MALFORMED, "", f"malformed: {repeated}")]
        # orjson has checked the line is UTF-8; the prefilter reads its raw text.
        text = raw.decode() if type(raw) is bytes else raw
        try:
            secret_ok = unflagged or self.clean(text)
            # A secret-flagged line takes the slow path either way: it finds schema errors.
            schema_ok = secret_ok and self.schema_is_valid(doc)
        except ValueError:  # not JSON data: cannot come from orjson, but never crash
            schema_ok, secret_ok = False, self.clean(text)
        fresh, key_ok = self._key(number, doc)
        if schema_ok and key_ok and secret_ok and fresh:
            return _warnings(number, doc, self.validator)
        return _findings(number, doc, self.validator, self.classifier,
                         schema_ok and key_ok, secret_ok, fresh)

    def _key(self, number: int, doc: Any) -> tuple[bool, bool]:
        """(fresh, the engine's key rule holds), sharing the lookups of both checks."""
        try:
            md = doc["metadata"]
            run, context, event_type = md["activity_core_run_id"], md["context_key"], \
                doc["eventType"]
            key = idempotency_key(run, context, event_type, self.separator)
            # Equal keys are duplicates; parts of other types (the schema refuses them)
            # count as themselves, not as their text.
            h = hash(key if str is type(run) is type(context) is type(event_type)
                     else (run, context, event_type))
        except (KeyError, TypeError, IndexError):
            return True, True  # no key to compare when a lookup fails (the schema says why)
        return self.note(number, h), md.get("idempotency_key") == key


def _malformed(number: int, raw: bytes, exc: Exception) -> list[Finding] | None:
    if raw is OVERLONG:
        return [Finding(number, MALFORMED, "", (
            f"malformed: line longer than {MAX_LINE_BYTES} bytes (an event is at most "
            "65536 bytes); skipped"))]
    if raw.strip():
        return [Finding(number, MALFORMED, "", _malformed_reason(raw, exc))]
    return None


def _tier(version: str) -> tuple[Any, Any]:
    """(flagged, key_of) of the proof-of-validity tier."""
    fast = stream_fastpath.fast_path(version)
    return fast.flagged, fast.key_of


def _record(summary: StreamSummary, found: list[Finding]) -> list[Finding]:
    summary.lines += 1
    # The fast checks are conservative (the secret prefilter flags any line holding an
    # anchor such as "auth"); a line the full checks clear is valid, warnings or not.
    if is_invalid(found):
        summary.invalid += 1
    else:
        summary.valid += 1
    for f in found:
        summary.counts[f.kind] += 1
    return found


def is_invalid(found: list[Finding]) -> bool:
    """A line is invalid when one of its findings is more than a warning."""
    return any(f.kind != WARNING for f in found)


def _warnings(number: int, doc: Any, validator: Any) -> list[Finding]:
    """The engine's SHOULD-level advisories (ACS-01); fixed wording, so no secret in them."""
    return [Finding(number, WARNING, w.pointer, w.reason) for w in validator.advisories(doc)]


def _findings(number: int, doc: Any, validator: Any, classifier: _Classifier,
              schema_ok: bool, secret_ok: bool, fresh: bool) -> list[Finding]:
    """The slow path: build every finding for a line that failed a fast check (its warnings
    first, the duplicate last, where stream.workers' merge adds it too)."""
    found = _warnings(number, doc, validator)
    if not schema_ok:
        for v in validator.violations_of_invalid(doc):
            found.append(Finding(number, classifier.kind(v.pointer, doc),
                                 _safe_pointer(v.pointer), _safe_reason(v.reason)))
    if not secret_ok:
        for s in secret_scan.scan_json(doc):
            found.append(Finding(number, SECRET, s.pointer,
                                 f"secret-like material ({s.kind}): {s.preview}", s.kind))
    if not fresh:
        found.append(Finding(number, DUPLICATE, "/metadata/idempotency_key", DUPLICATE_REASON))
    return found


def _malformed_reason(raw: bytes | str, exc: Exception) -> str:
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"malformed: not UTF-8 (byte {bad.start})"
    # orjson's message names the problem and position, never echoes the input; its
    # "line/column" counts within this one line, so keep only the character offset.
    message = _ORJSON_POSITION.sub(r"at character \1", str(exc).splitlines()[0])
    return f"malformed JSON: {message}"


_ORJSON_POSITION = re.compile(r"line \d+ column \d+ \(char (\d+)\)")


# -- command line --------------------------------------------------------------------------
MAX_LINE_BYTES = 1 << 20
# Stands in for a line longer than MAX_LINE_BYTES (not JSON, so it takes the slow path).
OVERLONG = b"\x00overlong line"


def read_lines(stream: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Lines of `stream`, never holding more than `limit` bytes of one line in memory.

    A longer line is drained and replaced by OVERLONG, so one runaway line (or a binary
    file without newlines) cannot exhaust memory.
    """
    for raw in iter(functools.partial(stream.readline, limit), b""):
        if len(raw) == limit and not raw.endswith(b"\n"):
            while True:
                rest = stream.readline(limit)
                if not rest or rest.endswith(b"\n"):
                    break
            yield OVERLONG
        else:
            yield raw

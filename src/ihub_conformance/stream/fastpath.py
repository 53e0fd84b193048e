"""A proof-of-validity tier for event streams: decode and check in one msgspec pass.

The stream's common case is a valid event. For it the engine costs an orjson parse plus a
jsonschema-rs walk of the whole document (~3.5 µs); this tier proves the same verdict from
the raw bytes in ~1.7 µs and hands every line it cannot prove to the engine. It only ever
says "valid" (with the idempotency key, for the duplicate index), never "invalid", so it
may be as conservative as it likes. A line is proven valid when:

* it is ASCII, at most `MAX_LINE` bytes and the guard does not flag it. The guard is the
  stream_guard pattern (no backslash, hence no escapes; no secret anchor; no blank string;
  none of the schema's secret patterns) plus the schema's forbidden field names with
  their anchors read as quotes. With no escapes every decoded string is its raw bytes, so
  the guard saw every key and string; in `MAX_LINE` bytes no string exceeds a maxLength
  (2048 for SafeString) and nesting stays under orjson's depth limit;
* msgspec decodes it into the event shape: closed objects where the schema has
  `unevaluatedProperties: false` (occurredAt and actorType are unknown fields, so
  refused), the event-type enum, strings where strings are due. Attributes are decoded
  into plain values, so numbers beyond double range are refused as orjson refuses them;
* the widget id, run id and context key (each by its own subschema, compiled) and
  observed_at (a strict subset of RFC 3339 date-time: Feb 29 and leap seconds go to the
  engine) match, and the idempotency key is `<run><sep><context><sep><type>`.

`flagged` runs the guard over a block of lines: one Hyperscan pass where Hyperscan is
installed (x86-64 and macOS wheels), else the same pattern through Rust regex per line.

Everything the tier checks is read from the loaded contract when it is built: the
event-type enum, the patterns and maxLengths, the forbidden field names, the guard. The
shape it decodes (which fields exist, which are required, which objects are closed) is
compared with the schema then too: a contract edit the tier cannot follow raises a
ConformanceError naming the field, so CI fails loudly instead of the tool turning slow or
wrong. tests/stream/test_stream_fastpath.py holds the differential proof (a line it
accepts gets no finding from the engine) for every contract in the repository.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal

import jsonschema_rs
import msgspec
from msgspec import UNSET

from ihub_conformance.contract.loader import load_contract, refuse_retrieval
from ihub_conformance.documents import count_keys
from ihub_conformance.errors import ConformanceError
from ihub_conformance.stream.guard import guard_pattern
from ihub_conformance.stream.raw_patterns import first_match_end, quotes_for_anchors
from ihub_conformance.validation.engine import validator_for
from ihub_conformance.validation.rules import idempotency_key

_METADATA = "interaction-event.schema.json#/$defs/ActivityCoreMetadata/properties"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_EVENT_KEYS = 7  # widgetId, eventType, metadata and metadata's four (viewContext optional)
# White space after a quote (`"key" : 1`): `":` would not count the keys (`_repeats_a_key`).
_SPACED_KEY = '"[ \\t\\n\\r]'
_REMEMBERED = 4096  # distinct valid values kept per field
MAX_LINE = 2048  # bytes: below every maxLength in the event schema and orjson's depth limit
# RFC 3339 date-times every engine accepts: real calendar days except Feb 29, hours 00-23,
# seconds 00-59, offsets within a day. Anything else (still maybe valid) takes the engine.
_TIMESTAMP = (
    r"[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|"
    r"[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5]"
    r"[0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


@dataclass(frozen=True)
class FastPath:
    """`flagged(block)`: indexes of the lines of a block the tier must leave to the engine
    (guard hits, non-ASCII, longer than `max_line`, not bytes). `key_of(raw)` on any other
    line returns its idempotency key when it proves the
    line valid, else None (the engine decides).
    """

    guard: Callable[[str], bool]
    guard_pattern: str
    key_of: Callable[[bytes], str | None]
    flagged: Callable[[list[bytes]], set[int]]
    scanner: str  # "hyperscan" (one scan per block) or "rust-regex" (one call per line)
    max_line: int = MAX_LINE


SCANNERS = ("hyperscan", "rust-regex")


@functools.lru_cache(maxsize=8)
def fast_path(version: str = "v1", scanner: str | None = None) -> FastPath:
    """The tier for `version`'s event kind (ConformanceError: a shape it cannot follow).

    `scanner` picks the block guard's engine (one of SCANNERS; ConformanceError when it is
    not available here); None: Hyperscan where it takes the pattern, else Rust regex.
    """
    contract = load_contract(version)
    shape = require_known_shape(contract.schemas)
    event_schema = contract.schemas["interaction-event"]
    common = contract.schemas["common"]["$defs"]
    metadata = event_schema["$defs"]["ActivityCoreMetadata"]
    separator = validator_for("event", version).key_separator
    event_types = tuple(common["EventType"]["enum"])
    decode = msgspec.json.Decoder(_event_type(event_types, shape)).decode
    key_max = metadata["properties"]["idempotency_key"]["maxLength"]
    # Each field's own subschema decides (compiled once; each distinct value checked once).
    uuid = _field_check(contract, "common.schema.json#/$defs/Uuid")
    run_ok = _field_check(contract, f"{_METADATA}/activity_core_run_id")
    context_ok = _field_check(contract, f"{_METADATA}/context_key")
    timestamp = re.compile(_TIMESTAMP).fullmatch

    # Widget ids, run ids and context keys repeat across a stream (a mapping has a handful
    # of widgets, a run emits many events): each distinct value is checked once.
    widgets: set[str] = set()
    runs: set[str] = set()
    contexts: set[str] = set()
    # msgspec raises RecursionError past ~1000 levels (orjson's limit is 1024; MAX_LINE
    # keeps a line shallower than that anyway).
    decode_error = (msgspec.DecodeError, RecursionError)

    def key_of(raw: bytes) -> str | None:
        try:
            event = decode(raw)
        except decode_error:
            return None
        md = event.metadata
        # Fields the schema leaves optional decode as UNSET: such a line may need the
        # engine's ACS-01 warning (no observed_at) or has no key; the engine decides.
        if md is UNSET or md.attributes is UNSET:
            return None
        run, context, event_type = md.activity_core_run_id, md.context_key, event.eventType
        observed = md.attributes.get("observed_at")
        if UNSET in (run, context, md.idempotency_key, event.widgetId, event_type):
            return None
        key = idempotency_key(run, context, event_type, separator)
        if (md.idempotency_key != key or len(key) > key_max
                or type(observed) is not str or timestamp(observed) is None
                or (run not in runs and not _admit(runs, run_ok, run))
                or (context not in contexts and not _admit(contexts, context_ok, context))
                or (event.widgetId not in widgets
                    and not _admit(widgets, uuid, event.widgetId))
                or _repeats_a_key(raw, event)):
            return None
        return key

    return _with_guard(version, contract.schemas, key_of, scanner)


def _repeats_a_key(raw: bytes, event: Any) -> bool:
    """msgspec keeps the last of repeated keys: a line with more `":` than decoded keys may
    repeat one (the engine decides). In a line the guard passed every `":` ends a key (no
    escapes, no white space after a quote), so flat attributes need no walk."""
    attributes = event.metadata.attributes
    keys = raw.count(b'":') - _EVENT_KEYS - (event.viewContext is not UNSET)
    return keys != len(attributes) and keys != count_keys(attributes)


def _with_guard(version: str, schemas: dict[str, Any], key_of: Callable[[bytes], str | None],
                scanner: str | None) -> FastPath:
    """The tier with its block guard: the string checks plus the forbidden field names."""
    guards = [guard_pattern(version)]
    guards += [f"(?:{quotes_for_anchors(p)})" for p in _forbidden_names(schemas)]
    guards.append(_SPACED_KEY)
    pattern = "|".join(guards)
    guard = jsonschema_rs.validator_for({"not": {"pattern": pattern}},
                                        pattern_options=jsonschema_rs.RegexOptions()).is_valid
    if scanner not in (None, *SCANNERS):
        raise ConformanceError(f"unknown guard scanner {scanner!r} (one of {SCANNERS})")
    block_scan = None if scanner == "rust-regex" else _hyperscan_flagged(pattern)
    if block_scan is not None:
        return FastPath(guard, pattern, key_of, block_scan, "hyperscan")
    if scanner == "hyperscan":
        raise ConformanceError("Hyperscan is not installed here or refuses the guard pattern")
    return FastPath(guard, pattern, key_of, _per_line_flagged(guard), "rust-regex")


def _admit(seen: set[str], ok: Callable[[str], Any], value: str) -> bool:
    """Check `value`; remember it when valid. Bounded, so memory stays flat."""
    if not ok(value):
        return False
    if len(seen) >= _REMEMBERED:
        seen.clear()
    seen.add(value)
    return True


def _unfit(block: list[bytes]) -> set[int]:
    """Lines the tier cannot reason about: not bytes, not ASCII or longer than MAX_LINE."""
    return {i for i, raw in enumerate(block)
            if type(raw) is not bytes or len(raw) > MAX_LINE or not raw.isascii()}


def _per_line_flagged(guard: Callable[[str], bool]) -> Callable[[list[bytes]], set[int]]:
    def flagged(block: list[bytes]) -> set[int]:
        unfit = _unfit(block)
        return unfit.union(i for i, raw in enumerate(block)
                           if i not in unfit and not guard(raw.decode()))
    return flagged


def _hyperscan_flagged(pattern: str) -> Callable[[list[bytes]], set[int]] | None:
    """One Hyperscan pass over a block of lines (~3x faster than Rust regex per line).

    The first match ending in a line flags it; the scan then goes on from the next line's
    start (a match spanning a newline only flags one line too many). None when Hyperscan
    is not installed or cannot take the pattern: the per-line Rust regex does the job.
    """
    first_end = first_match_end(pattern)
    if first_end is None:
        return None

    def flagged(block: list[bytes]) -> set[int]:
        try:
            data = b"".join(block)
        except TypeError:  # text lines (tests feed str): the engine takes them
            return set(range(len(block)))
        # One C-speed test for the whole block; per line only when it fails.
        unfit = _NONE if data.isascii() and max(map(len, block)) <= MAX_LINE else _unfit(block)
        found: set[int] = set()
        bounds: list[int] = []
        start = 0
        while (end := first_end(data, start)) >= 0:
            bounds = bounds or list(accumulate(map(len, block)))
            line = bisect_right(bounds, end - 1)
            found.add(line)
            start = bounds[line]
            if start >= len(data):
                break
        return unfit.union(found) if found else unfit

    return flagged


_NONE: set[int] = set()  # never mutated: callers only test membership


def _field_check(contract: Any, ref: str) -> Callable[[str], bool]:
    """`is_valid` of one subschema of the contract (formats checked, nothing fetched)."""
    documents = [(schema["$id"], schema) for schema in contract.schemas.values()]
    registry = jsonschema_rs.Registry(documents, retriever=refuse_retrieval)
    base = contract.schema_id("interaction-event").rsplit("/", 1)[0]
    return jsonschema_rs.validator_for(
        {"$schema": _DIALECT, "$ref": f"{base}/{ref}"}, registry=registry,
        validate_formats=True, retriever=refuse_retrieval).is_valid


def _forbidden_names(schemas: dict[str, Any]) -> list[str]:
    """`patternProperties` patterns whose subschema is `not: {}`: field names never allowed."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for name, sub in (node.get("patternProperties") or {}).items():
                if isinstance(sub, dict) and sub.get("not") == {}:
                    found.append(name)
            for value in node.values():
                walk(value)

    walk(list(schemas.values()))
    return list(dict.fromkeys(found))


_Shape = dict[str, tuple[frozenset[str], frozenset[str]]]


def _event_type(event_types: tuple[str, ...], shape: _Shape) -> type:
    """msgspec types for the event shape, closed where the schema is closed; a field the
    schema leaves optional decodes as UNSET when absent (`shape`: read from the schema)."""
    # defstruct, not class statements: the event-type enum is read from the contract.
    # gc=False: these hold strings, plain JSON values and each other, never a cycle.
    # Attributes are decoded, not skipped: msgspec's skipper would pass 1e400, which orjson
    # (the engine's parser) rejects; decoding rejects it too.
    def fields(part: str, typed: list[tuple[str, Any]]) -> list[tuple[Any, ...]]:
        required = shape[part][1]
        # msgspec wants the fields with defaults last.
        return ([(name, kind) for name, kind in typed if name in required]
                + [(name, kind | msgspec.UnsetType, msgspec.UNSET) for name, kind in typed
                   if name not in required])

    metadata = msgspec.defstruct(
        "Metadata", fields("metadata", [
            ("activity_core_run_id", str), ("context_key", str), ("idempotency_key", str),
            ("attributes", dict[str, Any])]),
        forbid_unknown_fields=True, gc=False)
    return msgspec.defstruct(
        "Event", fields("event", [
            ("widgetId", str), ("eventType", Literal[event_types]), ("metadata", metadata),
            ("viewContext", str)]),
        forbid_unknown_fields=True, gc=False)


# The fields the tier decodes and checks, per part: a schema may require any of them (the
# decoder is built from its `required`), but a field outside these is one the tier cannot
# check, and it raises. Attributes are any JSON object; the tier checks observed_at.
_KNOWN_FIELDS = {
    "event": frozenset({"widgetId", "eventType", "viewContext", "metadata"}),
    "metadata": frozenset({"activity_core_run_id", "context_key", "idempotency_key",
                           "attributes"}),
    "attributes": frozenset({"observed_at"}),
}
_ANY = frozenset({"(any field)"})


def require_known_shape(schemas: dict[str, Any]) -> _Shape:
    """The event schema's (allowed, required) fields per part, when the tier can follow
    them; ConformanceError otherwise (a field it does not know, an object opened)."""
    event = schemas["interaction-event"]
    defs = event["$defs"]
    parts = [event, *(defs[ref["$ref"].rsplit("/", 1)[1]] for ref in event.get("allOf", ())
                      if ref.get("$ref", "").startswith("#/$defs/"))]
    found = {"event": _fields(parts, closed=event.get("unevaluatedProperties") is False),
             "metadata": _fields([defs["ActivityCoreMetadata"]],
                                 closed=defs["ActivityCoreMetadata"].get(
                                     "unevaluatedProperties") is False),
             "attributes": (_ANY, frozenset(defs["Attributes"].get("required", ())))}
    for name, known in _KNOWN_FIELDS.items():
        allowed, required = found[name]
        expected = _ANY if name == "attributes" else known
        if allowed != expected or not required <= known:
            raise ConformanceError(
                f"interaction-event schema: the {name} shape changed ({_describe(found[name])}; "
                f"the stream tier decodes fields {sorted(expected)}, any of "
                f"{sorted(known)} required): teach stream/fastpath.py the new shape and run "
                "tests/stream/test_stream_fastpath.py")
    return found


def _fields(parts: list[dict[str, Any]], closed: bool) -> tuple[frozenset[str], frozenset[str]]:
    """(allowed, required) field names over `parts` (None: an open object)."""
    allowed = {name for part in parts for name, sub in part.get("properties", {}).items()
               if sub != {"not": {}} and not (isinstance(sub, dict) and sub.get("not") == {})}
    required = {name for part in parts for name in part.get("required", ())}
    return (frozenset(allowed) if closed else _ANY, frozenset(required))


def _describe(shape: tuple[frozenset[str], frozenset[str]]) -> str:
    return f"fields {sorted(shape[0])}, required {sorted(shape[1])}"

"""The stream's proof-of-validity tier never accepts a line the engine would fault."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ihub_conformance.contract.loader import available_versions, load_contract
from ihub_conformance.errors import ConformanceError
from ihub_conformance.secrets.scan import prefilter_validator
from ihub_conformance.stream import fastpath as stream_fastpath
from ihub_conformance.stream.fastpath import MAX_LINE, fast_path, require_known_shape
from ihub_conformance.stream.pipeline import StreamSummary, check_stream
from ihub_conformance.stream.raw_patterns import ascii_classes, first_match_end, has_anchor
from ihub_conformance.validation.engine import validator_for
from ihub_conformance.validation.rules import idempotency_key

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "fixtures" / "events"
from document_mutants import mutants  # noqa: E402
from event_generator import gen  # noqa: E402


def _engine_findings(line: bytes, version: str = "v1") -> list[dict]:
    """The engine's verdict on one line, with the tier switched off."""
    return [f.as_dict() for f in check_stream([line], contract=version, tier=False)]


def _accepts(line: bytes, version: str = "v1") -> bool:
    fast = fast_path(version)
    assert fast is not None
    return not fast.flagged([line]) and fast.key_of(line) is not None


def _assert_sound(line: bytes, version: str = "v1") -> bool:
    """The property: a line the tier accepts gets no finding from the engine."""
    if not _accepts(line, version):
        return False
    assert _engine_findings(line, version) == [], line[:200]
    doc = orjson.loads(line)
    md = doc["metadata"]
    key = fast_path(version).key_of(line)
    assert key == md["idempotency_key"] == idempotency_key(
        md["activity_core_run_id"], md["context_key"], doc["eventType"], ":")
    return True


def _event(seed: int = 7) -> dict:
    return gen.valid_event(random.Random(seed))


def _corpus() -> list[bytes]:
    rng = random.Random(11)
    base = [json.loads(x) for x in (EVENTS / "valid.jsonl").read_text().splitlines()]
    base += list(gen.valid_events(8, seed=4))
    out: list[bytes] = []
    for doc in base:
        out.append(orjson.dumps(doc))
        out.append(json.dumps(doc, indent=None, separators=(", ", ": ")).encode())
        out += [json.dumps(m).encode() for _, m in mutants("event", doc)]
        for kind in gen.SECRET_TEMPLATES:
            key, value = gen.fake_secret(kind, rng)
            out.append(orjson.dumps(gen.insert_at_random_depth(copy.deepcopy(doc), key, value,
                                                               rng)))
    for name in ("valid", "invalid-contract", "invalid-secrets", "malformed"):
        out += (EVENTS / f"{name}.jsonl").read_bytes().splitlines()
    return out


@pytest.mark.parametrize("version", available_versions())
def test_the_tier_is_built_for_every_shipped_contract(version: str) -> None:
    # Built from the schema at load time; a shape it cannot follow raises (next test).
    assert fast_path(version).scanner in ("hyperscan", "rust-regex")


@pytest.mark.parametrize("change", [
    lambda s: s["interaction-event"]["$defs"]["ActivityCoreMetadata"]["required"].append("kind"),
    lambda s: s["interaction-event"]["$defs"]["Attributes"].setdefault("required", []).append(
        "kind"),
    lambda s: s["interaction-event"].pop("unevaluatedProperties"),
    lambda s: s["interaction-event"]["properties"].__setitem__("priority", {"type": "string"}),
    lambda s: s["interaction-event"]["$defs"]["ActivityCoreMetadata"]["properties"].pop(
        "context_key"),
])
def test_a_shape_the_tier_cannot_follow_fails_loudly(change) -> None:
    schemas = copy.deepcopy(load_contract("v1").schemas)
    require_known_shape(schemas)
    change(schemas)
    with pytest.raises(ConformanceError, match=r"teach stream/fastpath\.py"):
        require_known_shape(schemas)


@pytest.mark.parametrize("version", available_versions())
def test_every_line_it_accepts_the_engine_accepts_on_corpora_and_mutants(version: str) -> None:
    lines = _corpus()
    accepted = sum(_assert_sound(line, version) for line in lines)
    assert 0 < accepted < len(lines) / 2


def test_it_accepts_nearly_every_valid_realistic_event() -> None:
    # A tier that refuses everything would be sound and useless.
    lines = [orjson.dumps(doc) for doc in gen.valid_events(2000, seed=12)]
    assert sum(map(_accepts, lines)) == len(lines)


def _with(mutate) -> bytes:
    doc = _event()
    mutate(doc)
    return orjson.dumps(doc)


def _raw(old: bytes, new: bytes) -> bytes:
    line = orjson.dumps(_event())
    assert old in line
    return line.replace(old, new, 1)


def _set_attribute(name: str, value: object):
    return lambda d: d["metadata"]["attributes"].__setitem__(name, value)


# Lines the engine faults, each near a place where msgspec and the schema could part ways.
ENGINE_FAULTS = {
    "number beyond double range": _raw(b'"attributes":{', b'"attributes":{"n":1e400,'),
    "negative number beyond double range": _raw(b'"attributes":{', b'"attributes":{"n":-2E+308,'),
    "duplicate key, the last one bad": _raw(b'"viewContext":',
                                            b'"eventType":"ops-service-observed","viewContext":'),
    "server-set occurredAt": _with(lambda d: d.__setitem__("occurredAt", "2026-01-01T00:00:00Z")),
    "server-set actorType": _with(lambda d: d.__setitem__("actorType", "api")),
    "null viewContext": _with(lambda d: d.__setitem__("viewContext", None)),
    "blank viewContext": _with(lambda d: d.__setitem__("viewContext", " ")),
    "extra metadata field": _with(lambda d: d["metadata"].__setitem__("note", "x")),
    "forbidden attribute name": _with(_set_attribute("request_body", "x")),
    "forbidden nested name": _with(_set_attribute("nested", {"querystring": "a"})),
    "raw-prefixed name": _with(_set_attribute("rawPayload", "x")),
    "passphrase name": _with(_set_attribute("passphrase", "x")),
    "empty attribute string": _with(_set_attribute("x", "")),
    "over-long attribute string": _with(_set_attribute("x", "a b" * 700)),
    "Feb 30": _with(_set_attribute("observed_at", "2026-02-30T00:00:00Z")),
    "hour 24": _with(_set_attribute("observed_at", "2026-01-01T24:00:00Z")),
    "offset without colon": _with(_set_attribute("observed_at", "2026-01-01T10:00:00+0100")),
    "space separator": _with(_set_attribute("observed_at", "2026-01-01 10:00:00Z")),
    "observed_at as number": _with(_set_attribute("observed_at", 20260101)),
    "missing observed_at": _with(lambda d: d["metadata"]["attributes"].pop("observed_at")),
    "hyphenless widget id": _with(lambda d: d.__setitem__("widgetId", "0" * 32)),
    "braced widget id": _with(lambda d: d.__setitem__("widgetId", f"{{{d['widgetId']}}}")),
    "run id with a colon": _with(lambda d: d["metadata"].__setitem__(
        "activity_core_run_id", "a:b")),
    "run id too long": _with(lambda d: d["metadata"].__setitem__(
        "activity_core_run_id", "r" * 257)),
    "context key with a space": _with(lambda d: d["metadata"].__setitem__(
        "context_key", "a b")),
    "early event name": _with(lambda d: d.__setitem__("eventType", "ops-service-observed")),
    "deferred event type": _with(lambda d: d.__setitem__("eventType",
                                                         "ops-access-path-checked")),
    "lone surrogate escape": _raw(b'"viewContext":"', b'"viewContext":"\\ud800'),
    "invalid UTF-8": _raw(b'"viewContext":"', b'"viewContext":"\xff'),
    "trailing comma": _raw(b'"attributes":{', b'"attributes":{"x":[1,],'),
    "deep nesting": _raw(b'"attributes":{', b'"attributes":{"x":' + b"[" * 1030 + b"]" * 1030
                         + b","),
    "byte order mark": b"\xef\xbb\xbf" + orjson.dumps(_event()),
    "form feed between tokens": _raw(b'"viewContext":', b'"viewContext":\x0c'),
    "two documents on a line": orjson.dumps(_event()) + orjson.dumps(_event()),
    "NaN": _raw(b'"attributes":{', b'"attributes":{"n":NaN,'),
    # Attributes other than observed_at go through msgspec's skipper: it must refuse all
    # of these as orjson does (or the guard must flag them).
    "exponent in a nested array": _raw(b'"attributes":{', b'"attributes":{"x":[1, 2e400],'),
    "exponent after a bracket and a tab": _raw(b'"attributes":{',
                                               b'"attributes":{"x":[\t-3.5E+400],'),
    "tab inside an attribute string": _raw(b'"attributes":{', b'"attributes":{"t":"a\tb",'),
    "control character in an attribute string": _raw(b'"attributes":{',
                                                     b'"attributes":{"t":"a\x01b",'),
    "leading zero": _raw(b'"attributes":{', b'"attributes":{"n":01,'),
    "bare minus": _raw(b'"attributes":{', b'"attributes":{"n":-,'),
    "truncated literal": _raw(b'"attributes":{', b'"attributes":{"b":tru,'),
    "missing value": _raw(b'"attributes":{', b'"attributes":{"b":,'),
    "duplicate observed_at, the last one bad": (
        orjson.dumps(_event())[:-3] + b',"observed_at":"2026-02-30T00:00:00Z"}}}'),
}

# Lines at the edges of what both may accept: whatever the tier does, it must agree.
EDGES = {
    "upper-case widget id": _with(lambda d: d.__setitem__("widgetId", d["widgetId"].upper())),
    "nil widget id": _with(lambda d: d.__setitem__("widgetId", "0" * 8 + "-0000" * 3 + "-"
                                                   + "0" * 12)),
    "longest run id": _with(lambda d: d["metadata"].update(
        activity_core_run_id="r" * 256,
        idempotency_key=f"{'r' * 256}:{d['metadata']['context_key']}:{d['eventType']}")),
    "tab between tokens": _raw(b'"viewContext":', b'"viewContext":\t'),
    "largest double, short digit runs": _raw(b'"attributes":{',
                                              b'"attributes":{"n":179769313486231.57e294,'),
    "just past the largest double": _raw(b'"attributes":{',
                                         b'"attributes":{"n":179769313486231.59e294,'),
    "far past it": _raw(b'"attributes":{', b'"attributes":{"n":99999999.9e301,'),
    "underflow": _raw(b'"attributes":{', b'"attributes":{"n":1e-400,'),
    "negative zero": _raw(b'"attributes":{', b'"attributes":{"n":-0.0,'),
    "deep but allowed": _raw(b'"attributes":{', b'"attributes":{"x":' + b"[" * 600
                             + b"]" * 600 + b","),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edges_get_the_engines_verdict(name: str) -> None:
    line = EDGES[name]
    if _accepts(line):
        assert _engine_findings(line) == [], name


@pytest.mark.parametrize("name", sorted(ENGINE_FAULTS))
def test_it_never_accepts_what_the_engine_faults(name: str) -> None:
    line = ENGINE_FAULTS[name]
    assert _engine_findings(line), name  # the case is a real fault
    assert not _accepts(line), name


@pytest.mark.parametrize("old, new", [
    (b'"eventType":"', b'"eventType":"ops-drift-detected","eventType":"'),
    (b'"observed_at":', b'"observed_at":"2026-01-01T00:00:00Z","observed_at":'),
    (b'"metadata":{', b'"metadata":{"context_key":"a",'),  # inside metadata
])
def test_a_repeated_key_is_declined_and_refused(old: bytes, new: bytes) -> None:
    # orjson and msgspec keep the last value; the contract's one rule (ASM-19) refuses the
    # line, so the tier must decline it and the engine path report it malformed.
    line = _raw(old, new)
    assert not _accepts(line)
    findings = _engine_findings(line)
    assert [f["kind"] for f in findings] == ["malformed"]
    assert "duplicate key" in findings[0]["reason"]


def test_lines_it_declines_still_get_the_engines_verdict() -> None:
    # Valid but outside the tier's comfort zone: leap day, leap second region, long lines.
    for line in (_with(_set_attribute("observed_at", "2028-02-29T12:00:00Z")),
                 _with(_set_attribute("note", "x" * MAX_LINE)),
                 _raw(b'"viewContext":"', b'"viewContext":"\\u0041'),
                 _raw(b'"viewContext":"', '"viewContext":"é'.encode())):
        assert not _accepts(line)
        assert _engine_findings(line) == []


def test_timestamps_it_accepts_are_valid_date_times() -> None:
    engine = validator_for("event", "v1").is_valid  # the schema and rules, no stream costs
    doc = _event()
    accepted = 0
    times = ["00:00:00", "23:59:59", "12:30:00.5", "07:05:09.123456789"]
    zones = ["Z", "z", "+00:00", "-23:59", "+14:00", "+05:30"]
    for month in range(0, 14):
        for day in range(0, 33):
            for time in times:
                for zone in zones[:2] if day % 3 else zones:
                    stamp = f"2026-{month:02d}-{day:02d}T{time}{zone}"
                    doc["metadata"]["attributes"]["observed_at"] = stamp
                    if _accepts(orjson.dumps(doc)):
                        accepted += 1
                        assert engine(doc), stamp
    assert accepted > 1000


def _mixed_stream(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    kinds = list(gen.SECRET_TEMPLATES)
    out: list[bytes] = []
    for doc in gen.valid_events(count, seed=seed):
        roll = rng.random()
        if roll < 0.05:
            key, value = gen.fake_secret(rng.choice(kinds), rng)
            doc = gen.insert_at_random_depth(doc, key, value, rng)
        elif roll < 0.08:
            doc["eventType"] = "ops-inventory-drift"
        elif roll < 0.1 and out:
            out.append(rng.choice(out))
            continue
        line = orjson.dumps(doc) + b"\n"
        out.append(line[: len(line) // 2] if roll > 0.99 else line)
    return out


@pytest.mark.parametrize("scanner", stream_fastpath.SCANNERS)
def test_streams_get_the_same_findings_with_and_without_the_tier(
        scanner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _mixed_stream(1500, seed=21)
    if scanner == "hyperscan":
        pytest.importorskip("hyperscan")  # installed, it must take the guard pattern
    tier = fast_path("v1", scanner)  # ConformanceError if it cannot be had
    monkeypatch.setattr(stream_fastpath, "fast_path", lambda version: tier)
    with_tier = StreamSummary("v1")
    found = [f.as_dict() for f in check_stream(lines, summary=with_tier)]
    without = StreamSummary("v1")
    expected = [f.as_dict() for f in check_stream(lines, summary=without, tier=False)]
    assert found == expected and found
    assert (with_tier.as_dict(), with_tier.valid, with_tier.lines) == (
        without.as_dict(), without.valid, without.lines)


def test_a_line_the_tier_leaves_unflagged_passes_the_engines_guard() -> None:
    """The pipeline skips the secret prefilter for a line the block scan passed: sound only
    while every such line passes the prefilter."""
    fast = fast_path("v1")
    guard = prefilter_validator().is_valid
    lines = [line + b"\n" for line in _corpus()]
    unflagged = 0
    for start in range(0, len(lines), 64):
        block = lines[start:start + 64]
        skip = fast.flagged(block)
        for index, raw in enumerate(block):
            if index not in skip:
                unflagged += 1
                assert guard(raw.decode()), raw[:120]
    assert unflagged > len(lines) // 4  # the corpus has many clean lines to check


def test_the_block_scan_flags_whatever_the_per_line_guard_flags() -> None:
    pytest.importorskip("hyperscan")
    scan = fast_path("v1", "hyperscan").flagged  # installed, it must take the guard pattern
    lines = [line + b"\n" for line in _corpus()]
    per_line = fast_path("v1", "rust-regex").flagged
    for start in range(0, len(lines), 64):
        block = lines[start:start + 64]
        assert per_line(block) <= scan(block)
    # A match is seen in its own line wherever the block puts it.
    secret = _with(_set_attribute("note", "Bearer abcdefgh12345678")) + b"\n"
    clean = orjson.dumps(_event()) + b"\n"
    for where in range(5):
        block = [clean] * 5
        block[where] = secret
        assert scan(block) == {where}


def test_first_match_end_gives_offsets_into_the_whole_buffer() -> None:
    end = first_match_end("ab+c")
    if end is None:
        pytest.skip("Hyperscan is not installed on this platform")
    data = b"xxabbc--abc"
    assert end(data, 0) == 6  # the first match ends after "abbc"
    assert end(data, 6) == 11  # a later start still counts from the buffer's start
    assert end(data, 9) == -1  # "bc" alone does not match
    assert first_match_end("^ab") is None  # block mode would read ^ as the slice's start
    assert first_match_end("a(?<=b)") is None  # Hyperscan refuses lookbehind: None, no crash


def test_hyperscan_gets_the_portable_classes_without_their_non_ascii_members() -> None:
    # The contract spells whitespace out (\\u0085, \\u2000-\\u200a, ...); Hyperscan has no
    # \\u escape and scans ASCII lines only, so those members go and the rest stays.
    assert ascii_classes(r"a[^\t \u0085\u2000-\u200a?#]+[\u00e9b]") == r"a[^\t ?#]+[b]"
    assert ascii_classes(r"[\u0041]x") == r"[\u0041]x"  # ASCII escapes are kept
    assert ascii_classes(r"a\u2028b") is None  # outside a class there is nothing to drop
    pytest.importorskip("hyperscan")
    end = first_match_end(r"b[\t \u00a0]+[^\t \u00a0]")
    assert end is not None
    assert end(b"xx b  c", 0) == 7
    assert end(b"xx b   ", 0) == -1


def test_anchor_detection() -> None:
    assert has_anchor("^a")
    assert has_anchor("a$")
    assert not has_anchor(r"[^a]\$\^[$^]")


_PIECES = [*" \t\"\\/:?=@.-_aAzZ09eE+", "1e3", "1e400", "bearer ", "eyJ", "https://",
           "password", "body", "raw", "\u00e9"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=10).map("".join)
# Empty containers are leaves, so the extension always uses its argument (Hypothesis warns
# about a recursion whose extension could ignore it).
_VALUE = st.recursive(st.one_of(_TEXT, st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
                                st.booleans(), st.none(), st.just([]), st.just({})),
                      lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                                              st.dictionaries(_TEXT, inner, min_size=1,
                                                              max_size=3)),
                      max_leaves=8)


@settings(max_examples=400, deadline=None, database=None)
@given(value=_VALUE, key=_TEXT,
       where=st.sampled_from(["attributes", "metadata", "root", "viewContext", "context_key",
                              "activity_core_run_id", "observed_at", "widgetId"]))
def test_random_values_anywhere_never_make_it_accept_a_fault(value: object, key: str,
                                                              where: str) -> None:
    doc = _event(9)
    if where == "attributes":
        doc["metadata"]["attributes"][key] = value
    elif where == "observed_at":
        doc["metadata"]["attributes"]["observed_at"] = value
    elif where in ("metadata", "root"):
        (doc["metadata"] if where == "metadata" else doc)[key] = value
    else:
        (doc if where in ("viewContext", "widgetId") else doc["metadata"])[where] = value
    for line in (orjson.dumps(doc), json.dumps(doc).encode()):
        _assert_sound(line)


def test_a_long_overridden_separator_leaves_long_keys_to_the_engine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # With a 300-character separator a key of valid parts can pass its maxLength (1024).
    class Long:
        key_separator = ":" * 300

    monkeypatch.setattr(stream_fastpath, "validator_for", lambda kind, version: Long())
    stream_fastpath.fast_path.cache_clear()
    doc = _event()
    md = doc["metadata"]
    md["context_key"] = "c" * 400
    md["idempotency_key"] = idempotency_key(md["activity_core_run_id"], md["context_key"],
                                            doc["eventType"], Long.key_separator)
    short = _event()
    short["metadata"]["idempotency_key"] = idempotency_key(
        short["metadata"]["activity_core_run_id"], short["metadata"]["context_key"],
        short["eventType"], Long.key_separator)
    try:
        assert fast_path("v1").key_of(orjson.dumps(doc)) is None
        assert fast_path("v1").key_of(orjson.dumps(short)) is not None
    finally:
        monkeypatch.undo()
        stream_fastpath.fast_path.cache_clear()


_SHOULD_CASES = [("metadata",), ("metadata", "attributes"),
                 ("metadata", "attributes", "observed_at")]


@pytest.mark.parametrize("path", _SHOULD_CASES)
def test_a_line_without_observed_at_is_left_to_the_engine_which_warns(path: tuple) -> None:
    """ACS-01 is SHOULD: the tier follows the schema's optional fields (it decodes such a
    line but never proves it), and the engine's verdict is a warning on a valid line."""
    doc = _event()
    node = doc
    for name in path[:-1]:
        node = node[name]
    del node[path[-1]]
    line = orjson.dumps(doc)
    fast = fast_path("v1")
    assert not fast.flagged([line]) and fast.key_of(line) is None
    summary = StreamSummary("v1")
    found = [f.as_dict() for f in check_stream([line] * 70, summary=summary)]
    assert found == [f.as_dict() for f in check_stream([line] * 70, tier=False)]
    assert found[0]["kind"] == "warning" and found[0]["pointer"] == "/" + "/".join(path)
    repeats = 0 if path == ("metadata",) else 69  # a line with a key repeats it 69 times
    assert summary.invalid == repeats and summary.counts["warning"] == 70
    assert "warning" in summary.as_dict()["by_kind"]


def test_a_stream_without_warnings_lists_no_warning_kind() -> None:
    summary = StreamSummary("v1")
    assert list(check_stream([orjson.dumps(_event())], summary=summary)) == []
    assert "warning" not in summary.as_dict()["by_kind"] and "warning" not in summary.text()


@pytest.mark.parametrize("version", available_versions())
def test_the_tier_decodes_the_schemas_required_fields(version: str) -> None:
    """The decoder is built from the schema's `required` (read at load time): a line missing
    a field the schema leaves optional is decoded and left to the engine, never refused
    for the wrong reason and never proven."""
    shape = require_known_shape(load_contract(version).schemas)
    assert shape["event"][1] <= {"widgetId", "eventType", "metadata"}
    if version == "v1":  # ACS-01: metadata and observed_at are SHOULD
        assert "metadata" not in shape["event"][1] and shape["attributes"][1] == frozenset()

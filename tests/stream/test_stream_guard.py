"""The stream's two tiers never accept what the full event schema rejects."""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path

import jsonschema_rs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ihub_conformance.contract.loader import available_versions, load_contract
from ihub_conformance.secrets import scan as secret_scan
from ihub_conformance.stream.guard import quotes_for_anchors, stream_tiers
from ihub_conformance.validation.engine import validator_for

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "fixtures" / "events"
from document_mutants import mutants  # noqa: E402
from event_generator import gen  # noqa: E402


def _safe_string(version: str) -> dict:
    return load_contract(version).schemas["common"]["$defs"]["SafeString"]


def _secret_patterns(version: str) -> list[str]:
    return [p for _, p in _safe_string(version)["allOf"][0]["x-secret-patterns"]]


def _check(version: str, line: bytes) -> None:
    """The property: a line the guard passes gets the full schema's verdict."""
    tiers = stream_tiers(version)
    full = validator_for("event", version).compiled_is_valid
    doc = orjson.loads(line)
    if tiers.guard(line.decode()):
        assert tiers.structure(doc) == full(doc), line[:160]
        assert not secret_scan.scan_json(doc), line[:160]


def _lines(version: str) -> list[bytes]:
    rng = random.Random(3)
    base = [json.loads(x) for x in (EVENTS / "valid.jsonl").read_text().splitlines()]
    base += list(gen.valid_events(20, seed=5))
    out = []
    for doc in base:
        out.append(orjson.dumps(doc))
        out += [json.dumps(m).encode() for _, m in mutants("event", doc)]
        for kind in gen.SECRET_TEMPLATES:
            key, value = gen.fake_secret(kind, rng)
            out.append(orjson.dumps(gen.insert_at_random_depth(copy.deepcopy(doc), key, value,
                                                               rng)))
    for name in ("invalid-contract", "invalid-secrets"):
        out += (EVENTS / f"{name}.jsonl").read_bytes().splitlines()
    return out


@pytest.mark.parametrize("version", available_versions())
def test_fast_tier_agrees_with_the_full_schema_on_corpora_and_mutants(version: str) -> None:
    lines = _lines(version)
    tiers = stream_tiers(version)
    passed = sum(tiers.guard(line.decode()) for line in lines)
    assert tiers.removed >= 2 and 0 < passed < len(lines)  # both tiers are exercised
    for line in lines:
        _check(version, line)


@pytest.mark.parametrize("version", available_versions())
def test_every_removed_secret_pattern_is_caught_by_the_guard(version: str) -> None:
    # Strings generated from each pattern the structure schema no longer checks, planted
    # as a metadata attribute value: the guard flags every line.
    tiers = stream_tiers(version)
    event = gen.valid_event(random.Random(8))
    for pattern in _secret_patterns(version):
        strategy = st.from_regex(re.compile(pattern), fullmatch=False)

        @settings(max_examples=150, deadline=None, database=None)
        @given(text=strategy)
        def planted(text: str) -> None:
            doc = copy.deepcopy(event)
            doc["metadata"]["attributes"]["note"] = text
            line = orjson.dumps(doc)
            full = validator_for("event", version).compiled_is_valid
            if not full(doc):
                assert not tiers.guard(line.decode()) or not tiers.structure(doc), pattern  # noqa: B023
            _check(version, line)

        planted()


def test_blank_guard_covers_every_whitespace_code_point() -> None:
    # The schema's blank check: a string with no character matching SafeString's pattern.
    blank = jsonschema_rs.validator_for({"pattern": _safe_string("v1")["pattern"]})
    guard = stream_tiers("v1").guard
    checked = 0
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if not blank.is_valid(ch):
            checked += 1
            line = orjson.dumps({"note": ch * 3}).decode()
            assert not guard(line), hex(cp)
    assert checked >= 20  # the Unicode spaces, tabs and line breaks


def test_anchor_translation() -> None:
    assert quotes_for_anchors(r"^HTTP/[0-9.]+$") == '"HTTP/[0-9.]+"'
    assert quotes_for_anchors(r"(?:^|[^A-Za-z0-9_])bearer") == '(?:"|[^A-Za-z0-9_])bearer'
    assert quotes_for_anchors(r"\^[\^$]x\$") == r"\^[\^$]x\$"


_PIECES = [*" \t\"\\/:?=@.-_aAzZ09<>\u00a0\u2028", "bearer ", "eyJ", "AKIA", "https://",
           "password", "HTTP/1.1 200"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(value=st.one_of(_TEXT, st.lists(_TEXT, max_size=3), st.dictionaries(_TEXT, _TEXT,
                                                                           max_size=3)),
       where=st.sampled_from(["attributes", "metadata", "root", "viewContext", "context_key"]))
def test_random_values_anywhere_never_split_the_verdicts(value: object, where: str) -> None:
    doc = gen.valid_event(random.Random(9))
    if where == "attributes":
        doc["metadata"]["attributes"]["x"] = value
    elif where == "metadata":
        doc["metadata"]["x"] = value
    elif where == "root":
        doc["x"] = value
    else:
        target = doc if where == "viewContext" else doc["metadata"]
        target[where] = value
    for line in (orjson.dumps(doc), json.dumps(doc).encode(),
                 json.dumps(doc, ensure_ascii=False).encode()):
        _check("v1", line)

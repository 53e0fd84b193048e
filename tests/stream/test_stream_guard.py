"""The raw-line guard: derived from the contract, it flags every line a string check could fail."""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path

import jsonschema_rs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ihub_conformance.contract.loader import available_versions, load_contract
from ihub_conformance.stream.guard import guard_pattern
from ihub_conformance.stream.raw_patterns import quotes_for_anchors

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "fixtures" / "events"
from event_generator import gen  # noqa: E402


def _safe_string(version: str) -> dict:
    return load_contract(version).schemas["common"]["$defs"]["SafeString"]


def _secret_patterns(version: str) -> list[str]:
    return [p for _, p in _safe_string(version)["allOf"][0]["x-secret-patterns"]]


def _guard(version: str):
    """True = the raw line is clean (the pattern does not match it)."""
    return jsonschema_rs.validator_for({"not": {"pattern": guard_pattern(version)}},
                                       pattern_options=jsonschema_rs.RegexOptions()).is_valid


@pytest.mark.parametrize("version", available_versions())
def test_every_secret_pattern_of_the_schema_is_caught_by_the_guard(version: str) -> None:
    # Strings generated from each SafeString secret pattern, planted as a metadata attribute
    # value: the guard flags every such line (it holds each pattern itself).
    guard = _guard(version)
    event = gen.valid_event(random.Random(8))
    assert len(_secret_patterns(version)) >= 2
    for pattern in _secret_patterns(version):
        strategy = st.from_regex(re.compile(pattern), fullmatch=False)

        @settings(max_examples=150, deadline=None, database=None)
        @given(text=strategy)
        def planted(text: str) -> None:
            doc = copy.deepcopy(event)
            doc["metadata"]["attributes"]["note"] = text
            line = orjson.dumps(doc)
            # The tier trusts the guard on ASCII lines only (others go to the engine).
            assert not line.isascii() or not guard(line.decode()), pattern  # noqa: B023

        planted()


def test_blank_guard_covers_every_whitespace_code_point() -> None:
    # The schema's blank check: a string with no character matching SafeString's pattern.
    blank = jsonschema_rs.validator_for({"pattern": _safe_string("v1")["pattern"]})
    guard = _guard("v1")
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

"""contract.patterns: a changed pattern is decided by automata inclusion, or said not to be."""

from __future__ import annotations

import re

import pytest

from ihub_conformance.contract import patterns
from ihub_conformance.contract.patterns import compare_patterns


def test_an_equivalent_rewrite_is_documentation():
    effect, detail, _ = compare_patterns(r"^[a-z0-9][a-z0-9_.-]*$", r"^[0-9a-z][-.a-z0-9_]*$")
    assert effect == "doc" and "equivalent" in detail


def test_a_unicode_escape_reads_as_its_character():
    assert compare_patterns(r"^[^:\u0020]+$", r"^[^: ]+$")[0] == "doc"


def test_a_narrowed_pattern_names_a_string_it_now_refuses():
    old, new = r"^[a-z0-9][a-z0-9-]*$", r"^[a-z][a-z0-9-]*$"
    effect, _, sample = compare_patterns(old, new)
    assert effect == "narrow"
    assert re.search(old, sample) and not re.search(new, sample)


def test_a_widened_pattern_is_widen_and_an_unanchored_one_searches():
    assert compare_patterns(r"^[a-z]+$", r"^[a-z0-9]+$")[0] == "widen"
    # unanchored: "ab" anywhere; anchoring it narrows
    assert compare_patterns("ab", "^ab$")[0] == "narrow"


def test_moved_both_ways_names_what_it_refuses():
    effect, _, sample = compare_patterns(r"^[a-c]+$", r"^[b-d]+$")
    assert effect == "both" and sample is not None and not re.search(r"^[b-d]+$", sample)


def test_outside_the_regular_subset_is_breaking_both_ways_and_says_so():
    effect, detail, sample = compare_patterns(r"^(?=a)\w+$", r"^\w+$")
    assert effect == "both" and "not compared" in detail and sample is None


def test_a_slow_comparison_meets_its_deadline(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(patterns, "DEADLINE_S", 0.01)
    effect, detail, _ = compare_patterns("(a|b)*a(a|b){12}", "(a|b)*a(a|b){13}")
    assert effect == "both" and "longer than 0.01 s" in detail

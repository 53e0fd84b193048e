"""The document corpus: every valid document passes; every invalid one fails as its name says.

Invalid file names encode the expectation: ``<pointer>__<reason>[__<variant>].json``.
``<pointer>`` is the RFC 6901 pointer with ``/`` written as ``.`` (``_root`` for the
whole document) and ``<reason>`` a keyword the violation's reason must contain
(``-`` matches a space or a hyphen). Every violation found must sit at that
pointer, so a document that fails for some other reason fails the test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.validation.engine import KINDS as SCHEMA_OF_KIND
from ihub_conformance.validation.engine import unwrap_mapping, validator_for

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
KINDS = ["mapping", "event", "manifest", "widget", "progress"]


def _files(version: str, kind: str, group: str) -> list[Path]:
    return sorted((CORPUS / version / kind / group).glob("*.json"))


def _cases(group: str) -> list[tuple[str, str, Path]]:
    return [
        (version.name, kind.name, path)
        for version in sorted(CORPUS.iterdir())
        if version.is_dir()
        for kind in sorted(version.iterdir())
        if kind.is_dir()
        for path in _files(version.name, kind.name, group)
    ]


def expectation(path: Path) -> tuple[str, str]:
    """(pointer, reason keyword) from an invalid corpus file name."""
    parts = path.stem.split("__")
    assert len(parts) in (2, 3), f"{path.name}: name must be <pointer>__<reason>[__<variant>]"
    slug, reason = parts[0], parts[1]
    pointer = "" if slug == "_root" else "/" + slug.replace(".", "/")
    return pointer, reason


def _mentions(reason: str, keyword: str) -> bool:
    pattern = re.escape(keyword.lower()).replace(r"\-", "[- ]")
    return re.search(pattern, reason.lower()) is not None


@pytest.mark.parametrize("kind", KINDS)
def test_v1_corpus_is_big_enough(kind: str):
    assert len(_files("v1", kind, "valid")) >= 5
    assert len(_files("v1", kind, "invalid")) >= 15


@pytest.mark.parametrize(
    ("version", "kind", "path"), _cases("valid"), ids=lambda v: getattr(v, "name", v)
)
@pytest.mark.requirement("ACS-02", "ACS-03", "ACS-04", "ACS-06")
def test_valid_document_passes(version: str, kind: str, path: Path):
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = validator_for(kind, version)
    assert validator.violations(document) == []
    assert validator.is_valid(document)


@pytest.mark.parametrize(
    ("version", "kind", "path"), _cases("invalid"), ids=lambda v: getattr(v, "name", v)
)
@pytest.mark.requirement("ACS-02", "ACS-03", "ACS-05", "ACS-06", "ACS-07", "ACS-08",
                         "VOC-02", "VOC-03", "VOC-05", "VOC-06")
def test_invalid_document_fails_at_the_named_pointer_for_the_named_reason(
    version: str, kind: str, path: Path
):
    pointer, keyword = expectation(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = validator_for(kind, version)
    found = validator.violations(document)
    assert not validator.is_valid(document)
    assert found, f"{path.name}: accepted"
    elsewhere = [v for v in found if v.pointer != pointer]
    assert not elsewhere, f"{path.name}: violations away from {pointer!r}: {elsewhere}"
    assert any(_mentions(v.reason, keyword) for v in found), (
        f"{path.name}: no reason at {pointer!r} mentions {keyword!r}: {found}"
    )


@pytest.mark.parametrize(
    ("version", "kind", "path"), _cases("should"), ids=lambda v: getattr(v, "name", v)
)
@pytest.mark.requirement("ACS-01")
def test_should_document_passes_with_one_warning_at_the_named_pointer(
    version: str, kind: str, path: Path
):
    """`should/` files break a SHOULD only: valid, with a named warning (the same naming)."""
    pointer, keyword = expectation(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = validator_for(kind, version)
    assert validator.violations(document) == []
    warnings = validator.advisories(document)
    assert [w.pointer for w in warnings] == [pointer], path.name
    assert all(_mentions(w.reason, keyword) and "SHOULD" in w.reason for w in warnings)


def test_the_should_group_covers_acs_01():
    names = {path.name for _, _, path in _cases("should")}
    assert {"metadata__missing.json", "metadata.attributes__missing.json",
            "metadata.attributes.observed_at__missing.json"} <= names


def test_expectation_parses_names():
    assert expectation(Path("metadata.idempotency_key__mismatch.json")) == (
        "/metadata/idempotency_key",
        "mismatch",
    )
    assert expectation(Path("_root__type.json")) == ("", "type")
    assert expectation(Path("mappings.0.eventType__early-proposal__drift.json")) == (
        "/mappings/0/eventType",
        "early-proposal",
    )


@pytest.mark.parametrize(
    ("version", "kind", "path"),
    _cases("valid") + _cases("invalid") + _cases("should"),
    ids=lambda v: getattr(v, "name", v),
)
def test_python_jsonschema_reads_the_schemas_the_same_way(version: str, kind: str, path: Path):
    """Other tools (check-jsonschema, Schemathesis) use Python jsonschema: same verdicts."""
    contract = load_contract(version)
    reference = Draft202012Validator(
        contract.schemas[SCHEMA_OF_KIND[kind][0]],
        registry=contract.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    document, _ = unwrap_mapping(json.loads(path.read_text(encoding="utf-8")))
    assert reference.is_valid(document) == validator_for(kind, version).schema_is_valid(document)

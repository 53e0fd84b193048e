"""The gate's single seam onto sibling modules (validation, contracts, secret_scan).

Gates call these small functions rather than the modules directly, so the
shape the gate relies on is written down in one place.
"""

from __future__ import annotations

from typing import Any


def _scanner() -> Any:
    from ihub_conformance.secrets import scan as secret_scan

    return secret_scan


def violations(kind: str, doc: Any, version: str = "v1") -> list[tuple[str, str]]:
    """(JSON pointer, reason) for each way ``doc`` breaks the contract schema ``kind``."""
    from ihub_conformance.validation.engine import validator_for

    return [(v.pointer, v.reason) for v in validator_for(kind, version).violations(doc)]


def advisories(kind: str, doc: Any, version: str = "v1") -> list[tuple[str, str]]:
    """(JSON pointer, reason) for each warning that breaks no rule (e.g. ACS-04 coverage)."""
    from ihub_conformance.validation.engine import validator_for

    return [(v.pointer, v.reason) for v in validator_for(kind, version).advisories(doc)]


def probe_detail_bound(version: str = "v1") -> tuple[int | None, Any]:
    """The schema's one bound on a fallback probe detail, and the size it counts."""
    from ihub_conformance.contract.loader import load_contract
    from ihub_conformance.validation.rules import encoded_size, probe_detail_max_bytes

    return probe_detail_max_bytes(load_contract(version).schemas), encoded_size


def vocabulary(version: str = "v1") -> dict[str, Any]:
    """The contract's live vocabulary document (vocabulary/ops-hub.json)."""
    from ihub_conformance.contract.loader import load_contract

    vocab = load_contract(version).vocabulary
    return dict(vocab) if not isinstance(vocab, dict) else vocab


def redact(secret: str) -> str:
    return _scanner().redact(secret)


def contains_literal(text: str, secret: str) -> bool:
    return bool(secret) and _scanner().contains_literal(text, secret)


def scan_text(text: str) -> list[Any]:
    """Token-like literals in a text: objects with kind, pointer, preview, line."""
    return list(_scanner().scan_text(text))


def scan_json(doc: Any) -> list[Any]:
    return list(_scanner().scan_json(doc))

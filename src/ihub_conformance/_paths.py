"""Where the contracts and seed data live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

from ihub_conformance.errors import ConformanceError

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def contracts_dir() -> Path:
    """The `contracts/` tree: the checkout's own first, so edits there count."""
    return _first_existing(_CHECKOUT / "contracts", _PACKAGE / "_data" / "contracts")


def seed_dir() -> Path:
    """The default seed data for the reference Inter-Hub."""
    return _first_existing(_CHECKOUT / "fixtures" / "seed", _PACKAGE / "_data" / "seed")


def example_mapping() -> Path:
    """The example OPS_HUB_WIDGET_MAPPING whose widgets the default seed creates."""
    directory = _first_existing(
        _CHECKOUT / "fixtures" / "mappings", _PACKAGE / "_data" / "mappings"
    )
    return directory / "ops-hub-widget-mapping.json"


def cassettes_dir() -> Path:
    """fixtures/cassettes/ of the checkout, else the copy shipped inside the package."""
    return _first_existing(_CHECKOUT / "fixtures" / "cassettes", _PACKAGE / "_data" / "cassettes")


def corpus_dir() -> Path | None:
    """fixtures/corpus/ (valid and invalid documents per version) in a checkout, else None."""
    root = checkout_root()
    corpus = root / "fixtures" / "corpus" if root is not None else None
    return corpus if corpus is not None and corpus.is_dir() else None


def checkout_root() -> Path | None:
    """The repository root when running from a checkout, else None."""
    return _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


def suite_dir() -> Path:
    """conformance/ of the checkout, else the copy shipped inside the package."""
    root = checkout_root()
    if root is not None and (root / "conformance" / "conftest.py").is_file():
        return root / "conformance"
    shipped = _PACKAGE / "_data" / "conformance"
    if (shipped / "conftest.py").is_file():
        return shipped
    raise ConformanceError("the conformance suite (conformance/) is not installed")

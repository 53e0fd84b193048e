"""The contract: versioned schemas, the assumption register, the requirement catalog, OpenAPI.

Owns everything read from ``contracts/``. Imports nothing of this package but
``errors``, ``documents`` and ``_paths``.
"""

from __future__ import annotations

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.contract.catalog import Catalog, Requirement, load_catalog
from ihub_conformance.contract.loader import DEFAULT_VERSION, Contract, load_contract

__all__ = [
    "DEFAULT_VERSION",
    "Assumptions",
    "Catalog",
    "Contract",
    "Requirement",
    "load_assumptions",
    "load_catalog",
    "load_contract",
]

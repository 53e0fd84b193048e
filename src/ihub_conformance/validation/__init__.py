"""Document validation: the one engine (jsonschema-rs) plus the domain rules no schema states."""

from __future__ import annotations

from ihub_conformance.validation.engine import KINDS, validator_for
from ihub_conformance.validation.rules import Violation, idempotency_key

__all__ = ["KINDS", "Violation", "idempotency_key", "validator_for"]

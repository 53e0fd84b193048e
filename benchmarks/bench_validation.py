"""Validation engine throughput: compiled validators against the pure-Python reference.

Prints documents/s for each document kind through ``validator_for(kind)`` (the
engine every command uses) and the ratio to the ``jsonschema`` library
validating the same documents with the same offline registry and format
checking. Both sides measure CPU time, best of several rounds, in this run.

    python benchmarks/bench_validation.py [--rounds 5] [--docs 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.validation.engine import KINDS, validator_for

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "v1"
KIND_LIST = ["event", "mapping", "manifest", "widget", "progress"]


def _documents(kind: str, count: int) -> list[Any]:
    valid, invalid = (
        [json.loads(p.read_text()) for p in sorted((CORPUS / kind / group).glob("*.json"))]
        for group in ("valid", "invalid")
    )
    # Mostly valid documents with a share of invalid ones, as in a real stream.
    pool = valid * 9 + invalid
    return [pool[i % len(pool)] for i in range(count)]


def _best_rate(check: Callable[[Any], Any], docs: list[Any], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.process_time()
        for doc in docs:
            check(doc)
        elapsed = max(time.process_time() - start, 1e-9)
        best = max(best, len(docs) / elapsed)
    return best


def _reference(kind: str) -> Callable[[Any], bool]:
    contract = load_contract("v1")
    schema_name, _ = KINDS[kind]
    validator = Draft202012Validator(
        contract.schemas[schema_name],
        registry=contract.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return validator.is_valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()
    header = ("kind", "engine docs/s", "violations/s", "jsonschema/s", "ratio")
    print(f"{header[0]:<10} {header[1]:>14} {header[2]:>13} {header[3]:>13} {header[4]:>7}")
    for kind in KIND_LIST:
        docs = _documents(kind, args.docs)
        engine = validator_for(kind)
        fast = _best_rate(engine.is_valid, docs, args.rounds)
        full = _best_rate(engine.violations, docs, args.rounds)
        reference = _best_rate(_reference(kind), docs[: max(args.docs // 10, 50)], args.rounds)
        ratio = fast / reference
        print(f"{kind:<10} {fast:>14,.0f} {full:>13,.0f} {reference:>13,.0f} {ratio:>6.0f}x")


if __name__ == "__main__":
    main()

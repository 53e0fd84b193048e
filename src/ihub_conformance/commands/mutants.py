"""`ihub-conformance mutants`: the suite against every fault variant of the reference hub."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ihub_conformance.commands._common import add_assumptions
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK, ConformanceError
from ihub_conformance.reference.faults import FAULTS, applies_in, check_faults
from ihub_conformance.suite.mutants import (
    DEFAULT_EXAMPLES,
    DEFAULT_TIMEOUT_S,
    render_table,
    report_document,
    run_all,
    summary,
)

HELP = ("Run the conformance suite against every fault variant of the reference hub and the "
        "faithful hub; print the kill table (exit 0 only when every variant is killed on target).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="only this fault (repeatable; default: every fault in FAULTS)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="variants run in parallel (default 2)")
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, metavar="N",
                        help=f"Schemathesis examples per operation (default {DEFAULT_EXAMPLES})")
    parser.add_argument("--hand-written-only", action="store_true",
                        help="leave the Schemathesis tests out (the kill then rests on the "
                        "hand-written tests alone)")
    parser.add_argument("--targeted", action="store_true",
                        help="run each fault variant on the tests that verify its requirement "
                        "(or check its assumption) ids only: the same kills, a fraction of the "
                        "time; the table then shows no off-target failures")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"seconds per variant before it is killed (default "
                        f"{DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--report", default=None, metavar="FILE",
                        help="also write the kill table as JSON")
    add_assumptions(parser)


def _check_args(args: argparse.Namespace) -> None:
    if args.jobs < 1:
        raise ConformanceError("--jobs must be at least 1")
    if args.examples < 1:
        raise ConformanceError("--examples must be at least 1")
    if args.timeout <= 0:
        raise ConformanceError("--timeout must be positive")
    check_faults(args.fault)


def main(args: argparse.Namespace) -> int:
    _check_args(args)
    register = load_assumptions("v1", args.assumptions)  # a bad file: exit 2, before any run
    names = list(dict.fromkeys(args.fault)) or sorted(FAULTS)
    # A fault that breaks nothing in this dialect (200 on create where 200 is the norm) is
    # no fault there: it is listed as not applicable, never counted as survived.
    skipped = [name for name in names if not applies_in(name, register)]
    names = [name for name in names if name not in skipped]
    mode = ("hand-written only" if args.hand_written_only
            else f"hand-written + schemathesis, {args.examples} examples")
    mode += ", targeted" if args.targeted else ""
    print(f"Running the suite against {len(names)} fault variants and the faithful hub "
          f"({mode}, {args.jobs} at a time, {args.timeout:g}s each at most)", flush=True)
    started = time.monotonic()
    if skipped:
        print(f"not applicable in {args.assumptions}: {', '.join(skipped)}", flush=True)
    rows = run_all(names, jobs=args.jobs, examples=args.examples,
                   hand_written_only=args.hand_written_only, timeout=args.timeout,
                   assumptions=args.assumptions, targeted=args.targeted)
    elapsed = time.monotonic() - started
    ok, text = summary(rows)
    print()
    print(render_table(rows, mode=mode))
    print()
    print(text)
    print(f"total {elapsed:.1f}s")
    if args.report:
        path = Path(args.report)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report_document(
                rows, mode=mode, examples=args.examples, jobs=args.jobs, ok=ok,
                seconds=elapsed), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"ihub-conformance mutants: error: {path}: cannot write: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return 2
    return EXIT_OK if ok else EXIT_FINDINGS

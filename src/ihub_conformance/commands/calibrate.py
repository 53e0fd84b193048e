"""`ihub-conformance calibrate`: learn a live hub's dialect, write the override file.

Probes the hub (read-only unless --allow-writes; bounded by --budget requests,
a per-request --timeout and a --deadline for the whole probe) and writes FILE:
every convention the source leaves open that the hub showed, each with its
evidence as a comment, in the shape that `run --assumptions FILE` and `gate
--assumptions FILE` accept. What it could not determine stays at the register
default and is listed (exit 1). The key comes from the environment (--key-env)
and is never written anywhere.

Exit codes: 0 everything open determined, 1 some values undetermined (listed),
2 usage or input error, 3 target unreachable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ihub_conformance.commands._common import add_contract, add_key_env
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK, ConformanceError, InputError
from ihub_conformance.hub.calibration import (
    calibrate,
    given_values,
    keep_given,
    render_override,
    write_override,
)
from ihub_conformance.hub.probe import DEFAULT_BUDGET, DEFAULT_DEADLINE, DEFAULT_TIMEOUT, Prober
from ihub_conformance.hub.run_id import new_run_id
from ihub_conformance.hub.target import key_from_env, parse_target_spec
from ihub_conformance.validation.rules import idempotency_key

HELP = "Probe a live hub and write the assumption override file that fits it."
DEFAULT_OUT = "hub-assumptions.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, metavar="URL", help="the hub's base URL")
    add_key_env(parser)
    parser.add_argument("--state-hub", default=None, metavar="URL",
                        help="the State Hub's base URL (its progress list is probed too)")
    parser.add_argument("--allow-writes", action="store_true",
                        help="allow a handful of run-tagged writes (one widget, a few "
                        "events), listed at the end; needed for create and rejection statuses")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="FILE",
                        help=f"the override file to write (default {DEFAULT_OUT})")
    add_contract(parser)
    parser.add_argument("--assumptions", default=None, metavar="FILE",
                        help="an override file whose values are kept where the hub shows "
                        "nothing (e.g. stand_ins for reads it lacks, state_hub)")
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, metavar="N",
                        help=f"most requests to send (default {DEFAULT_BUDGET})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"per-request timeout (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, metavar="SECONDS",
                        help=f"for the whole probe (default {DEFAULT_DEADLINE:g}); what is "
                        "left is listed as undetermined")


def _check(args: argparse.Namespace) -> None:
    if parse_target_spec(args.target) != args.target or "://" not in args.target:
        raise ConformanceError("--target: calibrate needs a live hub's http(s) URL")
    if args.state_hub and "://" not in parse_target_spec(args.state_hub):
        raise ConformanceError("--state-hub: needs an http(s) URL")
    if args.budget < 10:
        raise InputError("--budget", "must be at least 10")
    if not 0 < args.timeout <= 120:
        raise InputError("--timeout", "must be between 0 and 120 seconds")
    if not 0 < args.deadline <= 3600:
        raise InputError("--deadline", "must be between 0 and 3600 seconds")
    out = Path(args.out)
    if out.is_dir():
        raise InputError(str(out), "is a directory", field="--out")


def main(args: argparse.Namespace) -> int:
    _check(args)
    key = key_from_env(args.key_env)
    assumptions = load_assumptions(args.contract, None)
    base = given_values(args.contract, args.assumptions) if args.assumptions else {}
    separator = str(assumptions.get("idempotency.separator"))
    prober = Prober(args.target, key, budget=args.budget, timeout=args.timeout,
                    deadline=args.deadline)
    try:
        cal = calibrate(prober, assumptions, run_id=new_run_id("calibrate"),
                        state_hub=args.state_hub, allow_writes=args.allow_writes,
                        event_key=lambda run, ctx, kind: idempotency_key(run, ctx, kind,
                                                                         separator))
    finally:
        prober.close()
    keep_given(cal, base, args.assumptions)
    out = Path(args.out)
    try:
        write_override(render_override(cal, assumptions), out, key=key, contract=args.contract)
    except OSError as exc:
        raise InputError(str(out), f"cannot write: {exc.strerror or exc}",
                         field="--out") from None
    _summary(cal, out)
    return EXIT_OK if cal.complete else EXIT_FINDINGS


def _summary(cal, out: Path) -> None:
    print(f"ihub-conformance calibrate: {cal.target}, run {cal.run_id}, "
          f"{cal.requests} requests")
    print(f"  determined: {len(cal.found)} values -> {out}")
    if cal.undetermined:
        print(f"  undetermined ({len(cal.undetermined)}, left at the register default):")
        for key, why in cal.undetermined.items():
            print(f"    {key}: {why}")
    if cal.written:
        print(f"  objects written ({len(cal.written)}, none deleted):")
        for obj in cal.written:
            print(f"    {obj['kind']} {obj['id']} {obj['name']!r}")
    else:
        print("  objects written: none")
    print(f"  next: ihub-conformance run --target {cal.target} --assumptions {out}")

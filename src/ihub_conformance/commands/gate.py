"""`ihub-conformance gate`: the pre-deploy go/no-go verdict with evidence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ihub_conformance.commands._common import (
    add_assumptions,
    add_contract,
    add_key_env,
    add_request_policy,
    check_request_policy,
)
from ihub_conformance.errors import ConformanceError, InputError
from ihub_conformance.gate import ALL_CHECKS, DEFAULT_REQUIRED, GateConfig, run_gate
from ihub_conformance.gate.report import table, write_reports
from ihub_conformance.hub.target import check_url, parse_target_spec

HELP = ("Pre-deploy gate: the six production gates, the State Hub fallback and vocabulary "
        "drift; exit 0 only when every required check passes.")
CASSETTES = Path("fixtures") / "cassettes"
_REPEATABLE = (
    ("--runtime-manifest", "FILE", "activity-core Kubernetes YAML (Deployment, ConfigMap, "
     "Secret, ExternalSecret)"),
    ("--scan-repo", "PATH", "git work tree whose tracked files must not hold the key or "
     "token-like literals"),
    ("--scan-exclude", "GLOB", "repository-relative glob whose files get no token-like scan "
     "(e.g. a corpus of fake secrets); the key itself is still searched there"),
    ("--cassettes", "DIR", "cassette directory to scan (default: fixtures/cassettes under "
     "each --scan-repo, when present)"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="reference",
                        help="'reference' (embedded hub; implies --allow-writes) or the "
                        "Inter-Hub base URL (default: reference)")
    add_key_env(parser)
    parser.add_argument("--mapping", metavar="FILE",
                        help="widget mapping JSON file (default: $OPS_HUB_WIDGET_MAPPING as "
                        "JSON text or a path, else the value in the runtime manifests)")
    for flag, metavar, what in _REPEATABLE:
        parser.add_argument(flag, action="append", default=[], metavar=metavar,
                            help=f"{what}; repeatable")
    parser.add_argument("--state-hub", metavar="URL",
                        help="State Hub base URL for the fallback check (reference target: "
                        "the reference hub's own /progress/)")
    parser.add_argument("--require", default=",".join(DEFAULT_REQUIRED), metavar="LIST",
                        help=f"checks that must pass, comma-separated from {','.join(ALL_CHECKS)}"
                        f" (default {','.join(DEFAULT_REQUIRED)})")
    parser.add_argument("--allow-writes", action="store_true",
                        help="let gates 1 and 6 write (run-tagged widgets and events); without "
                        "it gate 6 is reported blocked")
    add_request_policy(parser)
    parser.add_argument("--report-dir", default="reports/gate", metavar="DIR",
                        help="where gate.json, gate.md and junit.xml go (default reports/gate)")
    add_contract(parser)
    add_assumptions(parser)


def parse_required(text: str) -> tuple[str, ...]:
    tokens = [t.strip().lower() for t in text.split(",") if t.strip()]
    unknown = [t for t in tokens if t not in ALL_CHECKS]
    if unknown or not tokens:
        raise ConformanceError(f"--require: unknown check {unknown[0] if unknown else '(none)'}"
                               f"; choose from {','.join(ALL_CHECKS)}")
    return tuple(t for t in ALL_CHECKS if t in tokens)


def _cassette_dirs(args: argparse.Namespace) -> list[str]:
    if args.cassettes:
        return list(args.cassettes)
    roots = [Path(r) for r in args.scan_repo]
    found = {str((root / CASSETTES).resolve()) for root in roots if (root / CASSETTES).is_dir()}
    return sorted(found)


def main(args: argparse.Namespace) -> int:
    parse_target_spec(args.target)  # before anything contacts it
    check_request_policy(args)
    if args.state_hub:
        check_url(args.state_hub, "--state-hub")
    config = GateConfig(
        target=args.target, key_env=args.key_env, mapping=args.mapping,
        runtime_manifests=list(args.runtime_manifest), scan_repos=list(args.scan_repo),
        scan_exclude=list(args.scan_exclude),
        state_hub=args.state_hub, required=parse_required(args.require),
        allow_writes=args.allow_writes, report_dir=Path(args.report_dir),
        contract=args.contract, assumptions_file=args.assumptions,
        cassette_dirs=_cassette_dirs(args), rate_limit=args.rate_limit,
        max_requests=args.max_requests, max_writes=args.max_writes, dry_run=args.dry_run,
    )
    result = run_gate(config)
    if result.contradiction:
        print(f"ihub-conformance: {result.contradiction}", file=sys.stderr)
    try:
        paths = write_reports(result, config.report_dir) if config.report_dir else []
    except OSError as exc:
        raise InputError(str(config.report_dir), f"--report-dir: cannot write the reports "
                         f"({exc.strerror or type(exc).__name__})") from None
    print(table(result))
    for path in paths:
        print(f"report: {path}")
    if result.stopped:  # the one line saying why the gate stopped short
        print(f"ihub-conformance: stopped: {result.stopped}", file=sys.stderr)
    return result.exit_code

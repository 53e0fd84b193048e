"""`ihub-conformance validate KIND FILE`: check one document against a contract version."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ihub_conformance.contract.loader import DEFAULT_VERSION, load_contract
from ihub_conformance.documents import load_document
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK
from ihub_conformance.validation.engine import Violation, validator_for

HELP = "Validate a widget mapping, interaction event, manifest, widget or progress list."

# CLI kind -> engine kind; `events` (JSON Lines streams) is handled by event_stream.
KINDS = {
    "mapping": "mapping",
    "event": "event",
    "manifest": "manifest",
    "widget": "widget",
    "progress": "progress",
}
STREAM_KIND = "events"
STDIN = "-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind",
        choices=[*KINDS, STREAM_KIND],
        help="document kind: mapping (OPS_HUB_WIDGET_MAPPING), event (interaction-event "
        "payload), manifest, widget, progress (State Hub list), events (JSON Lines stream)",
    )
    parser.add_argument("file", help="JSON or YAML file; '-' reads standard input")
    parser.add_argument(
        "--contract",
        default=DEFAULT_VERSION,
        metavar="VERSION",
        help=f"contract version (v0, v1; default {DEFAULT_VERSION})",
    )
    parser.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="output format (default text)",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default="auto",
        metavar="N|auto",
        help="events only: check with N worker processes (same output; on stdin, "
        "findings come a chunk at a time). Default auto: one per available core (at "
        "most 4) for regular files of 8 MB or more, else 1",
    )


def _jobs(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number or 'auto'")
    return jobs


def main(args: argparse.Namespace) -> int:
    if args.kind == STREAM_KIND:
        return _run_stream(args)
    contract = load_contract(args.contract)  # unknown versions fail here, exit 2
    source = "<stdin>" if args.file == STDIN else args.file
    document = load_document(args.file)
    validator = validator_for(KINDS[args.kind], contract.version)
    found = validator.violations(document)
    warnings = validator.advisories(document)  # never change the exit code
    if args.format == "json":
        doc = _as_json(source, args.kind, contract.version, found)
        doc["warnings"] = [{"pointer": w.pointer, "reason": w.reason} for w in warnings]
        print(json.dumps(doc, indent=2))
    else:
        for warning in warnings:
            print(f"{source}: {warning.pointer or '/'}: warning: {warning.reason}")
        _print_text(source, args.kind, contract.version, found)
    return EXIT_FINDINGS if found else EXIT_OK


def _run_stream(args: argparse.Namespace) -> int:
    from ihub_conformance.commands import events  # imports the stream machinery only when asked

    return events.main(args)


def _as_json(source: str, kind: str, version: str, found: list[Violation]) -> dict[str, Any]:
    return {
        "file": source,
        "kind": kind,
        "contract": version,
        "valid": not found,
        "violations": [{"pointer": v.pointer, "reason": v.reason} for v in found],
    }


def _print_text(source: str, kind: str, version: str, found: list[Violation]) -> None:
    for violation in found:
        print(f"{source}: {violation.pointer or '/'}: {violation.reason}")
    if found:
        noun = "violation" if len(found) == 1 else "violations"
        print(f"{source}: invalid {kind}: {len(found)} {noun} (contract {version})")
    else:
        print(f"{source}: valid {kind} (contract {version})")

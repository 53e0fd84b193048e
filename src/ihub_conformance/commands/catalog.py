"""`ihub-conformance catalog sync`: keep the catalog's `verified_by` in step with the tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ihub_conformance._paths import checkout_root
from ihub_conformance.contract.catalog import catalog_path, sync_verified_by
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK, InputError

HELP = "Requirement catalog tools (sync: rewrite verified_by from the tests' markers)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    sync = sub.add_parser("sync", help="rewrite verified_by from the tests' requirement markers")
    sync.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 when verified_by is out of date")
    sync.add_argument("--contract", default="v1", help="contract version (default v1)")
    sync.add_argument("--catalog", help="catalog file (default contracts/<contract>/...)")
    sync.add_argument("--root", help="repository root holding conformance/ and tests/")


def main(args: argparse.Namespace) -> int:
    return _sync_command(args)


def _sync_command(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else checkout_root()
    if root is None:
        raise InputError("--root", "not running from a checkout; name the repository root")
    path = Path(args.catalog) if args.catalog else catalog_path(args.contract)
    result = sync_verified_by(root, path, check=args.check)
    for rid, tests in result["unknown"].items():
        print(f"{path}: unknown requirement {rid} marked by {', '.join(tests)}",
              file=sys.stderr)
    verified = sum(1 for tests in result["verified_by"].values() if tests)
    if args.check and result["changed"]:
        print(f"{path}: verified_by out of date for {', '.join(result['changed'])}; "
              "run `ihub-conformance catalog sync`", file=sys.stderr)
        return EXIT_FINDINGS
    action = "updated" if result["written"] else "up to date"
    print(f"{path}: {action}; {verified}/{len(result['verified_by'])} requirements verified "
          f"by {result['tests']} collected tests")
    return EXIT_FINDINGS if result["unknown"] else EXIT_OK

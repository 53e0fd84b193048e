"""The `ihub-conformance` command line: one subcommand per module under commands/."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ihub_conformance import __version__
from ihub_conformance.errors import EXIT_USAGE, ConformanceError

# subcommand -> module under ihub_conformance.commands; each module defines
# HELP (str), add_arguments(parser) and main(args) -> int.
_COMMANDS = {
    "validate": "validate",
    "serve": "serve",
    "run": "run",
    "gate": "gate",
    "mutants": "mutants",
    "catalog": "catalog",
    "calibrate": "calibrate",
    "diff": "diff",
}


def _load(name: str):
    return importlib.import_module(f"ihub_conformance.commands.{_COMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ihub-conformance",
        description="Contract tests and conformance checks for Inter-Hub evidence intake.",
        epilog="Exit codes: 0 ok, 1 findings/non-conformant, 2 usage or input error, "
        "3 target unreachable.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        module = _load(name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_main=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args._main(args))
    except ConformanceError as exc:
        print(f"ihub-conformance: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ihub-conformance: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

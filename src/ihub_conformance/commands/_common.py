"""Options that `run` and `gate` share, defined once so they mean the same in both."""

from __future__ import annotations

import argparse

from ihub_conformance.contract.loader import DEFAULT_VERSION
from ihub_conformance.hub.target import DEFAULT_KEY_ENV


def add_key_env(parser: argparse.ArgumentParser) -> None:
    # The key itself never appears on the command line, only the variable's name.
    parser.add_argument("--key-env", default=DEFAULT_KEY_ENV, metavar="NAME",
                        help=f"environment variable holding the key (default {DEFAULT_KEY_ENV})")


def add_contract(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contract", default=DEFAULT_VERSION, metavar="VERSION",
                        help=f"contract version (default {DEFAULT_VERSION})")


def add_assumptions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assumptions", default=None, metavar="FILE",
                        help="assumption override file, YAML/JSON "
                        "(see contracts/v1/assumptions.yaml)")

"""Options that `run` and `gate` share, defined once so they mean the same in both."""

from __future__ import annotations

import argparse

from ihub_conformance.contract.loader import DEFAULT_VERSION
from ihub_conformance.hub.policy import DEFAULT_LIVE_RATE, check_budget, parse_rate
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


def add_request_policy(parser: argparse.ArgumentParser) -> None:
    """How a run may talk to a hub (hub/policy.py): the same four options on run and gate."""
    parser.add_argument("--rate-limit", default=None, metavar="N/s",
                        help=f"request rate limit, N/s, N/m or N/h (default {DEFAULT_LIVE_RATE} "
                        "on a live target, none on the reference hub)")
    parser.add_argument("--max-requests", type=int, default=None, metavar="N",
                        help="request budget: the run stops before request N+1 (every request "
                        "it sends, Schemathesis's and the preflight's included)")
    parser.add_argument("--max-writes", type=int, default=None, metavar="N",
                        help="write budget: the run stops before write N+1")
    parser.add_argument("--dry-run", action="store_true",
                        help="send reads, list the writes a run would send, send none")


def check_request_policy(args: argparse.Namespace) -> None:
    """The policy options' usage errors (exit 2), before anything contacts a hub."""
    if args.rate_limit is not None:
        parse_rate(args.rate_limit)
    for name in ("max_requests", "max_writes"):
        check_budget(f"--{name.replace('_', '-')}", getattr(args, name))

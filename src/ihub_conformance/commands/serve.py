"""`ihub-conformance serve`: run the reference Inter-Hub until interrupted."""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
from types import FrameType

from ihub_conformance.commands._common import add_assumptions
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.errors import EXIT_OK, ConformanceError
from ihub_conformance.reference.faults import check_faults
from ihub_conformance.reference.seed import load_seed
from ihub_conformance.reference.server import KEY_ENV, UNBOUND_KEY_ENV, running_reference_hub

HELP = "Run the reference Inter-Hub (/api/v2 and the State Hub /progress/) on loopback."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; others need --allow-remote)")
    parser.add_argument("--port", type=int, default=8080,
                        help="port to bind (default 8080; 0 picks a free one)")
    parser.add_argument("--db", metavar="PATH", default=None,
                        help="SQLite file to keep data in (default: in memory)")
    parser.add_argument("--seed", metavar="FILE", default=None,
                        help="seed YAML replacing fixtures/seed/ops-hub.yaml")
    parser.add_argument("--fault", metavar="NAME", action="append", default=[],
                        help="enable a fault switch (repeatable; mutation testing only)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the hub is a test double)")
    parser.add_argument("--quiet", action="store_true",
                        help="no request log (the log shows method, path, status only)")
    add_assumptions(parser)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(args: argparse.Namespace) -> int:
    faults = check_faults(args.fault)
    if not _is_loopback(args.host) and not args.allow_remote:
        raise ConformanceError(f"--host {args.host} is not loopback; add --allow-remote to bind it")
    if not 0 <= args.port <= 65535:
        raise ConformanceError(f"--port {args.port} is not a port number")
    load_seed(args.seed)  # a bad seed fails here, before anything binds
    register = load_assumptions("v1", args.assumptions)  # so is a bad override file
    generated = []
    key = os.environ.get(KEY_ENV) or None
    unbound_key = os.environ.get(UNBOUND_KEY_ENV) or None
    with running_reference_hub(
        key=key, unbound_key=unbound_key, seed=args.seed, db=args.db, faults=faults,
        host=args.host, port=args.port, access_log=None if args.quiet else sys.stderr,
        assumptions=register,
    ) as hub:
        # Only generated keys are shown, once; a key from the environment never is.
        if key is None:
            generated.append((KEY_ENV, "activity-core, manifest-bound", hub.key))
        if unbound_key is None:
            generated.append((UNBOUND_KEY_ENV, "ops-console, unbound", hub.unbound_key))
        print(f"reference Inter-Hub listening on {hub.base_url}", flush=True)
        if register.has_endpoint("openapi"):
            print(f"OpenAPI document: {hub.openapi_url}", flush=True)
        print(f"State Hub fallback: {hub.base_url}{register.get('state_hub.path')}",
              flush=True)
        if register.overridden_from:
            print(f"dialect: {register.overridden_from}", flush=True)
        for env, who, value in generated:
            print(f"generated {env} ({who}; shown once): {value}", flush=True)
        if faults:
            print(f"FAULTS ENABLED (not a conformant hub): {', '.join(sorted(faults))}",
                  flush=True)
        _wait_for_signal()
    print("reference Inter-Hub stopped", flush=True)
    return EXIT_OK


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""Which Inter-Hub a run talks to: the embedded reference hub, a live URL, or replay.

Credentials come from the environment only (`OPS_HUB_KEY`, or the variable a
user names); a command line never carries a key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from ihub_conformance.contract.assumptions import Assumptions
from ihub_conformance.errors import ConformanceError
from ihub_conformance.hub.client import redact_url

DEFAULT_KEY_ENV = "OPS_HUB_KEY"
REFERENCE = "reference"
REPLAY = "replay"


@dataclass(frozen=True)
class Target:
    """A resolved target. ``key`` is never printed: use ``display_url``."""

    mode: str  # "reference" | "live" | "replay"
    url: str | None
    key: str | None
    unbound_key: str | None = None  # a consumer not bound to a manifest, when known

    @property
    def display_url(self) -> str | None:
        return redact_url(self.url) if self.url else None


def http_url_problem(value: str) -> str | None:
    """Why ``value`` is not a usable http(s) URL (host, port 0-65535), or None if it is."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL with a host"
    if port == 0:
        return "port 0 is not a port to connect to"
    if parts.username or parts.password:
        return "credentials in the URL are refused; use the environment"
    return None


def check_url(value: str, option: str) -> str:
    """``value`` if it is a usable http(s) URL, else a one-line ConformanceError (exit 2)."""
    problem = http_url_problem(value)
    if problem is not None:
        # Shown without userinfo, query or fragment: they may hold credentials.
        shown = re.sub(r"//[^/?#]*@", "//", re.split(r"[?#]", value, maxsplit=1)[0])
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ConformanceError(f"{option}: {shown!r}: {problem}")
    return value


def parse_target_spec(spec: str) -> str:
    """Validate a --target value: ``reference``, ``replay`` or an http(s) URL."""
    if spec in (REFERENCE, REPLAY):
        return spec
    if http_url_problem(spec) == "not an http(s) URL with a host":
        raise ConformanceError(
            f"--target: {spec!r} is not 'reference', 'replay' or an http(s) URL"
        )
    return check_url(spec, "--target")


def key_from_env(key_env: str = DEFAULT_KEY_ENV, *, required: bool = True) -> str | None:
    value = os.environ.get(key_env) or None
    if required and value is None:
        raise ConformanceError(f"{key_env} is not set: a live target needs its key in the env")
    return value


@contextmanager
def open_target(
    spec: str = REFERENCE,
    *,
    key_env: str = DEFAULT_KEY_ENV,
    unbound_key_env: str = "IHUB_UNBOUND_KEY",
    faults: frozenset[str] = frozenset(),
    assumptions: Assumptions | None = None,
) -> Iterator[Target]:
    """Resolve a target; for ``reference`` start the embedded hub for the duration, in
    the dialect of ``assumptions`` (the register an override file made)."""
    spec = parse_target_spec(spec)
    if spec == REPLAY:
        yield Target(mode=REPLAY, url=None, key=None)
        return
    if spec == REFERENCE:
        from ihub_conformance.reference.server import running_reference_hub

        with running_reference_hub(
            key=os.environ.get(key_env) or None, faults=faults, assumptions=assumptions
        ) as hub:
            yield Target(mode=REFERENCE, url=hub.base_url, key=hub.key,
                         unbound_key=hub.unbound_key)
        return
    yield Target(
        mode="live",
        url=spec.rstrip("/"),
        key=key_from_env(key_env),
        unbound_key=os.environ.get(unbound_key_env) or None,
    )

"""Which Inter-Hub a run talks to: the embedded reference hub, a live URL, or replay.

Credentials come from the environment only (`OPS_HUB_KEY`, or the variable a
user names); a command line never carries a key.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def parse_target_spec(spec: str) -> str:
    """Validate a --target value: ``reference``, ``replay`` or an http(s) URL."""
    if spec in (REFERENCE, REPLAY):
        return spec
    parts = urlsplit(spec)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConformanceError(
            f"--target: {spec!r} is not 'reference', 'replay' or an http(s) URL"
        )
    if parts.username or parts.password:
        raise ConformanceError("--target: credentials in the URL are refused; use the environment")
    return spec


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
) -> Iterator[Target]:
    """Resolve a target; for ``reference`` start the embedded hub for the duration."""
    spec = parse_target_spec(spec)
    if spec == REPLAY:
        yield Target(mode=REPLAY, url=None, key=None)
        return
    if spec == REFERENCE:
        from ihub_conformance.reference.server import running_reference_hub

        with running_reference_hub(
            key=os.environ.get(key_env) or None, faults=faults
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

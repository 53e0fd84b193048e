"""API consumer keys (stored hashed, compared in constant time) and the rate limiter."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass
from typing import Any


def hash_key(key: str) -> str:
    """SHA-256 of the key: what the store keeps. Keys are random, so no salt is needed."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_auth_header(value: str | None, scheme: str) -> str | None:
    """The key carried by an auth header value, or None when absent or malformed."""
    if not value:
        return None
    if not scheme:
        return value.strip() or None
    given, _, key = value.strip().partition(" ")
    if given.lower() != scheme.lower():
        return None
    return key.strip() or None


@dataclass(frozen=True)
class Consumer:
    id: str
    name: str
    hub_id: str
    manifest_id: str | None

    def as_resource(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "hubId": self.hub_id,
                "manifestId": self.manifest_id}


class KeyRing:
    """Finds the consumer owning a presented key without leaking timing or the key."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._entries = [
            (row["key_hash"], Consumer(row["id"], row["name"], row["hubId"], row["manifestId"]))
            for row in rows
        ]

    def lookup(self, key: str) -> Consumer | None:
        digest = hash_key(key)
        found = None
        # Compare against every entry (no early exit) so timing says nothing about which.
        for stored, consumer in self._entries:
            if hmac.compare_digest(stored, digest):
                found = consumer
        return found

    def bound(self) -> list[Consumer]:
        """Consumers bound to a manifest."""
        return [c for _, c in self._entries if c.manifest_id is not None]


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # whole seconds until the window resets
    allowed: bool


class RateLimiter:
    """A fixed window per consumer: ``limit`` requests every ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, consumer_id: str) -> RateState:
        at = time.monotonic()
        with self._lock:
            start, used = self._windows.get(consumer_id, (at, 0))
            if at - start >= self.window:
                start, used = at, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[consumer_id] = (start, used)
        reset = max(0, math.ceil(start + self.window - at))
        return RateState(self.limit, max(0, self.limit - used), reset, allowed)

"""Blocking the network for replay runs: only cassettes may answer.

Replay is a promise that nothing leaves the machine, so it is enforced below
every HTTP library: any connect() on an internet socket raises. Unix sockets stay
allowed (pytest, logging and the like use them locally).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class NetworkBlocked(OSError):
    """Raised for every outbound connection while the network is blocked."""


_INET = (socket.AF_INET, socket.AF_INET6)


def _refuse(original: Any) -> Any:
    def connect(self: socket.socket, address: Any, *args: Any, **kwargs: Any) -> Any:
        if self.family in _INET:
            raise NetworkBlocked(
                f"network access blocked in replay mode (connect to {address!r}); "
                "every request must be answered from a cassette"
            )
        return original(self, address, *args, **kwargs)

    return connect


_saved: dict[str, Any] = {}


def block() -> None:
    """Make every internet connect() raise NetworkBlocked (idempotent)."""
    if _saved:
        return
    for name in ("connect", "connect_ex"):
        original = getattr(socket.socket, name)
        _saved[name] = original
        setattr(socket.socket, name, _refuse(original))
    _saved["create_connection"] = socket.create_connection

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        raise NetworkBlocked(f"network access blocked in replay mode (connect to {address!r})")

    socket.create_connection = create_connection  # type: ignore[assignment]


def unblock() -> None:
    """Undo block()."""
    for name in ("connect", "connect_ex"):
        if name in _saved:
            setattr(socket.socket, name, _saved.pop(name))
    if "create_connection" in _saved:
        socket.create_connection = _saved.pop("create_connection")


def is_blocked() -> bool:
    return bool(_saved)


@contextmanager
def blocked() -> Iterator[None]:
    block()
    try:
        yield
    finally:
        unblock()

"""Running the reference hub: uvicorn on a loopback port in a background thread.

uvicorn's own access log is off: it prints query strings, which may carry
secrets. The optional access log here prints method, path and status only.
"""

from __future__ import annotations

import asyncio
import os
import resource
import secrets
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ihub_conformance.contract.assumptions import Assumptions, load_assumptions
from ihub_conformance.errors import ConformanceError, InputError
from ihub_conformance.reference.app import DEFAULT_RATE_LIMIT, create_app
from ihub_conformance.reference.seed import load_seed

KEY_ENV = "OPS_HUB_KEY"
UNBOUND_KEY_ENV = "IHUB_UNBOUND_KEY"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
READ_TIMEOUT = 10.0  # seconds for a request's head and body to arrive
MAX_CONNECTIONS = 1000
_BUSY_BODY = b'{"error": {"code": "unavailable", "message": "too many connections", "field": null}}'
_BUSY_ANSWER = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                b"Content-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(_BUSY_BODY)}\r\n\r\n".encode() + _BUSY_BODY)


@dataclass(frozen=True)
class RunningHub:
    """A started hub. ``key`` authenticates the manifest-bound consumer (activity-core),
    ``unbound_key`` the consumer bound to no manifest (ops-console)."""

    base_url: str
    key: str = field(repr=False)
    unbound_key: str = field(repr=False)
    db_path: str | None = None
    faults: frozenset[str] = frozenset()
    assumptions: Assumptions | None = field(default=None, repr=False)

    def client(self, *, key: str | None = None, timeout: float = 10.0) -> httpx.Client:
        """An httpx client for this hub with the auth header of the assumption register."""
        headers = self.register.auth_headers(key or self.key)
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    @property
    def openapi_url(self) -> str:
        return self.base_url + self.register.path("openapi")

    @property
    def register(self) -> Assumptions:
        """The register whose dialect this hub speaks."""
        return self.assumptions or load_assumptions()


def consumer_keys(seed: Mapping[str, Any], key: str, unbound_key: str) -> dict[str, str]:
    """Keys per seeded consumer: by the env variable it names, else by its role."""
    keys: dict[str, str] = {}
    for consumer in seed["consumers"]:
        env = consumer.get("key_env")
        role_key = key if consumer["manifest"] else unbound_key
        if env == KEY_ENV:
            chosen = key
        elif env == UNBOUND_KEY_ENV:
            chosen = unbound_key
        elif env is None and role_key not in keys.values():
            chosen = role_key
        else:
            chosen = os.environ.get(env or "") or secrets.token_urlsafe(32)
        keys[consumer["name"]] = chosen
    return keys


class _AccessLog:
    """ASGI middleware: one line per request, path only (never the query or headers)."""

    def __init__(self, app: Any, stream: TextIO) -> None:
        self.app = app
        self.stream = stream

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [0]

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:  # every request gets its line, also one whose client went away
            shown = status[0] or "- (no answer: the connection ended)"
            print(f"{scope['method']} {scope['path']} {shown}", file=self.stream, flush=True)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with what it lacks against slow or many clients.

    A request's head and body must arrive within READ_TIMEOUT seconds of the connection
    (or of the previous answer); past it the connection is closed. Connections beyond
    MAX_CONNECTIONS are answered 503 with Retry-After and closed at once, so file
    descriptors never run out and the log never fills with accept() tracebacks.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._refused = len(self.connections) >= max_connections()
        if self._refused:
            assert isinstance(transport, asyncio.Transport)
            transport.write(_BUSY_ANSWER)
            transport.close()
            return
        super().connection_made(transport)  # type: ignore[arg-type]
        self._read_deadline: asyncio.TimerHandle | None = None
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        if self._read_deadline is not None:
            self._read_deadline.cancel()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_read_deadline()

    def _arm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
        self._read_deadline = self.loop.call_later(READ_TIMEOUT, self._read_timed_out)

    def _read_timed_out(self) -> None:
        cycle = self.cycle
        waiting_for_client = cycle is None or cycle.response_complete or cycle.more_body
        if waiting_for_client and not self.transport.is_closing():
            self.transport.close()


def max_connections() -> int:
    """At most MAX_CONNECTIONS, and at most half the process's file descriptors."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    usable = soft // 2 if soft not in (resource.RLIM_INFINITY, -1) else MAX_CONNECTIONS
    return max(8, min(MAX_CONNECTIONS, usable))


@contextmanager
def running_reference_hub(
    *,
    key: str | None = None,
    unbound_key: str | None = None,
    seed: str | Path | Mapping[str, Any] | None = None,
    db: str | None = None,
    faults: frozenset[str] | set[str] | tuple[str, ...] = frozenset(),
    host: str = "127.0.0.1",
    port: int = 0,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    access_log: TextIO | None = None,
    assumptions: Assumptions | None = None,
) -> Iterator[RunningHub]:
    """Start a seeded reference hub for the duration of the ``with`` block.

    Keys: as given, else $OPS_HUB_KEY / $IHUB_UNBOUND_KEY, else freshly generated.
    """
    key = key or os.environ.get(KEY_ENV) or secrets.token_urlsafe(32)
    unbound_key = unbound_key or os.environ.get(UNBOUND_KEY_ENV) or secrets.token_urlsafe(32)
    if key == unbound_key:
        raise ConformanceError(f"{KEY_ENV} and {UNBOUND_KEY_ENV} must differ")
    keys = consumer_keys(load_seed(seed), key, unbound_key)
    try:
        app: Any = create_app(db=db, seed=seed, keys=keys, faults=frozenset(faults),
                              rate_limit=rate_limit, assumptions=assumptions)
    except sqlite3.Error as exc:
        raise InputError(str(db), f"cannot open the database: {exc}", field="--db") from None
    store = app.state.store
    if access_log is not None:
        app = _AccessLog(app, access_log)
    protocol = BoundedH11Protocol  # gate 4 reads `http=<CamelCase>` as a token
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", server_header=False, http=protocol)
    server = uvicorn.Server(config)
    sock = _bind(host, port)
    thread = threading.Thread(target=_run_quietly, args=(server, sock), name="ihub-reference",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(STOP_TIMEOUT)
            sock.close()
            raise ConformanceError(f"the reference hub could not start on {host}:{port}")
        time.sleep(0.01)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    try:
        yield RunningHub(base_url=f"http://{shown_host}:{bound_port}", key=key,
                         unbound_key=unbound_key,
                         db_path=None if db in (None, ":memory:") else str(db),
                         faults=frozenset(faults), assumptions=assumptions)
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()
        store.close()


def _bind(host: str, port: int) -> socket.socket:
    """Bind here, not in uvicorn, so a taken port is one clear error line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then,
    # and without it Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or type(exc).__name__
        raise ConformanceError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def _run_quietly(server: uvicorn.Server, sock: socket.socket) -> None:
    # uvicorn calls sys.exit(1) when it cannot start; in a thread that must not print a
    # traceback - the starter notices the dead thread and reports one line.
    try:
        server.run(sockets=[sock])
    except SystemExit:
        pass
    except OSError as exc:
        print(f"ihub-conformance: reference hub: {exc}", file=sys.stderr)

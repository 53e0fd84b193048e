"""Reference hub under hostile clients (issue 16 items 7-9): a client that disconnects
mid-body, slow clients, too many connections, a database locked by another process. None
gives a 5xx other than 503 + Retry-After, a traceback in the log, or a stalled loop."""

from __future__ import annotations

import io
import socket
import sqlite3
import threading
import time

import httpx

from ihub_conformance.reference import server
from ihub_conformance.reference.server import running_reference_hub

EVENTS = "/api/v2/interaction-events"
WIDGET = "00000000-0000-4000-8000-000000000105"
EVENT = {"widgetId": WIDGET, "eventType": "ops-endpoint-verified"}


def _address(base_url: str) -> tuple[str, int]:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _clean_log(log: io.StringIO, capfd, caplog) -> str:
    text = log.getvalue() + capfd.readouterr().err + caplog.text
    assert "Traceback" not in text and "Exception in ASGI" not in text, text[-2000:]
    return text


def _read_to_close(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the hub sends until it closes the connection (fails on a hang)."""
    sock.settimeout(timeout)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _auth(hub) -> str:
    return "\r\n".join(f"{k}: {v}" for k, v in hub.client().headers.items()
                       if k.lower() == "authorization")


def test_a_client_gone_mid_body_is_logged_without_a_traceback(capfd, caplog):
    log = io.StringIO()
    with running_reference_hub(access_log=log) as hub:
        for sent in (0, 10, 99):
            with socket.create_connection(_address(hub.base_url)) as sock:
                sock.sendall((f"POST {EVENTS} HTTP/1.1\r\nHost: x\r\n{_auth(hub)}\r\n"
                              "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                              ).encode() + b"{" * sent)
            time.sleep(0.3)
        with hub.client() as http:  # still serving
            assert http.post(EVENTS, json=EVENT).status_code == 201
    text = _clean_log(log, capfd, caplog)
    assert text.count(f"POST {EVENTS}") == 4  # every request has its access-log line


def test_slow_clients_are_cut_off_and_connections_are_capped(monkeypatch, capfd, caplog):
    monkeypatch.setattr(server, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 40)
    log = io.StringIO()
    with running_reference_hub(access_log=log) as hub:
        address = _address(hub.base_url)
        slow = []
        for i in range(60):  # half-sent heads and bodies, far more than the cap
            sock = socket.create_connection(address)
            head = f"POST {EVENTS} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
            sock.sendall((head + "\r\n{" if i % 2 else head).encode())
            slow.append(sock)
        answers = []
        for sock in slow[45:]:  # beyond the cap: a 503 with Retry-After at once
            sock.settimeout(5)
            answers.append(sock.recv(4096))
        assert all(a.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in a for a in answers)
        time.sleep(1.8)  # past the read deadline: every slow connection is closed
        for sock in slow[:40]:
            answer = _read_to_close(sock)
            assert not answer.startswith(b"HTTP/1.1 5"), answer[:200]
        for sock in slow:
            sock.close()
        with hub.client() as http:  # the hub serves normal clients again
            assert http.get(EVENTS).status_code == 200
    _clean_log(log, capfd, caplog)


def test_a_database_locked_by_another_process_answers_503_and_never_stalls_reads(tmp_path):
    db = tmp_path / "hub.sqlite"
    with running_reference_hub(db=str(db)) as hub, hub.client(timeout=15) as http:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
        try:
            answers: dict[str, object] = {}

            def post() -> None:
                started = time.monotonic()
                answers["post"] = http.post(EVENTS, json=EVENT)
                answers["post_seconds"] = time.monotonic() - started

            writer = threading.Thread(target=post)
            writer.start()
            time.sleep(0.2)
            started = time.monotonic()
            assert httpx.get(hub.base_url + "/progress/", timeout=5).status_code == 200
            assert time.monotonic() - started < 1.0  # the loop is not blocked by the write
            writer.join(15)
            refused = answers["post"]
            assert isinstance(refused, httpx.Response)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
            assert refused.json()["error"]["code"] == "unavailable"
            assert answers["post_seconds"] < server.STOP_TIMEOUT
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert http.post(EVENTS, json=EVENT).status_code == 201  # lock gone: written

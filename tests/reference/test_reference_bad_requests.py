"""Generated hostile HTTP for the reference hub, on the in-memory and the file database
(issue 16, "beyond these thirteen"): malformed, slow, huge, disconnected and concurrent
requests never get a 5xx, never put a traceback in the log, never hang past the read
deadline; every 2xx write is readable afterwards."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ihub_conformance.reference import server
from ihub_conformance.reference.server import RunningHub, running_reference_hub

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
READ_TIMEOUT = 0.5
WIDGET = "00000000-0000-4000-8000-000000000105"
HUB_ID = "00000000-0000-4000-8000-000000000001"
EVENTS = "/api/v2/interaction-events"
WIDGETS = "/api/v2/widgets"


@dataclass
class Hostile:
    hub: RunningHub
    log: io.StringIO
    written: list[tuple[str, str]] = field(default_factory=list)  # (path, id) of 2xx writes


@pytest.fixture(scope="module", params=["memory", "file"])
def hostile(request, tmp_path_factory) -> Iterator[Hostile]:
    db = None if request.param == "memory" else str(tmp_path_factory.mktemp("db") / "h.db")
    log = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server, "READ_TIMEOUT", READ_TIMEOUT)
        with running_reference_hub(db=db, access_log=log) as hub:
            yield Hostile(hub, log)


def _exchange(hub: RunningHub, raw: bytes, *, close_after: int | None = None) -> bytes:
    """Send raw bytes (or only the first ``close_after``) and read until the hub closes."""
    host, port = hub.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        try:
            sock.sendall(raw if close_after is None else raw[:close_after])
            if close_after is not None:
                return b""
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):  # socket timeout: a hang fails the test
                received += chunk
            return received
        except (BrokenPipeError, ConnectionResetError):  # the hub refused early: fine
            return b""


def _auth(hub: RunningHub, which: str) -> str:
    key = {"good": hub.key, "other": hub.unbound_key, "bad": "x" * 40, "huge": "k" * 20000,
           "none": ""}[which]
    return f"Authorization: Bearer {key}\r\n" if which != "none" else ""


event_bodies = st.fixed_dictionaries(
    {"widgetId": st.sampled_from([WIDGET, WIDGET.upper(), "nope"]),
     "eventType": st.sampled_from(["ops-endpoint-verified", "widget-viewed", ""])},
    optional={"metadata": st.dictionaries(st.text(max_size=4), st.integers(-2**70, 2**70)
                                          | st.text(max_size=5), max_size=3),
              "viewContextRef": st.text(max_size=10)},
).map(lambda d: json.dumps(d).encode())
widget_bodies = st.fixed_dictionaries(
    {"hubId": st.just(HUB_ID), "name": st.text(max_size=10),
     "widgetType": st.sampled_from(["ops-endpoint", "nope"])}).map(
    lambda d: json.dumps(d).encode())
bodies = event_bodies | widget_bodies | st.binary(max_size=200) | st.sampled_from([
    b'{"a": 1, "a": 2}', b"{" * 5000, b'{"metadata": {"n": 1' + b"0" * 5000 + b"}}",
    b"\xff\xfe", b"[]" * 1000, b'{"widgetId": "' + b"w" * 70000 + b'"}'])
def _mostly(good: object, *bad: object) -> st.SearchStrategy:
    """The proper value half of the time, else one of the bad ones: a request gets only a
    few things wrong at once, so each defect reaches the code behind the others."""
    return st.one_of(st.just(good), st.sampled_from(bad))


requests = st.fixed_dictionaries({
    "method": _mostly("POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS", "BREW", "G\x00T",
                      "POST " * 3),
    "path": st.one_of(st.sampled_from([EVENTS, WIDGETS]), st.sampled_from([
        f"{WIDGETS}/{WIDGET}", f"{WIDGETS}/%00/versions", "/api/v2/openapi.yaml",
        "/progress/?limit=99999999999999999999999", "/progress/?limit=-1",
        f"{EVENTS}?widgetId=%ZZ&page=0&pageSize=1e3", "/" + "a" * 9000, "*",
        "/api/v2/hubs/%2F../manifest", f"{EVENTS}?page=99999999999999999999999999"])),
    "auth": _mostly("good", "other", "bad", "huge", "none"),
    "content_type": _mostly("application/json", "application/json; charset=utf-8",
                            "text/plain", "multipart/form-data; boundary=x", "", "\x01"),
    "length": _mostly("exact", "none", "short", "long", "negative", "junk", "huge", "chunked"),
    "body": bodies,
    "cut": _mostly(None, 0, 10, 40, 120, 300),
})


def _raw(hub: RunningHub, r: dict) -> bytes:
    body: bytes = r["body"]
    lengths = {"exact": str(len(body)), "short": str(max(0, len(body) - 3)),
               "long": str(len(body) + 50), "negative": "-5", "junk": "12abc",
               "huge": "9" * 30}
    head = f"{r['method']} {r['path']} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n"
    head += _auth(hub, r["auth"])
    if r["content_type"]:
        head += f"Content-Type: {r['content_type']}\r\n"
    if r["length"] == "chunked":
        head += "Transfer-Encoding: chunked\r\n"
        body = f"{len(body):x}\r\n".encode() + body + b"\r\nzz\r\n"
    elif r["length"] in lengths:
        head += f"Content-Length: {lengths[r['length']]}\r\n"
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


@SETTINGS
@given(r=requests)
def test_hostile_requests_never_get_a_5xx_or_a_traceback(hostile, r):
    answer = _exchange(hostile.hub, _raw(hostile.hub, r), close_after=r["cut"])
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1 ") else b""
    assert not status.startswith(b"5"), answer[:300]
    if status in (b"200", b"201") and r["method"] == "POST":
        created = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        hostile.written.append((WIDGETS if "hubId" in created else EVENTS, created["id"]))


def test_concurrent_writers_and_disconnecting_clients_lose_nothing(hostile):
    def writer(n: int) -> None:
        with hostile.hub.client() as http:
            for i in range(15):
                answer = http.post(EVENTS, json={"widgetId": WIDGET,
                                                 "eventType": "ops-endpoint-verified",
                                                 "metadata": {"writer": n, "i": i}})
                assert answer.status_code == 201, answer.text
                hostile.written.append((EVENTS, answer.json()["id"]))

    def quitter() -> None:
        raw = _raw(hostile.hub, {"method": "POST", "path": EVENTS, "auth": "good",
                                 "content_type": "application/json", "length": "exact",
                                 "body": b'{"widgetId": "' + WIDGET.encode() + b'"}' * 3,
                                 "cut": None})
        for cut in range(20, 200, 20):
            _exchange(hostile.hub, raw, close_after=cut)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=quitter) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)


def test_every_2xx_write_is_readable_and_the_log_is_clean(hostile, capfd, caplog):
    assert hostile.written, "no write succeeded: the checks above examined nothing"
    with hostile.hub.client() as http:
        for path, ident in hostile.written:
            if path == WIDGETS:
                assert http.get(f"{WIDGETS}/{ident}").status_code == 200
        stored = set()
        page = 1
        while True:
            rows = http.get(EVENTS, params={"page": page, "pageSize": 200}).json()["data"]
            stored.update(row["id"] for row in rows)
            if len(rows) < 200:
                break
            page += 1
    missing = [ident for path, ident in hostile.written if path == EVENTS and ident not in stored]
    assert missing == []
    text = hostile.log.getvalue() + capfd.readouterr().err + caplog.text
    assert "Traceback" not in text and "Exception in ASGI" not in text, text[-3000:]
    statuses = [line.rsplit(" ", 1)[-1] for line in hostile.log.getvalue().splitlines()]
    assert statuses and not [s for s in statuses if s.startswith("5")]


def test_a_slow_client_is_cut_off_at_the_read_deadline(hostile):
    host, port = hostile.hub.base_url.removeprefix("http://").rsplit(":", 1)
    for partial in (b"POST /api/v2/interaction-events HTTP/1.1\r\nHost: x\r\n",
                    b"POST /api/v2/interaction-events HTTP/1.1\r\nContent-Length: 9\r\n"
                    b"Content-Type: application/json\r\n\r\n{"):
        with socket.create_connection((host, int(port)), timeout=READ_TIMEOUT + 5) as sock:
            sock.sendall(partial)
            received = b""
            while chunk := sock.recv(65536):  # the hub closes: no hang, never a 5xx
                received += chunk
            assert not received.startswith(b"HTTP/1.1 5")

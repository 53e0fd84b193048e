"""Preflight: run and gate refuse targets that are not an Inter-Hub before any test.

Each kind of wrong target is a small loopback server: one that accepts TCP and
never answers (issue 16 item 10: exit 3 within seconds), one answering 404
everywhere (a proxy, a wrong base path), one answering an HTML page. A refused
key, a missing key and a missing route are told apart.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ihub_conformance.cli import main
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.errors import TargetUnreachable
from ihub_conformance.hub.preflight import KeyRefused, WrongTarget, preflight

SECONDS = 15  # "within seconds": the deadline is 8 s, plus a process's start


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def _handler(status: int, content_type: str, body: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    return Handler


@contextmanager
def answering(status: int, content_type: str, body: bytes) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(status, content_type, body))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


NOT_FOUND = (404, "text/html", b"<html><body>404 Not Found</body></html>")
HTML_PAGE = (200, "text/html", b"<!doctype html><title>Welcome to nginx</title>")
JSON_NOT_A_HUB = (200, "text/plain", b"hello")


def test_a_server_that_never_answers_is_unreachable_within_the_deadline():
    with silent_server() as url:
        started = time.monotonic()
        with pytest.raises(TargetUnreachable, match="no answer came within 2s"):
            preflight(url, "k" * 20, load_assumptions(), deadline=2.0)
        assert time.monotonic() - started < 4


@pytest.mark.parametrize("command", ["run", "gate"])
def test_run_and_gate_exit_3_on_a_silent_server(command, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OPS_HUB_KEY", "preflight-canary-key-0123456789")
    with silent_server() as url:
        started = time.monotonic()
        code = main([command, "--target", url, "--report-dir", str(tmp_path)])
    assert code == 3
    assert time.monotonic() - started < SECONDS
    assert "no answer came within" in capsys.readouterr().err + _gate_text(tmp_path)


def _gate_text(report_dir) -> str:
    path = report_dir / "gate.json"
    return path.read_text() if path.is_file() else ""


@pytest.mark.parametrize(("answer", "said"), [
    (NOT_FOUND, "no Inter-Hub /api/v2 route"),
    (HTML_PAGE, "not JSON, so not an Inter-Hub"),
    (JSON_NOT_A_HUB, "not JSON, so not an Inter-Hub"),
])
@pytest.mark.parametrize("command", ["run", "gate"])
def test_a_host_that_is_not_an_inter_hub_is_a_usage_error(
        command, answer, said, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OPS_HUB_KEY", "preflight-canary-key-0123456789")
    with answering(*answer) as url:
        code = main([command, "--target", url, "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert said in err and f"GET {url}/api/v2/widgets answered {answer[0]}" in err
    assert "does not authenticate" not in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_refused_key_is_told_apart_from_a_missing_route(hub, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OPS_HUB_KEY", "preflight-wrong-key-0123456789")
    code = main(["run", "--target", hub.base_url, "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "answered 401" in err and "$OPS_HUB_KEY is refused" in err
    with pytest.raises(KeyRefused):
        preflight(hub.base_url, "preflight-wrong-key-0123456789", load_assumptions())


def test_a_missing_key_is_told_apart(hub, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("OPS_HUB_KEY", raising=False)
    code = main(["run", "--target", hub.base_url, "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "OPS_HUB_KEY is not set" in err


def test_the_reference_hub_passes_the_preflight(hub):
    answer = preflight(hub.base_url, hub.key, load_assumptions())
    assert answer.status == 200


def test_a_wrong_base_path_on_a_real_hub_is_a_missing_route(hub):
    with pytest.raises(WrongTarget, match="answered 404"):
        preflight(hub.base_url + "/api/v2", hub.key, load_assumptions())

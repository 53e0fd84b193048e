"""The gate's requests go through the run's request policy (hub/policy.py), like the suite's.

A small loopback proxy stands in front of a reference hub: it counts every request
the gate sends (the register check, the preflight, the checks, the smoke's writes,
the State Hub read) and answers chosen ones 429 with ``Retry-After``, as a hub under
load does. The policy's own rules are unit-tested in tests/hub/test_policy.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jsonschema
import pytest

from gate_helpers import GATE_SCHEMA, live_args, run_gate_cli

RETRY_AFTER = 1  # seconds; the gate must wait at least this long before it asks again
_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding",
                "content-encoding", "keep-alive"}


@dataclass
class Proxy:
    """What reached the proxy, and which requests it answered 429 itself."""

    url: str
    seen: list[tuple[float, str, str]] = field(default_factory=list)  # (time, method, path)
    throttled: list[int] = field(default_factory=list)  # indexes into seen
    throttle_at: set[int] = field(default_factory=set)  # request ordinals (1-based) to refuse
    throttle_first_post: bool = False

    def reset(self, *, at: set[int] = frozenset(), first_post: bool = False) -> None:
        self.seen.clear()
        self.throttled.clear()
        self.throttle_at, self.throttle_first_post = set(at), first_post

    def refuses(self, method: str) -> bool:
        """Whether the request just seen gets a 429 (called under the lock)."""
        if len(self.seen) in self.throttle_at:
            return True
        if self.throttle_first_post and method == "POST":
            self.throttle_first_post = False
            return True
        return False

    @property
    def writes(self) -> list[str]:
        return [f"{m} {p}" for _, m, p in self.seen if m != "GET"]


@contextmanager
def proxy_to(upstream: str) -> Iterator[Proxy]:
    lock = threading.Lock()
    upstream_http = httpx.Client(base_url=upstream, timeout=10)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                state.seen.append((time.monotonic(), self.command, self.path.split("?")[0]))
                refused = state.refuses(self.command)
                if refused:
                    state.throttled.append(len(state.seen) - 1)
            if refused:
                self._answer(429, {"Retry-After": str(RETRY_AFTER),
                                   "Content-Type": "application/json"},
                             b'{"error": {"code": "rate_limited", "message": "slow down"}}')
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            answer = upstream_http.request(self.command, self.path, headers=headers,
                                           content=body)
            self._answer(answer.status_code,
                         {k: v for k, v in answer.headers.items()
                          if k.lower() not in _HOP_HEADERS}, answer.content)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Proxy(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        upstream_http.close()


@pytest.fixture(scope="module")
def proxy(gate_hub) -> Iterator[Proxy]:
    with proxy_to(gate_hub.base_url) as running:
        yield running


@dataclass
class _Target:
    base_url: str


def _gate(capsys, tmp_path, proxy: Proxy, *extra: str, writes: bool = True):
    return run_gate_cli(capsys, tmp_path / "r", *live_args(_Target(proxy.url), *extra,
                                                           writes=writes))


def test_a_429_with_retry_after_is_waited_out_retried_and_counted(keyed, proxy, tmp_path,
                                                                  capsys):
    proxy.reset(at={5}, first_post=True)
    run = _gate(capsys, tmp_path, proxy)
    assert run.code == 0, run.out  # the gate retried and passed
    assert len(proxy.throttled) == 2
    for index in proxy.throttled:  # the same request again, after Retry-After
        at, method, path = proxy.seen[index]
        again = proxy.seen[index + 1]
        assert again[1:] == (method, path) and again[0] - at >= RETRY_AFTER - 0.05
    counted = run.report["requests"]
    assert counted["retries"] == 2
    assert counted["total"] == len(proxy.seen)  # every request, the 429s and preflight too
    assert counted["writes"] == len(proxy.writes)
    assert f"{len(proxy.seen)} sent (2 retries after 429/503)" in run.out


def test_the_report_counts_every_request_the_hub_received(keyed, proxy, tmp_path, capsys):
    proxy.reset()
    run = _gate(capsys, tmp_path, proxy)
    assert run.code == 0, run.out
    assert run.report["requests"]["total"] == len(proxy.seen) > 20
    assert run.report["requests"]["retries"] == 0
    # every write listed with the run id: the widgets by id, the events by id
    writes = run.report["writes"]
    posted = len(proxy.writes)
    assert writes["runId"] == run.report["runId"]
    assert posted == writes["widgetsCreated"] + writes["eventsCreated"] + \
        writes["rejectedAttempts"] == run.report["requests"]["writes"]
    assert f"requests: {len(proxy.seen)} sent" in run.files["gate.md"]


def test_a_request_budget_stops_the_gate_with_one_line_and_exit_2(keyed, proxy, tmp_path,
                                                                 capsys):
    proxy.reset()
    run = _gate(capsys, tmp_path, proxy, "--max-requests", "6")
    assert run.code == 2
    assert len(proxy.seen) == 6  # not one request past the budget
    assert run.err.strip() == run.err.strip().splitlines()[0]  # one line, no traceback
    assert "stopped: request budget exhausted: --max-requests 6" in run.err
    assert run.report["exitCode"] == 2 and run.report["verdict"] == "no-go"
    assert run.report["stopped"].startswith("request budget exhausted")
    assert run.report["requests"]["total"] == 6
    blocked = [c for c in run.report["checks"] if c["summary"].startswith("stopped: ")]
    assert blocked and all(c["status"] == "blocked" for c in blocked)
    validator = jsonschema.Draft202012Validator(json.loads(GATE_SCHEMA.read_text()))
    assert list(validator.iter_errors(run.report)) == []


def test_a_write_budget_stops_before_the_next_write_and_lists_the_ones_made(
        keyed, proxy, tmp_path, capsys):
    proxy.reset()
    run = _gate(capsys, tmp_path, proxy, "--max-writes", "1")
    assert run.code == 2
    assert len(proxy.writes) == 1 and "--max-writes 1" in run.err
    assert run.report["writes"]["widgetsCreated"] == 1  # the one write, listed with its id
    assert len(run.report["writes"]["widgetIds"]) == 1


def test_a_dry_run_sends_no_write_and_lists_what_it_would_send(keyed, proxy, tmp_path,
                                                               capsys):
    proxy.reset()
    run = _gate(capsys, tmp_path, proxy, "--dry-run")
    assert proxy.writes == []  # nothing written to the hub
    assert proxy.seen  # the reads went out
    planned = run.report["requests"]["plannedWrites"]
    assert planned and all(p.startswith("POST /api/v2/") for p in planned)
    assert run.status("6") == "blocked" and run.check("6")["summary"].startswith("dry run: ")
    assert any(n.startswith("dry run: POST") for n in run.check("1")["notes"])
    assert run.status("1") == "pass"  # its reads still ran
    assert run.code == 1  # gate 6 is required and did not run
    assert "dry run, not sent: POST /api/v2/widgets" in run.out


def test_a_hub_contradicting_the_register_is_named_on_one_line_and_its_probes_counted(
        keyed, proxy, tmp_path, capsys):
    proxy.reset()
    dialect = GATE_SCHEMA.parents[2] / "contracts" / "v1" / "dialects" / "token-results.yaml"
    run = _gate(capsys, tmp_path, proxy, "--assumptions", str(dialect))
    lines = [line for line in run.err.splitlines() if "contradicts the assumption register" in line]
    assert len(lines) == 1 and "ihub-conformance calibrate --target" in lines[0]
    assert keyed.key not in run.err
    assert run.report["requests"]["total"] == len(proxy.seen)  # the register probes too

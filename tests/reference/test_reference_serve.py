"""`ihub-conformance serve` as a real process, and seed-file checking."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ihub_conformance.errors import InputError
from ihub_conformance.reference.seed import load_seed

START_TIMEOUT = 20.0


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("OPS_HUB_KEY", "IHUB_UNBOUND_KEY")}
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "ihub_conformance.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def _lines(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until(lines: queue.Queue[str], pattern: str) -> tuple[re.Match[str], list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match, seen
    raise AssertionError(f"no line matching {pattern!r} within {START_TIMEOUT}s: {seen}")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    return process.returncode, process.stderr.read() if process.stderr else ""


def test_serve_starts_answers_and_stops_on_sigterm() -> None:
    process = _serve("--fault", "actor_type_user")
    try:
        lines = _lines(process.stdout)
        url = _until(lines, r"listening on (http://127\.0\.0\.1:\d+)")[0].group(1)
        _, seen = _until(lines, r"generated IHUB_UNBOUND_KEY \(ops-console, unbound; shown once\)")
        key = next(re.search(r"generated OPS_HUB_KEY .*: (\S+)$", s) for s in seen
                   if "generated OPS_HUB_KEY" in s).group(1)  # type: ignore[union-attr]
        assert any(f"OpenAPI document: {url}/api/v2/openapi.yaml" in s for s in seen)
        _until(lines, r"FAULTS ENABLED .*actor_type_user")
        response = httpx.get(f"{url}/api/v2/consumer", headers={"Authorization": f"Bearer {key}"})
        assert response.json()["name"] == "activity-core"
        assert httpx.get(f"{url}/api/v2/widgets?secret=hidden-value").status_code == 401
    finally:
        code, stderr = _stop(process)
    assert code == 0
    assert "GET /api/v2/widgets 401" in stderr and "hidden-value" not in stderr
    assert key not in stderr and "Traceback" not in stderr
    _until(lines, r"^reference Inter-Hub stopped$")


def test_serve_never_prints_a_key_from_the_environment() -> None:
    env = {"OPS_HUB_KEY": "env-key-not-to-be-printed", "IHUB_UNBOUND_KEY": "env-unbound-key-x"}
    process = _serve("--quiet", env=env)
    try:
        lines = _lines(process.stdout)
        url = _until(lines, r"listening on (http://\S+)")[0].group(1)
        response = httpx.get(f"{url}/api/v2/consumer",
                             headers={"Authorization": "Bearer env-key-not-to-be-printed"})
        assert response.status_code == 200
    finally:
        code, stderr = _stop(process)
    _, seen = _until(lines, r"^reference Inter-Hub stopped$")
    output = "".join(seen) + stderr
    assert code == 0
    assert "env-key-not-to-be-printed" not in output and "env-unbound-key-x" not in output
    assert "generated" not in output


@pytest.mark.parametrize(("args", "message"), [
    (["--seed", "/no/such/seed.yaml"], "/no/such/seed.yaml: cannot read seed"),
    (["--host", "0.0.0.0"], "not loopback"),  # noqa: S104 - the refusal is the point
    (["--fault", "no_such_fault"], "unknown fault no_such_fault"),
    (["--port", "70000"], "not a port number"),
])
def test_serve_refuses_bad_arguments_with_one_line_and_exit_2(args: list[str],
                                                             message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", "serve", *args],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.stdout == ""


def test_serve_reports_a_bad_seed_field(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("hubs:\n  - {id: 00000000-0000-4000-8000-000000000001, slug: h, name: H}\n"
                    "widget_types: [{name: t}]\n"
                    "widgets:\n  - {id: 00000000-0000-4000-8000-000000000101, hub: h,"
                    " name: W, widgetType: nope}\n")
    result = subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", "serve", "--seed", str(seed)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"ihub-conformance: error: {seed}: widgets[0].widgetType: 'nope' is not in the registry")


@pytest.mark.parametrize(("text", "field"), [
    ("[1, 2]", None),
    ("hubs: {a: 1}", "hubs"),
    ("bogus: []", "bogus"),
    ("hubs:\n  - {id: nope, slug: h, name: H}", "hubs[0].id"),
    ("manifests:\n  - {id: 00000000-0000-4000-8000-000000000011, hub: x}", "manifests[0].hub"),
    ("progress:\n  - {id: abc, event_type: p}", "progress[0].id"),
    ("progress:\n  - {id: 1, event_type: p, created_at: yesterday}", "progress[0].created_at"),
    ("hubs: [{id: 00000000-0000-4000-8000-000000000001, slug: h, name: H}]\n"
     "consumers: [{id: 00000000-0000-4000-8000-000000000021, name: c, hub: h,"
     " manifest: 00000000-0000-4000-8000-000000000099}]", "consumers[0].manifest"),
    ("a: [unclosed", None),
])
def test_bad_seeds_name_the_field(tmp_path: Path, text: str, field: str | None) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(text)
    with pytest.raises(InputError) as caught:
        load_seed(seed)
    assert caught.value.source == str(seed) and caught.value.field == field


def test_the_default_seed_holds_the_facts_others_rely_on() -> None:
    seed = load_seed()
    assert [h["slug"] for h in seed["hubs"]] == ["ops-hub"]
    assert "ops-evidence" not in {s["name"] for s in seed["policy_scopes"]}
    [manifest] = seed["manifests"]
    assert manifest["annotationCategories"] == ["activity-core-evidence"]
    assert len(manifest["policyScopes"]) == 7 and len(manifest["widgetTypes"]) == 6
    assert {c["name"]: c["manifest"] for c in seed["consumers"]} == {
        "activity-core": manifest["id"], "ops-console": None}
    probes = [p for p in seed["progress"] if p["event_type"] == "ops_inventory_probe"]
    assert [p["detail"]["activity_core_event_type"] for p in probes] == [
        "ops-endpoint-verified", "ops-access-path-checked"]
    # one newer event of another type, so an ignored event_type filter is observable
    [other] = [p for p in seed["progress"] if p["event_type"] != "ops_inventory_probe"]
    assert other["created_at"] > max(p["created_at"] for p in probes)


def test_serve_reports_a_taken_port_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ihub_conformance.cli", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"ihub-conformance: error: cannot listen on 127.0.0.1:{port}: Address already in use"]

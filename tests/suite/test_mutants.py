"""The suite can fail: every fault variant of the reference hub is killed on target.

The slow tests run the whole kill table (hand-written tests only, to keep the
repository's test run short; `nox -s mutants` adds the Schemathesis tests) and a
set of HTTP-level mutants beyond the fault switches, and assert every variant fails
a test verifying one of its own requirement ids while the faithful hub passes. The
other tests pin the mutants to the requirement catalog and check the
classification rules on fixed inputs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from ihub_conformance.cli import main as cli_main
from ihub_conformance.contract.catalog import load_catalog
from ihub_conformance.reference.faults import FAULTS
from ihub_conformance.suite import mutants


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("v1")


def _must_behaviour(catalog) -> set[str]:
    return {r.id for r in catalog if r.level == "MUST" and r.kind == "behaviour"}


def _targeted() -> set[str]:
    return {rid for fault in FAULTS.values() for rid in fault.requirement_ids}


def test_at_least_twenty_faults_each_naming_catalog_requirements(catalog) -> None:
    assert len(FAULTS) >= 20
    known = set(catalog.ids())
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert fault.description.strip(), name
        assert fault.requirement_ids, f"{name} names no requirement"
        unknown = set(fault.requirement_ids) - known
        assert not unknown, f"{name} names ids not in the catalog: {sorted(unknown)}"


def test_faults_cover_every_area_with_behaviour_musts(catalog) -> None:
    behaviour_areas = {r.area for r in catalog if r.level == "MUST" and r.kind == "behaviour"}
    assert behaviour_areas >= {"WID", "EVT"}
    fault_areas = {rid.split("-")[0] for rid in _targeted()}
    assert behaviour_areas <= fault_areas, sorted(behaviour_areas - fault_areas)
    # The families the issue names beyond the endpoints: sink, fallback, gates, keys.
    assert {"ACS", "FBK", "GATE", "SEC"} <= fault_areas


def test_every_must_behaviour_requirement_is_targeted_by_a_mutant(catalog) -> None:
    must = _must_behaviour(catalog)
    by_faults = must & _targeted()
    by_http = must & {rid for ids in HTTP_MUTANTS.values() for rid in ids}
    assert must <= by_faults | by_http, f"untargeted: {sorted(must - by_faults - by_http)}"
    # Every one is in the kill table, not only among the HTTP mutants below.
    assert must <= by_faults, f"no fault switch: {sorted(must - by_faults)}"


# -- classification on fixed inputs ---------------------------------------------------------


def _row(name: str = "echo_key") -> mutants.VariantResult:
    fault = FAULTS[name]
    return mutants.VariantResult(name=name, description=fault.description,
                                 expected=list(fault.requirement_ids))


def _results(*tests: tuple[str, str, list[str]]) -> dict:
    return {"contract": "v1", "mode": "reference", "tests": [
        {"nodeid": n, "outcome": o, "requirements": r, "message": "", "duration": 0.1}
        for n, o, r in tests]}


def test_failures_of_other_requirements_only_are_off_target(catalog) -> None:
    row = mutants.classify(_row(), _results(
        ("conformance/test_a.py::t1", "failed", ["WID-05"]),
        ("conformance/test_a.py::t2", "passed", ["SEC-01"]),
    ), catalog)
    assert row.result == mutants.OFF_TARGET
    assert row.observed == ["WID-05"] and row.killing_tests == []


def test_a_failure_verifying_an_expected_id_kills_and_says_by_what(catalog) -> None:
    row = mutants.classify(_row(), _results(
        ("conformance/test_a.py::t1", "error", ["SEC-01"]),
        ("conformance/test_schemathesis.py::test_operation_conforms[GET /x]", "failed",
         ["WID-01"]),
        ("conformance/test_a.py::t3", "failed", ["WID-05"]),
    ), catalog)
    assert row.result == mutants.KILLED
    assert row.killed_by_hand_written and row.killed_by_schemathesis
    assert "conformance/test_a.py::t3" not in row.killing_tests


def test_no_failure_is_a_survivor_and_fails_the_run(catalog) -> None:
    row = mutants.classify(_row(), _results(("conformance/test_a.py::t", "passed", ["SEC-01"])),
                           catalog)
    assert row.result == mutants.SURVIVED
    faithful = mutants.VariantResult(name=mutants.FAITHFUL, description="", expected=[],
                                     result=mutants.PASSED)
    ok, text = mutants.summary([faithful, row])
    assert not ok and "NOT KILLED: echo_key (survived)" in text


def test_faithful_hub_with_an_unproven_must_does_not_pass(catalog) -> None:
    faithful = mutants.VariantResult(name=mutants.FAITHFUL, description="", expected=[])
    row = mutants.classify(faithful, _results(("conformance/test_a.py::t", "passed", ["WID-01"])),
                           catalog)
    assert row.result == mutants.FAILED and "unproven MUSTs" in row.error
    ok, text = mutants.summary([row, mutants.classify(_row(), _results(
        ("conformance/test_a.py::t", "failed", ["SEC-01"])), catalog)])
    assert not ok and "FAITHFUL HUB DOES NOT PASS" in text


def test_a_hanging_variant_is_killed_at_its_time_bound() -> None:
    started = time.monotonic()
    code, _ = mutants._run_process([sys.executable, "-c", "import time; time.sleep(60)"], 1.0)
    assert code is None
    assert time.monotonic() - started < 10


def test_unknown_fault_is_a_one_line_usage_error(capsys) -> None:
    assert cli_main(["mutants", "--fault", "no_such_fault"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no_such_fault" in err


# -- the kill table itself ----------------------------------------------------------------


@pytest.mark.slow
def test_every_variant_is_killed_on_target_and_the_faithful_hub_passes(
        tmp_path: Path, capsys) -> None:
    report = tmp_path / "kill.json"
    # --targeted: each variant runs the tests that verify its own ids (the only ones that
    # can kill it on target); the faithful hub runs them all.
    code = cli_main(["mutants", "--hand-written-only", "--targeted", "--jobs", "2",
                     "--timeout", "180", "--report", str(report)])
    out = capsys.readouterr().out
    doc = json.loads(report.read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in doc["rows"]}
    assert rows[mutants.FAITHFUL]["result"] == mutants.PASSED, rows[mutants.FAITHFUL]["error"]
    assert set(rows) == {mutants.FAITHFUL, *FAULTS}
    not_killed = {name: (row["result"], row["observed"], row["error"])
                  for name, row in rows.items()
                  if name != mutants.FAITHFUL and row["result"] != mutants.KILLED}
    assert not not_killed, not_killed
    for name, fault in FAULTS.items():
        killers = rows[name]["killing_tests"]
        assert killers and rows[name]["killed_by_hand_written"], name
        assert set(rows[name]["observed"]) & set(fault.requirement_ids), name
    assert code == 0 and doc["ok"] and doc["survivors"] == []
    assert f"{len(FAULTS)}/{len(FAULTS)} variants killed on target" in out


# -- hubs outside the fault catalogue -------------------------------------------------------
#
# Mutation testing with hubs that FAULTS does not model found gaps in the suite, closed
# by the conformance tests each names (test_auth, test_key_echo, test_event_bodies,
# test_registered_names, test_widgets). Each mutant here is the reference hub behind
# a small ASGI rewrite, served on loopback; the hand-written suite runs against it as a
# live target and must fail a test of one of the mutant's requirement ids.

EVENTS_PATH = "/api/v2/interaction-events"
WIDGETS_PATH = "/api/v2/widgets"
# mutant -> the requirement ids it breaks (the rewrites are in _http_mutants).
HTTP_MUTANTS = {
    "optional_widget_fields_dropped": ("WID-04",),
    "view_context_required": ("EVT-06",),
    "widget_types_checked_against_the_manifest": ("WID-07",),
    "explicit_internal_scope_refused": ("WID-08",),
    "json_with_charset_refused": ("EVT-08",),
    "json_parsed_whatever_the_content_type": ("EVT-08",),
    "body_cap_of_16_kib": ("EVT-08",),
    "unknown_metadata_keys_dropped": ("EVT-08",),
    "key_compared_by_prefix_or_suffix": ("WID-01", "EVT-01"),
    "key_compared_case_blind": ("WID-01", "EVT-01"),
    "write_answers_echo_the_key": ("SEC-01",),
}


class _Rewrite:
    """ASGI middleware: `request(headers, body)` may answer first (status, body) or edit
    the headers; `response(headers, status, doc)` may edit a JSON object answer."""

    def __init__(self, app, *, request=None, response=None) -> None:
        self.app, self.request, self.response = app, request, response

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        headers["_path"], headers["_method"] = scope["path"], scope["method"]
        if self.request is not None:
            early = self.request(headers, body)
            if early is not None:
                await _answer(send, *early)
                return
            scope = {**scope, "headers": [(k.encode(), v.encode()) for k, v in headers.items()
                                          if not k.startswith("_")]}
        answer: dict = {"body": b""}

        async def replay() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], message["headers"]
            else:
                answer["body"] += message.get("body", b"")

        await self.app(scope, replay, capture)
        status, out = answer["status"], answer["body"]
        if self.response is not None and out[:1] == b"{":
            status, doc = self.response(headers, status, json.loads(out))
            out = json.dumps(doc).encode()
        await _answer(send, status, out, answer["headers"])


async def _answer(send, status: int, body: bytes, headers: list | None = None) -> None:
    kept = [(k, v) for k, v in headers or [(b"content-type", b"application/json")]
            if k.lower() != b"content-length"]
    await send({"type": "http.response.start", "status": status,
                "headers": [*kept, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _error(status: int, code: str, field: str | None) -> tuple[int, bytes]:
    return status, json.dumps({"error": {"code": code, "message": "refused by the mutant",
                                         "field": field}}).encode()


def _field(headers: dict, body: bytes, path: str, name: str):
    if headers["_method"] != "POST" or headers["_path"] != path:
        return None
    try:
        return json.loads(body).get(name, None)
    except (ValueError, AttributeError):
        return None


def _presented(headers: dict) -> str:
    return headers.get("authorization", "").removeprefix("Bearer ")


def _http_mutants(key: str) -> dict[str, dict]:
    """Middleware keyword arguments of every mutant in HTTP_MUTANTS."""
    live_metadata = {"activity_core_run_id", "context_key", "idempotency_key", "attributes"}

    def rows(doc: dict) -> list:
        return doc["data"] if isinstance(doc.get("data"), list) else [doc]

    def drop_optional(headers, status, doc):
        if headers["_path"].startswith(WIDGETS_PATH) and "versions" not in headers["_path"]:
            for row in rows(doc):
                if "widgetType" in row:
                    row["capabilityRef"] = row["adapterSpecId"] = None
        return status, doc

    def view_context_required(headers, body):
        event = _field(headers, body, EVENTS_PATH, "widgetId") is not None
        if event and not _field(headers, body, EVENTS_PATH, "viewContext"):
            return _error(400, "validation_failed", "viewContext")
        return None

    def refuse(name, allowed):
        def hook(headers, body):
            sent = _field(headers, body, WIDGETS_PATH, name)
            return _error(422, "unknown_reference", name) \
                if isinstance(sent, str) and not allowed(sent) else None
        return hook

    def charset_refused(headers, body):
        return _error(415, "unsupported_media_type", "Content-Type") \
            if "charset" in headers.get("content-type", "") else None

    def sniffs_json(headers, body):
        if headers["_method"] == "POST" and body[:1] == b"{":
            headers["content-type"] = "application/json"

    def small_cap(headers, body):
        return _error(413, "payload_too_large", None) if len(body) > 16384 else None

    def keeps_live_metadata(headers, status, doc):
        if headers["_path"] == EVENTS_PATH:
            for row in rows(doc):
                if isinstance(row.get("metadata"), dict):
                    row["metadata"] = {k: v for k, v in row["metadata"].items()
                                       if k in live_metadata}
        return status, doc

    def prefix_match(headers, body):
        if key in _presented(headers):
            headers["authorization"] = f"Bearer {key}"

    def case_blind(headers, body):
        if _presented(headers).lower() == key.lower():
            headers["authorization"] = f"Bearer {key}"

    def echoes_on_write(headers, status, doc):
        if headers["_method"] == "POST" and status == 201:
            doc["submittedBy"] = _presented(headers)
        return status, doc

    return {
        "optional_widget_fields_dropped": {"response": drop_optional},
        "view_context_required": {"request": view_context_required},
        "widget_types_checked_against_the_manifest": {
            "request": refuse("widgetType", lambda v: v.startswith("ops-"))},
        "explicit_internal_scope_refused": {"request": refuse("policyScope",
                                                              lambda v: v != "internal")},
        "json_with_charset_refused": {"request": charset_refused},
        "json_parsed_whatever_the_content_type": {"request": sniffs_json},
        "body_cap_of_16_kib": {"request": small_cap},
        "unknown_metadata_keys_dropped": {"response": keeps_live_metadata},
        "key_compared_by_prefix_or_suffix": {"request": prefix_match},
        "key_compared_case_blind": {"request": case_blind},
        "write_answers_echo_the_key": {"response": echoes_on_write},
    }


def _serve_and_run(app, workdir: Path, env: dict, only: tuple[str, ...] = ()) -> dict:
    """Serve `app` on loopback; run the hand-written suite (the tests of `only`'s ids, or
    all) against it as a live target."""
    import socket
    import subprocess
    import threading

    import uvicorn

    workdir.mkdir(parents=True)
    # IPPROTO_TCP explicitly, so asyncio sets TCP_NODELAY on accepted sockets.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started, "the wrapped hub did not start"
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        (workdir / "assumptions.json").write_text(json.dumps({"state_hub": {"url": url}}))
        suite = mutants.suite_path()
        subprocess.run([sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
                        f"--rootdir={suite.parent}", f"--ignore-glob={suite}/*schemathesis*",
                        # a loopback hub: the live default rate limit would only add waits
                        "--ihub-target", url, "--ihub-allow-writes", "--ihub-rate-limit", "1000/s",
                        "--ihub-assumptions", str(workdir / "assumptions.json"),
                        "--ihub-results", str(workdir / "results.json"),
                        *(arg for rid in only for arg in ("--ihub-only", rid))],
                       env=env, capture_output=True, timeout=180, check=False)
        return json.loads((workdir / "results.json").read_text(encoding="utf-8"))
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.slow
def test_hubs_outside_the_fault_catalogue_are_killed_on_target(tmp_path: Path) -> None:
    import secrets

    from ihub_conformance.reference.app import create_app
    from ihub_conformance.reference.seed import load_seed
    from ihub_conformance.reference.server import consumer_keys

    key, unbound = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    env = {**mutants._child_env(), "OPS_HUB_KEY": key, "IHUB_UNBOUND_KEY": unbound}
    keys = consumer_keys(load_seed(None), key, unbound)
    faithful = _serve_and_run(_Rewrite(create_app(keys=keys)), tmp_path / "faithful", env)
    assert faithful["tests"], "no test ran"
    not_passed = [t["nodeid"] for t in faithful["tests"]
                  if t["outcome"] not in ("passed", "unverifiable")]
    assert not not_passed, f"the suite does not pass the wrapped faithful hub: {not_passed}"
    hooks = _http_mutants(key)
    assert set(hooks) == set(HTTP_MUTANTS)
    survivors = {}
    for name, expected in HTTP_MUTANTS.items():
        results = _serve_and_run(_Rewrite(create_app(keys=keys), **hooks[name]),
                                 tmp_path / name, env, only=expected)
        failed = [t for t in results["tests"] if t["outcome"] in ("failed", "error")]
        if not any(set(expected) & set(t["requirements"]) for t in failed):
            survivors[name] = sorted({rid for t in failed for rid in t["requirements"]})
    assert not survivors, f"not killed on target (failing ids seen): {survivors}"

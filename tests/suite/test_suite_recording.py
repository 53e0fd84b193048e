"""Cassettes: scrubbed of every credential, tied to their contract version, replayable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vcr.request import Request

from ihub_conformance.cli import main
from ihub_conformance.errors import ConformanceError
from ihub_conformance.secrets.scan import contains_literal
from ihub_conformance.suite import recording

ROOT = Path(__file__).resolve().parents[2]
CANARY = "ihub-canary-record-Wm8xT3qZ7vB2nK5s"
UNBOUND_CANARY = "ihub-canary-record-unbound-Pf4hJ9cR1dL6"
RUN_ID = "20260101T000000Z-abcdef"


def _request() -> Request:
    return Request(
        "POST",
        f"http://hub.example.com:8443/api/v2/widgets?page=1&api_key={CANARY}&token=t0k3n",
        json.dumps({"name": f"ihub-conformance {RUN_ID} x", "note": CANARY}).encode(),
        {"Authorization": f"Bearer {CANARY}", "Cookie": "session=abc", "Host": "hub.example.com",
         "X-Other": UNBOUND_CANARY},
    )


def test_request_scrubber_removes_keys_cookies_hosts_and_query_credentials() -> None:
    scrub = recording.request_scrubber(CANARY, UNBOUND_CANARY, RUN_ID)
    request = scrub(_request())
    text = f"{request.uri} {dict(request.headers)} {request.body!r}"
    assert not contains_literal(text, CANARY) and not contains_literal(text, UNBOUND_CANARY)
    assert request.headers["Authorization"] == "Bearer <REDACTED>"
    assert request.headers["X-Other"] == "<REDACTED-UNBOUND>"
    assert "Cookie" not in request.headers
    assert request.headers["Host"] == "ihub.invalid"
    assert request.uri.startswith("http://ihub.invalid/api/v2/widgets?page=1")
    assert "t0k3n" not in request.uri and "hub.example.com" not in request.uri
    assert b"ihub-conformance recorded-run x" in request.body


def test_response_scrubber_removes_keys_and_set_cookie() -> None:
    scrub = recording.response_scrubber(CANARY, None, RUN_ID)
    body = json.dumps({"echo": CANARY, "name": RUN_ID}).encode()
    response = scrub({
        "status": {"code": 200, "message": "OK"},
        "headers": {"X-Api-Key": [CANARY], "Set-Cookie": ["a=b"],
                    "Content-Length": [str(len(body))]},
        "body": {"string": body},
    })
    assert "Set-Cookie" not in response["headers"]
    assert response["headers"]["X-Api-Key"] == ["<REDACTED>"]
    assert not contains_literal(response["body"]["string"], CANARY)
    assert b"recorded-run" in response["body"]["string"]
    assert response["headers"]["Content-Length"] == [str(len(response["body"]["string"]))]


def test_meta_names_the_contract_and_refuses_another(tmp_path: Path) -> None:
    recording.write_meta(tmp_path, contract="v1", recorded_from="reference",
                         unbound_key=True, allow_writes=True)
    meta = recording.read_meta(tmp_path, "v1")
    assert (meta.contract, meta.unbound_key, meta.allow_writes) == ("v1", True, True)
    with pytest.raises(ConformanceError, match=r"recorded for contract v1.*contract v0"):
        recording.read_meta(tmp_path, "v0")
    with pytest.raises(ConformanceError, match="no cassettes recorded for contract v1"):
        recording.read_meta(tmp_path / "missing", "v1")


def test_committed_cassettes_are_v1_and_scrubbed() -> None:
    directory = ROOT / "fixtures" / "cassettes" / "v1"
    meta = recording.read_meta(directory, "v1")
    assert meta.recorded_from == "reference"
    for path in recording.cassette_files(directory):
        text = path.read_text()
        for line in text.splitlines():
            if "Bearer " in line:
                assert line.split("Bearer ", 1)[1] in (
                    "<REDACTED>", "<REDACTED-UNBOUND>",
                    "ihub-conformance-wrong-key-0000000000000000"), path
        assert "127.0.0.1" not in text and "set-cookie" not in text.lower(), path


def _tree_leaks(directory: Path, secret: str) -> list[Path]:
    if not directory.exists():
        return []
    return [p for p in directory.rglob("*") if p.is_file()
            and contains_literal(p.read_bytes(), secret)]


@pytest.mark.slow
def test_recording_with_a_canary_key_leaks_it_nowhere(tmp_path: Path, capsys,
                                                     monkeypatch) -> None:
    monkeypatch.setenv("OPS_HUB_KEY", CANARY)
    monkeypatch.setenv("IHUB_UNBOUND_KEY", UNBOUND_CANARY)
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    code = main(["run", "--record", "--cassette-dir", str(cassettes), "--report-dir",
                 str(reports), "-k", "not schemathesis"])
    recorded = capsys.readouterr()
    assert code == 0, (recorded.out + recorded.err)[-2000:]
    assert len(list(recording.cassette_files(cassettes))) > 50
    for secret in (CANARY, UNBOUND_CANARY):
        assert not contains_literal(recorded.out + recorded.err, secret)
        for directory in (cassettes, reports, ROOT / "fixtures", ROOT / "reports"):
            assert not _tree_leaks(directory, secret), directory
    # ... and the fresh cassettes replay offline to the same verdict.
    monkeypatch.delenv("OPS_HUB_KEY")
    monkeypatch.delenv("IHUB_UNBOUND_KEY")
    code = main(["run", "--target", "replay", "--cassette-dir", str(cassettes),
                 "--report-dir", str(tmp_path / "replayed"), "-k", "not schemathesis"])
    replayed = capsys.readouterr()
    assert code == 0, (replayed.out + replayed.err)[-2000:]


def test_the_cassette_matcher_compares_the_registers_auth_header():
    from types import SimpleNamespace

    from ihub_conformance.suite.recording import auth_matcher_for

    def request(**headers: str) -> SimpleNamespace:
        return SimpleNamespace(headers=headers)

    by_api_key = auth_matcher_for("X-Api-Key")
    by_api_key(request(**{"X-Api-Key": "REDACTED"}), request(**{"X-Api-Key": "REDACTED"}))
    with pytest.raises(AssertionError, match="X-Api-Key"):
        by_api_key(request(**{"X-Api-Key": "REDACTED"}), request())
    # the default header says nothing in that dialect: a keyless request would match
    auth_matcher_for("Authorization")(request(**{"X-Api-Key": "REDACTED"}), request())
    auth_matcher_for(None)(request(**{"X-Api-Key": "a"}), request())  # keyless dialect

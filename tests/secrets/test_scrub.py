"""The one scrubber: every spelling of a key leaves every output path (canary values)."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

import pytest

from ihub_conformance.commands import run as run_command
from ihub_conformance.gate import report as gate_report
from ihub_conformance.secrets.scan import contains_literal
from ihub_conformance.secrets.scrub import REDACTED, Scrubber, scrub, spellings
from ihub_conformance.suite import recording
from ihub_conformance.suite.plugin import SuiteState

# Characters every encoder treats differently: quote, slash, plus, colon, non-ASCII.
CANARY = 'canary-"Key"/+=:é-0123456789abcdef'


def _every_spelling(secret: str) -> list[str]:
    data = secret.encode()
    wrapped = [base64.b64encode(prefix + data + b"!").decode()
               for prefix in (b"", b"u:", b"us:", b"user:")]  # a Basic credential
    return [secret, json.dumps(secret), json.dumps(secret, ensure_ascii=False),
            quote(secret, safe=""), quote(secret), quote_plus(secret),
            base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode(),
            *wrapped, *(w.replace("+", "-").replace("/", "_") for w in wrapped)]


SPELLED = [f"before {s} after" for s in _every_spelling(CANARY)]


@pytest.mark.parametrize("text", SPELLED)
def test_the_canary_check_sees_every_spelling(text: str) -> None:
    assert contains_literal(text, CANARY)


@pytest.mark.parametrize("text", SPELLED)
def test_scrub_removes_every_spelling(text: str) -> None:
    clean = scrub(text, [CANARY])
    assert not contains_literal(clean, CANARY), clean
    assert clean.startswith("before ") and clean.endswith(" after")
    assert not contains_literal(Scrubber({CANARY: REDACTED}).data(text.encode()), CANARY)


def test_short_values_and_unrelated_text_are_left_alone() -> None:
    assert scrub("a key abc in a sentence", ["abc", ""]) == "a key abc in a sentence"
    assert scrub("nothing secret here", [CANARY]) == "nothing secret here"
    assert CANARY in spellings(CANARY)


def _suite_state() -> SuiteState:
    required = {f.name: None for f in dataclasses.fields(SuiteState)
                if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    return SuiteState(**required, secrets=[CANARY])


@pytest.mark.parametrize("text", SPELLED)
def test_every_output_path_scrubs_every_spelling(text: str, tmp_path: Path) -> None:
    # pytest plugin: failure messages, JUnit properties, the results file
    assert not contains_literal(_suite_state().redact(text), CANARY)
    # gate: gate.json, gate.md, junit.xml and the console
    assert not contains_literal(gate_report.scrub(text, CANARY), CANARY)
    # cassettes: request URL, headers and body; response headers and body
    request = SimpleNamespace(uri=f"http://127.0.0.1:1/x?q={quote(text)}",
                              headers={"X-Note": text}, body=text.encode())
    recording.request_scrubber(CANARY, None)(request)
    response = {"headers": {"X-Note": [text]}, "body": {"string": text.encode()}}
    recording.response_scrubber(CANARY, None)(response)
    for out in (request.uri, request.headers["X-Note"], request.body,
                response["headers"]["X-Note"][0], response["body"]["string"]):
        assert not contains_literal(out, CANARY), out
    # `run`: files pytest left in the report directory
    (tmp_path / "junit.xml").write_text(text, encoding="utf-8")
    run_command.scrub_tree(tmp_path, [CANARY])
    assert not contains_literal((tmp_path / "junit.xml").read_bytes(), CANARY)

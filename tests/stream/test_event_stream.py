"""validate events: corpora, derived mutations, canaries, duplicates, malformed lines, CLI."""

from __future__ import annotations

import copy
import io
import json
import random
import string
import subprocess
import sys
from pathlib import Path

import jsonschema_rs
import pytest

from ihub_conformance import cli
from ihub_conformance.secrets.scan import contains_literal
from ihub_conformance.stream.pipeline import StreamSummary, check_stream

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "fixtures" / "events"
REPORT_SCHEMA = json.loads((ROOT / "contracts/reports/event-findings.schema.json").read_text())

from event_generator import gen  # noqa: E402

EXPECTED = json.loads((EVENTS / "expected.json").read_text())


def _findings(lines: list[bytes], contract: str = "v1"):
    return list(check_stream(lines, contract=contract))


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_valid_corpus_produces_nothing() -> None:
    summary = StreamSummary("v1")
    assert list(check_stream(_lines(EVENTS / "valid.jsonl"), summary=summary)) == []
    assert summary.lines == summary.valid == 40 and summary.invalid == 0


@pytest.mark.parametrize("name", ["invalid-secrets.jsonl", "invalid-contract.jsonl",
                                  "malformed.jsonl"])
def test_each_corpus_line_is_flagged_for_its_stated_reason(name: str) -> None:
    found = _findings(_lines(EVENTS / name))
    by_line: dict[int, list] = {}
    for f in found:
        by_line.setdefault(f.line, []).append(f)
    for exp in EXPECTED[name]:
        got = by_line.get(exp["line"], [])
        if exp["finding"] is None:
            assert got == [], exp
            continue
        kinds = {f.kind for f in got}
        assert exp["finding"] in kinds, (exp, [(f.kind, f.reason) for f in got])
        if "kind" in exp:
            assert exp["kind"] in {f.secret_kind for f in got}, exp
        if "pointer" in exp:
            assert exp["pointer"] in {f.pointer for f in got if f.kind == exp["finding"]}, exp


@pytest.mark.requirement("VOC-02", "VOC-03")
def test_early_names_say_the_live_replacement_and_deferred_says_fallback() -> None:
    found = {f.line: f for f in _findings(_lines(EVENTS / "invalid-contract.jsonl"))}
    assert "ops-service-discovered" in found[2].reason
    assert "ops-drift-detected" in found[3].reason
    assert found[4].kind == "deferred" and "State Hub" in found[4].reason


def _mutations(rng: random.Random):
    """(description, payload) pairs derived from valid events; every one must be flagged."""
    valid = list(gen.valid_events(30, seed=rng.randint(0, 10**6)))
    for kind in gen.SECRET_TEMPLATES:
        key, value = gen.fake_secret(kind, rng)
        yield f"secret {kind}", gen.insert_at_random_depth(rng.choice(valid), key, value, rng)
    for key in gen.SUSPICIOUS_KEYS:
        yield f"key {key}", gen.insert_at_random_depth(rng.choice(valid), key, "x", rng)
    for early in ("ops-service-observed", "ops-inventory-drift", "ops-access-path-checked"):
        event = copy.deepcopy(rng.choice(valid))
        event["eventType"] = early
        yield f"event type {early}", event
    for path in (("widgetId",), ("eventType",), ("metadata",), ("metadata", "context_key"),
                 ("metadata", "activity_core_run_id"), ("metadata", "attributes"),
                 ("metadata", "attributes", "observed_at")):
        event = copy.deepcopy(rng.choice(valid))
        node = event
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
        yield f"drop {'/'.join(path)}", event


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_derived_mutation_is_flagged(seed: int) -> None:
    cases = list(_mutations(random.Random(seed)))
    lines = [json.dumps(event).encode() + b"\n" for _, event in cases]
    flagged = {f.line for f in _findings(lines)}
    missed = [desc for i, (desc, _) in enumerate(cases, start=1) if i not in flagged]
    assert missed == []


def test_an_unknown_kind_of_secret_is_flagged() -> None:
    rng = random.Random()
    unknown = "zq9_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(40))
    event = gen.insert_at_random_depth(gen.valid_event(rng), "note", unknown, rng)
    found = _findings([json.dumps(event).encode()])
    assert any(f.kind == "secret" for f in found)


@pytest.mark.requirement("ACS-05", "ACS-07")
def test_duplicates_are_reported_on_the_repeat_only() -> None:
    events = list(gen.valid_events(5, seed=9))
    lines = [json.dumps(e).encode() for e in [*events, events[2], events[2]]]
    dups = [f.line for f in _findings(lines) if f.kind == "duplicate"]
    assert dups == [6, 7]


def test_malformed_lines_do_not_stop_the_stream() -> None:
    events = list(gen.valid_events(3, seed=4))
    bad_event = copy.deepcopy(events[2])
    bad_event["eventType"] = "ops-service-observed"
    md = bad_event["metadata"]
    md["idempotency_key"] = f"{md['activity_core_run_id']}:{md['context_key']}:ops-service-observed"
    lines = [json.dumps(events[0]).encode(), b"{oops", b"\xff\xfe\n",
             json.dumps(events[1]).encode(), json.dumps(bad_event).encode()]
    found = _findings(lines)
    assert [(f.line, f.kind) for f in found] == [(2, "malformed"), (3, "malformed"),
                                                 (5, "early-name")]
    assert "UTF-8" in found[1].reason


def _canary_stream(tmp_path: Path) -> tuple[Path, list[str]]:
    """A stream carrying fresh canaries of several kinds, in values, keys and deep lists."""
    rng = random.Random()
    letters = string.ascii_letters + string.digits
    canaries = ["ghp_" + "".join(rng.choice(letters) for _ in range(36)),
                "AKIA" + "".join(rng.choice(string.ascii_uppercase) for _ in range(16)),
                "".join(rng.choice(letters) for _ in range(48))]
    events = list(gen.valid_events(6, seed=rng.randint(0, 999)))
    events[1]["metadata"]["attributes"]["note"] = f"Bearer {canaries[2]}"
    events[2]["metadata"]["attributes"]["deep"] = [{"x": {"token": canaries[0]}}]
    events[3]["metadata"]["context_key"] = canaries[1]  # also breaks the idempotency key
    events[4]["metadata"]["attributes"][canaries[2]] = "value under a secret key"
    events[5][canaries[0]] = {"nested": 1}  # a secret as an unexpected top-level field
    path = tmp_path / "canary.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path, canaries


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_canary_never_appears_in_any_output(tmp_path: Path, fmt: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path, canaries = _canary_stream(tmp_path)
    before = set(tmp_path.iterdir())
    code = cli.main(["validate", "events", str(path), "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 1
    assert "secret" in out
    for canary in canaries:
        assert not contains_literal(out + err, canary)
    assert set(tmp_path.iterdir()) == before  # the command writes no files


def test_json_output_validates_against_the_report_schema(
        capsys: pytest.CaptureFixture[str]) -> None:
    validator = jsonschema_rs.validator_for(REPORT_SCHEMA)
    for name in ("valid.jsonl", "invalid-secrets.jsonl", "invalid-contract.jsonl",
                 "malformed.jsonl"):
        code = cli.main(["validate", "events", str(EVENTS / name), "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        errors = [e.message for e in validator.iter_errors(report)]
        assert errors == [], (name, errors[:3])
        assert code == (0 if name == "valid.jsonl" else 1)
        assert report["lines"] == report["valid"] + report["invalid"]
        assert len(report["findings"]) == report["summary"]["findings"]


def test_text_output_lines_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    path = EVENTS / "invalid-contract.jsonl"
    assert cli.main(["validate", "events", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}:2: /eventType: early-proposal")
    # Line 8 lacks observed_at: a SHOULD (ACS-01), so a warning on a valid line.
    assert f"{path}:8: /metadata/attributes/observed_at: warning: missing 'observed_at'" in (
        "\n".join(out))
    assert out[-1] == (f"{path}: 12 lines, 2 valid, 10 invalid (schema 6, early-name 2, "
                       "deferred 1, duplicate 1, warning 1); contract v1")


def test_stdin_is_read(monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    data = (EVENTS / "invalid-contract.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert cli.main(["validate", "events", "-", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == "<stdin>" and report["lines"] == 12 and report["invalid"] == 10


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "events", str(EVENTS / "valid.jsonl")]) == 0
    assert cli.main(["validate", "events", str(EVENTS / "malformed.jsonl")]) == 1
    assert cli.main(["validate", "events", str(tmp_path / "missing.jsonl")]) == 2
    assert cli.main(["validate", "events", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "missing.jsonl: file not found" in err and "Traceback" not in err


def test_v0_contract_is_selectable(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["validate", "events", str(EVENTS / "valid.jsonl"), "--contract", "v0"])
    out = capsys.readouterr().out
    assert out.rstrip().endswith("contract v0")
    assert code in (0, 1)


def test_subprocess_end_to_end_via_stdin() -> None:
    data = (EVENTS / "valid.jsonl").read_bytes()
    done = subprocess.run([sys.executable, "-m", "ihub_conformance.cli", "validate", "events",
                           "-"], input=data, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "<stdin>: 40 lines, 40 valid, 0 invalid; contract v1"


def test_overlong_lines_are_reported_and_skipped() -> None:
    from ihub_conformance.stream.pipeline import read_lines

    events = list(gen.valid_events(2, seed=12))
    data = (json.dumps(events[0]).encode() + b"\n" + b"x" * 5000 + b"\n"
            + json.dumps(events[1]).encode() + b"\n" + b"y" * 3000)
    lines = list(read_lines(io.BytesIO(data), limit=1024))
    assert len(lines) == 4 and max(len(line) for line in lines) <= 1024
    found = _findings(lines)
    assert [(f.line, f.kind) for f in found] == [(2, "malformed"), (4, "malformed")]
    assert "longer than" in found[0].reason


def test_non_object_and_blank_lines(capsys: pytest.CaptureFixture[str]) -> None:
    summary = StreamSummary("v1")
    found = list(check_stream([b"[1, 2]\n", b"\n", b"  \n", b"42\n", b'"text"\n'],
                              summary=summary))
    assert {f.line for f in found} == {1, 4, 5}
    assert all(f.kind == "schema" for f in found)
    assert (summary.lines, summary.blank, summary.invalid) == (3, 2, 3)


def test_key_index_costs_eight_bytes_per_key() -> None:
    from ihub_conformance.stream.pipeline import KeyIndex

    index = KeyIndex()
    rng = random.Random(2)
    hashes = [rng.getrandbits(63) for _ in range(20000)]
    assert all(index.note(0, h) for h in hashes)
    assert not any(index.note(1, h) for h in hashes[:100])
    stored = sum(len(b) * b.itemsize for b in index.buckets)
    assert stored == 8 * 20000


def test_event_type_of_the_wrong_json_type_is_a_schema_finding_not_a_crash() -> None:
    event = gen.valid_event(random.Random(4))
    for wrong in (["ops-drift-detected"], {"name": "x"}, 7, None):
        line = json.dumps({**event, "eventType": wrong}).encode()
        found = _findings([line])
        assert found and all(f.kind == "schema" for f in found)
        assert any(f.pointer == "/eventType" for f in found)


def test_a_line_only_the_prefilter_suspects_is_counted_valid() -> None:
    # "authority" holds the prefilter anchor "auth"; no detector or schema rule objects.
    event = gen.valid_event(random.Random(6))
    event["metadata"]["attributes"]["issuer"] = "certificate-authority-prod"
    summary = StreamSummary("v1")
    line = json.dumps(event).encode()
    assert list(check_stream([line], summary=summary)) == []
    assert (summary.lines, summary.valid, summary.invalid) == (1, 1, 0)

"""`ihub-conformance validate`: exit codes, messages, stdin, YAML, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ihub_conformance.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
VALID_MAPPING = CORPUS / "v1" / "mapping" / "valid" / "full-ops-hub.json"
VALID_EVENT = CORPUS / "v1" / "event" / "valid" / "endpoint-verified-entity.json"
EARLY_EVENT = CORPUS / "v0" / "event" / "valid" / "service-observed.json"


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_valid_mapping_exits_0_and_names_the_contract(capsys):
    assert main(["validate", "mapping", str(VALID_MAPPING)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"{VALID_MAPPING}: valid mapping (contract v1)"


def test_invalid_event_prints_file_pointer_reason_lines(capsys):
    assert main(["validate", "event", str(EARLY_EVENT)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert (
        f"{EARLY_EVENT}: /eventType: early-proposal event type 'ops-service-observed'; "
        "use 'ops-service-discovered'"
    ) in lines
    assert lines[-1] == f"{EARLY_EVENT}: invalid event: 1 violation (contract v1)"


def test_v0_contract_accepts_the_early_event(capsys):
    assert main(["validate", "event", str(EARLY_EVENT), "--contract", "v0"]) == 0
    assert "(contract v0)" in capsys.readouterr().out


def test_json_format_parses(capsys):
    assert main(["validate", "event", str(EARLY_EVENT), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["contract"] == "v1" and report["valid"] is False and report["kind"] == "event"
    assert report["violations"][0]["pointer"] == "/eventType"
    assert "ops-service-discovered" in report["violations"][0]["reason"]


def test_yaml_mapping_is_read_with_dates_as_strings(tmp_path: Path, capsys):
    import yaml

    event = json.loads(VALID_EVENT.read_text())
    path = tmp_path / "event.yaml"
    # unquoted timestamps must stay strings, not become YAML dates
    path.write_text(yaml.safe_dump(event).replace("'2026-06-27T10:15:00Z'", "2026-06-27T10:15:00Z"))
    assert "observed_at: 2026-06-27T10:15:00Z" in path.read_text()
    assert main(["validate", "event", str(path)]) == 0, capsys.readouterr().out


def test_wrapped_mapping_from_yaml(tmp_path: Path, capsys):
    import yaml

    doc = {"capability_mapping": json.loads(VALID_MAPPING.read_text())}
    doc["capability_mapping"]["mappings"][0]["policyScope"] = "ops-evidence"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["validate", "mapping", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: /capability_mapping/mappings/0/policyScope: policy scope 'ops-evidence'" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"widgetId": 1,,}', "not valid JSON/YAML: line 1 column 16"),
        ("a: [1\n", "not valid JSON/YAML: line 2 column 1"),
        ("", "not valid JSON/YAML: empty document"),
        ("a: 1\n---\nb: 2\n", "expected one document, found 2"),
        ('{"eventType": "a", "eventType": "b"}', "duplicate key 'eventType'"),
        ('{"metadata": {"attributes": {"latency": NaN}}}', "NaN is not a JSON value"),
    ],
)
def test_malformed_input_exits_2_with_one_line(tmp_path: Path, capsys, content: str, expected: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["validate", "event", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ihub-conformance: error: {path}: ")
    assert expected in err
    assert "\n" not in err


def test_missing_file_exits_2(capsys):
    assert main(["validate", "manifest", "/no/such/manifest.json"]) == 2
    assert "/no/such/manifest.json: cannot read" in capsys.readouterr().err


def test_unknown_contract_version_exits_2(capsys):
    assert main(["validate", "event", str(VALID_EVENT), "--contract", "v9"]) == 2
    err = capsys.readouterr().err
    assert "unknown contract version 'v9'" in err and "v0, v1" in err


def test_stdin_subprocess_invalid_and_no_traceback():
    event = json.loads(VALID_EVENT.read_text())
    event["metadata"]["attributes"]["auth"] = "Bearer s3cr3t-canary-value"
    result = _cli("validate", "event", "-", stdin=json.dumps(event))
    assert result.returncode == 1, result.stderr
    assert "<stdin>: /metadata/attributes/auth: forbidden field name" in result.stdout
    assert "s3cr3t-canary-value" not in result.stdout + result.stderr
    assert "(contract v1)" in result.stdout


def test_stdin_subprocess_malformed_exits_2_without_traceback():
    result = _cli("validate", "mapping", "-", stdin="{not json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("ihub-conformance: error: <stdin>: not valid JSON/YAML")
    assert len(result.stderr.strip().splitlines()) == 1


def test_installed_console_script_runs():
    script = Path(sys.executable).with_name("ihub-conformance")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run(
        [str(script), "validate", "mapping", str(VALID_MAPPING)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "valid mapping (contract v1)" in result.stdout


def test_events_kind_is_reserved_for_the_stream_validator(tmp_path: Path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text(VALID_EVENT.read_text().replace("\n", "") + "\n")
    code = main(["validate", "events", str(path)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err


@pytest.mark.requirement("VOC-11", "ACS-04")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_mapping_warnings_are_printed_and_keep_exit_0(capsys, fmt):
    """An ordering precondition (VOC-11) and a partial mapping (ACS-04) warn, never reject."""
    path = CORPUS / "v1" / "mapping" / "valid" / "backup-verified-before-a-backup-set-widget.json"
    assert main(["validate", "mapping", str(path), "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        doc = json.loads(out)
        assert doc["valid"] is True and doc["violations"] == []
        (warning,) = doc["warnings"]
        assert warning["pointer"] == "/mappings/3/eventType" and "VOC-11" in warning["reason"]
    else:
        lines = out.splitlines()
        assert lines[0] == f"{path}: /mappings/3/eventType: warning: ops-backup-verified is sent " \
            "only after a ops-backup-set widget exists (VOC-11); this mapping names none - " \
            "make sure one exists in the target before the first event"
        assert lines[-1] == f"{path}: valid mapping (contract v1)"


@pytest.mark.requirement("ACS-01")
def test_an_event_without_observed_at_is_valid_with_a_named_should_warning(capsys):
    path = CORPUS / "v1" / "event" / "should" / "metadata.attributes.observed_at__missing.json"
    assert main(["validate", "event", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}: /metadata/attributes/observed_at: warning: missing "
                             "'observed_at': activity-core should send")
    assert "(ACS-01, SHOULD" in out[0] and out[1] == f"{path}: valid event (contract v1)"
    assert main(["validate", "event", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] and doc["violations"] == []
    assert [w["pointer"] for w in doc["warnings"]] == ["/metadata/attributes/observed_at"]

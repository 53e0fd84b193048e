"""Issue 16's reproductions at the command line: each bad input, output failure or signal
ends with one line and a documented exit code, never a traceback or a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ihub_conformance.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
VALID_EVENT = CORPUS / "v1" / "event" / "valid" / "endpoint-verified-entity.json"
KINDS = ["mapping", "event", "manifest", "widget", "progress"]
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True))
HUGE_INT = "1" + "0" * 5000


def cli(*args: str, stdin: int | None = None, stdout: int | None = subprocess.PIPE,
        env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The command in a child process (what a user sees: exit code, stderr lines)."""
    return subprocess.run([sys.executable, "-m", "ihub_conformance.cli", *args], stdin=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, check=False)


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def in_process(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("kind", KINDS)
def test_billion_laughs_is_refused_by_every_validate_kind(tmp_path, capsys, kind):
    doc = tmp_path / "laughs.yaml"
    doc.write_text(LAUGHS)
    code, err = in_process(["validate", kind, str(doc)], capsys)
    assert code == 2 and f"{doc}: not valid JSON/YAML: aliases expand" in err


@pytest.mark.parametrize("kind", [*KINDS, "events"])
@pytest.mark.parametrize("text", ['{"a": ' + HUGE_INT + "}", "a: " + HUGE_INT])
def test_integers_over_4300_digits_are_refused_by_every_validate_kind(tmp_path, capsys, kind,
                                                                      text):
    doc = tmp_path / "big.json"
    doc.write_text(text + "\n")
    code, err = in_process(["validate", kind, str(doc)], capsys)
    assert code in (1, 2)  # events: a malformed line is a finding (exit 1), others: exit 2
    if kind != "events":
        assert "integer longer than 4300 digits" in err


@pytest.mark.parametrize("flag, text", [
    ("--assumptions", "pagination:\n  max_size: " + HUGE_INT + "\n"),
    ("--assumptions", LAUGHS),
    ("--assumptions", "auth:\n  header: X\nauth:\n  scheme: ''\n"),
    ("--mapping", '{"hub": "ops-hub", "n": ' + HUGE_INT + "}"),
    ("--mapping", '{"hub": "ops-hub", "hub": "other"}'),
])
def test_run_and_gate_refuse_bad_numbers_aliases_and_repeated_keys(tmp_path, capsys, flag,
                                                                   text):
    source = tmp_path / "input.yaml"
    source.write_text(text)
    command = "run" if flag == "--assumptions" else "gate"
    argv = [command, flag, str(source), "--report-dir", str(tmp_path / "reports")]
    code, err = in_process(argv, capsys)
    assert code == 2 and str(source) in err and "not valid" in err


def test_closed_stdin_is_one_line(tmp_path):
    for kind in ("event", "events"):
        closed = subprocess.run(
            [sys.executable, "-m", "ihub_conformance.cli", "validate", kind, "-"],
            preexec_fn=lambda: os.close(0), capture_output=True, text=True, timeout=60,
            check=False)
        assert one_line_error(closed).endswith("<stdin>: standard input is closed")


@pytest.mark.parametrize("argv", [
    ["validate", "event", str(VALID_EVENT), "--format", "json"],
    ["validate", "event", str(VALID_EVENT)],
    ["validate", "events", str(VALID_EVENT)],
])
def test_a_full_disk_names_the_output_not_the_input(argv):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "ihub_conformance.cli", *argv],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                                check=False)
    line = one_line_error(result)
    assert line == "ihub-conformance: error: <stdout>: write failed: No space left on device"


def test_closed_stdout_is_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "ihub_conformance.cli", "validate", "event", str(VALID_EVENT)],
        preexec_fn=lambda: os.close(1), stderr=subprocess.PIPE, text=True, timeout=60,
        check=False)
    assert one_line_error(result).endswith("<stdout>: standard output is closed")


def test_a_reader_that_closes_early_ends_the_command_quietly(tmp_path):
    line = VALID_EVENT.read_text().replace("\n", "") + "\n"
    stream = tmp_path / "many.jsonl"
    stream.write_text(line * 20000)
    # The reader reads one line and goes away; the writer must stop quietly, like `yes`.
    child = subprocess.Popen([sys.executable, "-m", "ihub_conformance.cli", "validate",
                              "events", str(stream)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141
    assert err == ""


@pytest.mark.parametrize("url", ["http://[::1", "http://hub.example:65536", "http://h:x",
                                 "https://[fe80::1%zz", "http://h:99999999999999999999"])
@pytest.mark.parametrize("command, flag", [("run", "--target"), ("gate", "--target"),
                                           ("gate", "--state-hub")])
def test_malformed_urls_are_usage_errors(tmp_path, capsys, monkeypatch, url, command, flag):
    monkeypatch.setenv("OPS_HUB_KEY", "canary-key-0001")
    argv = [command, flag, url, "--report-dir", str(tmp_path / "r")]
    code, err = in_process(argv, capsys)
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["x" * 300, "a/" * 200, "{not json" + "x" * 300,
                                   "/" + "y" * 5000])
def test_a_mapping_value_no_file_can_have_is_refused_in_one_line(tmp_path, capsys,
                                                                 monkeypatch, value):
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", value)
    monkeypatch.delenv("OPS_HUB_KEY", raising=False)
    code, err = in_process(["gate", "--report-dir", str(tmp_path / "r")], capsys)
    assert code in (1, 2), err


def test_repeated_keys_are_one_rule_for_every_validate_path(tmp_path, capsys):
    event = VALID_EVENT.read_text()
    repeated = event.replace('"eventType"', '"eventType": "x", "eventType"', 1)
    as_json, as_yaml, as_lines = (tmp_path / n for n in ("e.json", "e.yaml", "e.jsonl"))
    as_json.write_text(repeated)
    as_yaml.write_text("eventType: a\neventType: b\n")
    as_lines.write_text(repeated.replace("\n", "") + "\n")
    for path in (as_json, as_yaml):
        code, err = in_process(["validate", "event", str(path)], capsys)
        assert code == 2 and "duplicate key 'eventType'" in err
    assert main(["validate", "events", str(as_lines)]) == 1
    assert "malformed: duplicate key 'eventType'" in capsys.readouterr().out

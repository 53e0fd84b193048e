"""Gate 4's places for a leaked key: report dir, cassettes, excluded globs; never in output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gate_helpers import canary_key, clean_repo, live_args, run_gate_cli
from ihub_conformance.gate import CheckOutcome, key_custody
from ihub_conformance.reference.server import running_reference_hub


@pytest.mark.requirement("GATE-04", "SEC-01")
def test_key_in_the_report_dir_or_a_cassette_fails_gate_4(keyed, tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "debug.log").write_text(f"Authorization: Bearer {keyed.key}\n", encoding="utf-8")
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    (cassettes / "run.yaml").write_text(f"headers:\n  x: ['{keyed.key}']\n", encoding="utf-8")
    run = run_gate_cli(capsys, reports, *live_args(keyed), "--cassettes", str(cassettes))
    assert run.code == 1 and run.failing == {"4"}
    wheres = {f["where"] for f in run.failures("4") if f["what"] == "OPS_HUB_KEY value committed"}
    assert wheres == {f"{reports / 'debug.log'}:1", f"{cassettes / 'run.yaml'}:2"}
    written = [(reports / n).read_text() for n in ("gate.json", "gate.md", "junit.xml")]
    outputs = "\n".join([run.out, run.err, *written])
    assert keyed.key not in outputs


@pytest.mark.requirement("GATE-04")
def test_scan_exclude_skips_token_scan_but_never_the_key(keyed, tmp_path, capsys):
    repo = clean_repo(tmp_path / "repo")
    corpus = repo / "corpus"
    corpus.mkdir()
    (corpus / "fake.txt").write_text("token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n",
                                     encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "corpus/fake.txt"], check=True)
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed, scan=repo),
                       "--scan-exclude", "corpus/*")
    assert run.code == 0, run.out
    (corpus / "leak.txt").write_text(f"{keyed.key}\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "corpus/leak.txt"], check=True)
    run = run_gate_cli(capsys, tmp_path / "r2", *live_args(keyed, scan=repo),
                       "--scan-exclude", "corpus/*")
    assert run.failing == {"4"}
    assert [f["where"] for f in run.failures("4")] == [f"{corpus / 'leak.txt'}:1"]


@pytest.mark.requirement("SEC-01")
def test_a_hub_echoing_the_key_never_gets_it_into_the_outputs(tmp_path, capsys, monkeypatch):
    key = canary_key()
    monkeypatch.setenv("OPS_HUB_KEY", key)
    with running_reference_hub(key=key, faults=frozenset({"echo_key"})) as hub:
        run = run_gate_cli(capsys, tmp_path / "r", *live_args(hub))
    assert key not in run.everything()


@pytest.mark.requirement("GATE-04", "SEC-01")
def test_cassettes_of_a_scanned_repository_are_found_by_default(keyed, tmp_path, capsys):
    repo = clean_repo(tmp_path / "repo")
    cassettes = repo / "fixtures" / "cassettes"
    cassettes.mkdir(parents=True)
    (cassettes / "untracked.yaml").write_text(f"key: {keyed.key}\n", encoding="utf-8")
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed, scan=repo))
    assert run.failing == {"4"}
    assert {f["where"] for f in run.failures("4") if f["what"] == "OPS_HUB_KEY value committed"
            } == {f"{(cassettes / 'untracked.yaml').resolve()}:1"}
    assert keyed.key not in run.everything()


def test_this_repository_passes_its_own_workflows_secret_scan() -> None:
    """The pre-deploy workflows scan this repository with GATE_SCAN_EXCLUDE: every other
    tracked file must be free of token-like literals (a digest written as bare hex, say)."""
    root = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("needs a git work tree")
    for workflow in (".github/workflows/pre-deploy.yml", ".forgejo/workflows/pre-deploy.yml"):
        env = next(job["env"] for job in yaml.safe_load(
            (root / workflow).read_text(encoding="utf-8"))["jobs"].values() if "env" in job)
        excluded = env["GATE_SCAN_EXCLUDE"].split()
        out = CheckOutcome("4")
        scanner = key_custody._Scanner(out, None)
        found = scanner.scan("this repository", key_custody.tracked_files(str(root)),
                             key_custody._token_filter([str(root)], excluded))
        assert found == 0, [(e.what, e.where) for e in out.evidence if not e.ok][:10]

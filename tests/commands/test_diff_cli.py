"""`ihub-conformance diff`: output, exit codes, the JSON report, git revisions, the CI guard.

The CI guard (`--against-base`, what `nox -s contract-diff` runs) is exercised in a
temporary git repository holding a copy of contracts/: breaking and compatible edits
in place, a breaking change carried by a new version directory, a stale changelog,
and clones without a main branch or history.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from ihub_conformance._paths import contracts_dir
from ihub_conformance.cli import main

ROOT = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = contracts_dir() / "reports" / "contract-diff.schema.json"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.email=ci@example.invalid",
                           "-c", "user.name=ci", "-c", "commit.gpgsign=false", *args],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


# -- diff OLD NEW ------------------------------------------------------------------------


def test_diff_v0_v1_prints_classified_lines_and_exits_1(capsys):
    assert main(["diff", "v0", "v1"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("v0 -> v1: ") and out[-1].endswith("; breaking")
    assert any(line.startswith("[breaking-consumer] vocabulary/ops-hub.json#/eventTypes: "
                               '"ops-service-observed" -> "ops-service-discovered" (renamed; '
                               "alias ops-service-observed -> ops-service-discovered bridges it")
               for line in out)
    assert any(line.startswith("    proof: ") and "valid under OLD and refused by NEW" in line
               for line in out)


def test_diff_json_follows_the_report_schema(capsys):
    assert main(["diff", "v0", "v1", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    assert report["verdict"] == "breaking"
    assert report["counts"]["breaking-consumer"] == sum(
        1 for c in report["changes"] if c["class"] == "breaking-consumer")
    assert any("witness" in c for c in report["changes"])


def test_a_version_against_itself_exits_0(capsys):
    assert main(["diff", "v1", str(contracts_dir() / "v1")]) == 0
    assert capsys.readouterr().out.strip().endswith("; compatible")


@pytest.mark.parametrize("argv", [["diff", "v9", "v1"], ["diff", "v0"],
                                  ["diff", "v0", "/nonexistent/contract"],
                                  ["diff", "v0", "src"]])
def test_bad_input_is_one_line_and_exit_2(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ihub-conformance: error: ")


@pytest.mark.parametrize(("name", "text"), [
    ("vocabulary/ops-hub.json", "[1, 2]"),
    ("vocabulary/ops-hub.json", '{"aliases": [1]}'),
    ("common.schema.json", "{bad"),
    ("widget.schema.json", '{"enum": 3}'),
    ("openapi.yaml", "x: ["),
    ("openapi.yaml", '{"paths": [1]}'),
    ("requirements.yaml", "[]"),
    ("assumptions.yaml", '{"values": {}}'),
])
def test_a_malformed_contract_file_is_one_line_and_exit_2(tmp_path: Path, capsys, name, text):
    new = tmp_path / "v1"
    shutil.copytree(contracts_dir() / "v1", new)
    (new / name).write_text(text)
    assert main(["diff", "v1", str(new)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ihub-conformance: error: ")
    assert name.rsplit("/", 1)[-1] in err[0] or "unexpected structure" in err[0]


def test_changelog_check_names_the_command_that_fixes_it(tmp_path: Path, capsys):
    copy = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), copy)
    assert main(["diff", str(copy / "v0"), str(copy / "v1"), "--changelog", "check"]) == 0
    text = (copy / "CHANGELOG.md").read_text()
    (copy / "CHANGELOG.md").write_text(text.replace('"ops-risk"', '"ops-danger"', 1))
    assert main(["diff", str(copy / "v0"), str(copy / "v1"), "--changelog", "check"]) == 1
    assert "ihub-conformance diff v0 v1 --changelog write" in capsys.readouterr().err
    assert main(["diff", str(copy / "v0"), str(copy / "v1"), "--changelog", "write"]) == 0
    assert (copy / "CHANGELOG.md").read_text() == text


# -- a temporary repository ----------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose main branch holds a copy of contracts/."""
    shutil.copytree(contracts_dir(), tmp_path / "contracts",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "contracts")
    _git(tmp_path, "checkout", "-q", "-b", "feature")
    return tmp_path


def _edit_json(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _narrow_scopes(contract: Path) -> None:
    _edit_json(contract / "common.schema.json", '        "ops-registry",\n', "")


def _guard(repo: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["diff", "--against-base", *extra, "--repo", str(repo)])
    return code, capsys.readouterr().out


def test_guard_passes_an_unchanged_tree(repo: Path, capsys):
    code, out = _guard(repo, capsys)
    assert code == 0, out
    assert "merge base of HEAD with main" in out


def test_guard_refuses_a_breaking_edit_in_place(repo: Path, capsys):
    _narrow_scopes(repo / "contracts" / "v1")
    code, out = _guard(repo, capsys)
    assert code == 1
    assert "contracts/v1: 1 breaking change(s) in place" in out
    assert '"ops-registry" -> (none)' in out and "contracts/v2" in out


def test_guard_refuses_a_committed_breaking_edit_too(repo: Path, capsys):
    _narrow_scopes(repo / "contracts" / "v1")
    _git(repo, "commit", "-q", "-am", "narrow")
    code, out = _guard(repo, capsys)
    assert code == 1 and "breaking change(s) in place" in out


def test_guard_passes_a_compatible_edit_in_place(repo: Path, capsys):
    _edit_json(repo / "contracts" / "v1" / "common.schema.json", '"ops-backup-retention"\n',
               '"ops-backup-retention",\n        "ops-staging"\n')
    _edit_json(repo / "contracts" / "v1" / "common.schema.json",
               "Policy scopes of the contract's ops-hub vocabulary.", "Policy scopes (reworded).")
    code, out = _guard(repo, capsys)
    assert code == 0, out


def _new_version(repo: Path) -> Path:
    contracts = repo / "contracts"
    v2 = contracts / "v2"
    shutil.copytree(contracts / "v1", v2)
    for path in v2.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml"):
            text = path.read_text().replace("/contracts/v1/", "/contracts/v2/")
            text = text.replace('"const": "v1"', '"const": "v2"')
            text = text.replace('"contract": "v1"', '"contract": "v2"')
            path.write_text(text.replace("contract: v1", "contract: v2"))
    with (contracts / "CHANGELOG.md").open("a") as changelog:
        changelog.write("\n## v2 - fewer scopes\n\nRemoved: policy scope `ops-registry`.\n")
    _narrow_scopes(v2)
    return v2


def test_guard_passes_a_break_in_a_new_version_with_its_changelog(repo: Path, capsys):
    v2 = _new_version(repo)
    code, out = _guard(repo, capsys)
    assert code == 1 and "the diff v1 v2 block is missing or out of date" in out
    contracts = repo / "contracts"
    assert main(["diff", str(contracts / "v1"), str(v2), "--changelog", "write"]) == 0
    assert '"ops-registry" -> (none)' in (contracts / "CHANGELOG.md").read_text()
    code, out = _guard(repo, capsys)
    assert code == 0, out


def test_guard_refuses_a_stale_changelog_block(repo: Path, capsys):
    changelog = repo / "contracts" / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace('"ops-risk" (renamed', '"x" (renamed'))
    code, out = _guard(repo, capsys)
    assert code == 1 and "diff v0 v1 --changelog write" in out


def test_guard_without_a_main_branch_compares_with_head(repo: Path, capsys):
    _git(repo, "branch", "-q", "-D", "main")
    code, out = _guard(repo, capsys)
    assert code == 0 and "compared with HEAD" in out
    _narrow_scopes(repo / "contracts" / "v1")
    assert _guard(repo, capsys)[0] == 1


def test_guard_in_a_single_commit_shallow_clone(repo: Path, tmp_path: Path, capsys):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)],
                   check=True, timeout=60, capture_output=True)
    code, out = _guard(clone, capsys)
    assert code == 0, out


def test_guard_outside_git_is_a_usage_error(tmp_path: Path, capsys):
    assert main(["diff", "--against-base", "--repo", str(tmp_path)]) == 2
    assert "not inside a git repository" in capsys.readouterr().err


def test_git_rev_reads_old_from_a_revision(repo: Path, capsys):
    _narrow_scopes(repo / "contracts" / "v1")
    code = main(["diff", "v1", str(repo / "contracts" / "v1"), "--git-rev", "main",
                 "--repo", str(repo)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[-1].startswith("v1@main -> v1: 1 breaking-consumer")
    assert main(["diff", "v7", "v1", "--git-rev", "main", "--repo", str(repo)]) == 2


def test_nox_session_and_ci_run_the_guard():
    noxfile = (ROOT / "noxfile.py").read_text()
    assert '@nox.session(name="contract-diff")' in noxfile
    assert '"ihub-conformance", "diff", "--against-base"' in noxfile
    # .ci/run runs the `ci` session, which runs the guard in the tests' venv.
    ci_session = noxfile[noxfile.index("def ci("):]
    ci_session = ci_session[: ci_session.find("\n@nox.session")]
    assert "_contract_diff(session)" in ci_session
    assert "nox -s ci" in (ROOT / ".ci" / "run").read_text()

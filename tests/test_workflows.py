"""The CI workflow files keep the pre-deploy gate safe (issue 13, item 8)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FORGES = (".github/workflows", ".forgejo/workflows")
GATE = "pre-deploy.yml"
CI = "ci.yml"
KEY = "OPS_HUB_KEY"


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _triggers(doc: dict[str, Any]) -> dict[str, Any]:
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    return on if isinstance(on, dict) else {name: None for name in on or ()}


@pytest.fixture(params=FORGES)
def gate(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(ROOT / request.param / GATE)


def test_both_forges_hold_the_same_files():
    for name in (GATE, CI):
        texts = {(ROOT / forge / name).read_text(encoding="utf-8") for forge in FORGES}
        assert len(texts) == 1, name


def _mentions_key(node: Any) -> bool:
    return KEY in yaml.safe_dump(node)


def test_the_key_reaches_only_the_step_that_runs_the_gate(gate):
    assert not _mentions_key(gate.get("env") or {})
    for job in gate["jobs"].values():
        assert not _mentions_key(job.get("env") or {}), "job-level env carries the key"
        holders = [step for step in job["steps"] if _mentions_key(step.get("env") or {})]
        assert len(holders) == 1
        assert "ihub-conformance gate" in holders[0]["run"]
        for step in job["steps"]:
            if step is not holders[0]:
                assert "secrets." not in yaml.safe_dump(step), step.get("name")


def test_read_only_token_one_writer_at_a_time_and_an_environment(gate):
    assert gate["permissions"] == {"contents": "read"}
    assert gate["concurrency"]["group"]
    assert gate["concurrency"]["cancel-in-progress"] is False
    for job in gate["jobs"].values():
        assert job.get("environment"), "the gate job needs an environment"
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}


def _installs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "pip install" in str(step.get("run"))]


def test_the_gate_installs_pinned_versions(gate):
    constraints = ROOT / "constraints" / "gate.txt"
    for job in gate["jobs"].values():
        runs = _installs(job)
        assert runs and all("-c constraints/gate.txt" in run for run in runs)
    pinned = {line.split("==")[0].lower().replace("_", "-")
              for line in constraints.read_text().splitlines()
              if line and not line.startswith("#")}
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line)
               for line in constraints.read_text().splitlines()
               if line and not line.startswith("#"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for spec in project["dependencies"]:
        name = re.split(r"[<>=;\[ ]", spec, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not pinned in {constraints.name}"


def test_the_gate_summary_reaches_the_step_summary(gate):
    for job in gate["jobs"].values():
        summary = [s for s in job["steps"] if "GITHUB_STEP_SUMMARY" in str(s.get("run"))]
        assert summary and summary[0].get("if") == "always()"
        assert "gate.md" in summary[0]["run"]


@pytest.mark.parametrize("forge", FORGES)
def test_ci_runs_on_push_and_pull_request(forge):
    doc = _load(ROOT / forge / CI)
    assert {"push", "pull_request"} <= set(_triggers(doc))
    assert doc["permissions"] == {"contents": "read"}
    runs = [step.get("run", "") for job in doc["jobs"].values() for step in job["steps"]]
    assert any(run.strip() == ".ci/run" for run in runs)

"""Attribution: assumption mismatches and unverifiable requirements reach the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ihub_conformance.suite.attribution import (
    AssumptionMismatch,
    Unverifiable,
    expect_assumption,
    unverifiable,
)

SAMPLE = '''
import pytest
from ihub_conformance.suite.attribution import expect_assumption, unverifiable

@pytest.fixture
def no_versions():
    unverifiable("the hub serves no widget versions endpoint")

@pytest.mark.requirement("WID-05")
@pytest.mark.assumption("ASM-06")
def test_guess():
    expect_assumption("ASM-06", 200 == 201, expected=201, observed=200, detail="create status")

@pytest.mark.requirement("EVT-11")
def test_source():
    assert 1 == 2, "occurredAt was honoured"

@pytest.mark.requirement("WID-06")
def test_versions(no_versions):
    pass

@pytest.mark.requirement("EVT-01")
@pytest.mark.assumption("ASM-02", "ASM-03")
def test_ok():
    expect_assumption("ASM-02", True, expected=1, observed=1)
'''


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "no:randomly", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120, check=False)


def test_expect_assumption_raises_only_when_the_hub_differs() -> None:
    expect_assumption("ASM-06", True, expected=201, observed=201)
    with pytest.raises(AssumptionMismatch) as caught:
        expect_assumption("ASM-06", False, expected=201, observed=200, detail="POST widgets")
    assert caught.value.asm_id == "ASM-06"
    assert "expected 201, observed 200" in str(caught.value)
    assert "calibrate" in str(caught.value)
    assert isinstance(caught.value, AssertionError)


def test_unverifiable_ends_a_test_like_a_skip() -> None:
    with pytest.raises(Unverifiable) as caught:
        unverifiable("no second key")
    assert caught.value.reason == "no second key"
    assert isinstance(caught.value, pytest.skip.Exception)


def test_outcomes_carry_mismatch_unverifiable_and_assumptions(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    results, junit = tmp_path / "results.json", tmp_path / "junit.xml"
    proc = _pytest(["test_sample.py", "--ihub-results", str(results),
                    f"--junitxml={junit}"], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    tests = {t["nodeid"].rsplit("::", 1)[1]: t for t in json.loads(results.read_text())["tests"]}
    assert tests["test_guess"]["outcome"] == "mismatch"
    assert tests["test_guess"]["mismatches"] == [
        {"assumption": "ASM-06", "expected": "201", "observed": "200",
         "detail": "create status"}]
    assert tests["test_guess"]["assumptions"] == ["ASM-06"]
    assert tests["test_source"]["outcome"] == "failed"
    assert tests["test_versions"]["outcome"] == "unverifiable"
    assert "no widget versions endpoint" in tests["test_versions"]["message"]
    assert tests["test_ok"]["outcome"] == "passed"
    assert tests["test_ok"]["assumptions"] == ["ASM-02", "ASM-03"]
    xml = junit.read_text()
    assert '<property name="assumption_mismatch" value="ASM-06"' in xml
    assert '<property name="assumption" value="ASM-03"' in xml
    assert 'name="unverifiable"' in xml


def test_unknown_assumption_id_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n@pytest.mark.assumption('ASM-99')\ndef test_a():\n    pass\n")
    proc = _pytest(["test_x.py"], tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "unknown assumption id" in proc.stderr and "ASM-99" in proc.stderr

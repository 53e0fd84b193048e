"""Prove the conformance suite can fail: run it against every fault variant of the reference hub.

    ihub-conformance mutants                      # every fault + the faithful hub
    ihub-conformance mutants --fault echo_key     # a subset (repeatable)
    ihub-conformance mutants --hand-written-only --jobs 2 --report kill.json

Each variant is one pytest process running conformance/ against its own reference
hub started with one fault switch (``--ihub-reference-fault NAME``); the faithful
hub runs the same way with no fault. Runs go ``--jobs`` at a time, each bounded by
``--timeout`` seconds (the whole process group is killed past it, so nothing hangs).

A variant is *killed* only when a failing test (or one reporting an assumption
mismatch: the reference hub speaks the register's dialect) verifies one of the fault's own
requirement ids (``Fault.requirement_ids``); failures of other requirements only
are reported as ``killed (off-target)`` and do not count. The kill table says
which tests killed each variant, split into hand-written and Schemathesis tests,
so a kill that only Schemathesis achieves is visible as such.

Exit 0 only when every variant is killed on target and the faithful hub passes
(verdict ``pass``: no failure, every MUST behaviour requirement proven); 1
otherwise, naming the survivors; 2 on usage errors (an unknown fault name).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ihub_conformance._paths import suite_dir
from ihub_conformance.contract.catalog import load_catalog
from ihub_conformance.reference.faults import FAULTS
from ihub_conformance.suite.children import stop_all, supervised
from ihub_conformance.suite.report import FAILED_OUTCOMES, build_verdict

FAITHFUL = "faithful"
DEFAULT_TIMEOUT_S = 240.0
DEFAULT_EXAMPLES = 10
SCHEMATHESIS_GLOB = "*schemathesis*"
# Results of a variant, in the order the table sorts them.
KILLED, OFF_TARGET, SURVIVED, ERROR = "killed", "killed (off-target)", "survived", "error"
PASSED, FAILED = "passed", "failed"
_TAIL_LINES = 15


@dataclass
class VariantResult:
    """One row of the kill table."""

    name: str
    description: str
    expected: list[str]
    result: str = ERROR
    observed: list[str] = field(default_factory=list)
    killing_tests: list[str] = field(default_factory=list)  # failing tests on target
    failed_tests: list[str] = field(default_factory=list)
    killed_by_hand_written: bool = False
    killed_by_schemathesis: bool = False
    tests_run: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result in (KILLED, PASSED)


def _is_schemathesis(nodeid: str) -> bool:
    return "schemathesis" in nodeid


def suite_path() -> Path:
    """The conformance suite the `run` command would use (checkout or shipped copy)."""
    return suite_dir()


def pytest_command(suite: Path, results: Path, fault: str | None, *, examples: int,
                   hand_written_only: bool, assumptions: str | None = None,
                   only: Sequence[str] = ()) -> list[str]:
    """The pytest invocation of one variant (its own process, its own reference hub)."""
    command = [
        sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
        f"--rootdir={suite.parent}", "--ihub-target", "reference",
        "--ihub-schemathesis-examples", str(examples), "--ihub-results", str(results),
    ]
    if hand_written_only:
        # --ignore-glob rather than -k: the Schemathesis module is not even imported.
        command.append(f"--ignore-glob={suite / SCHEMATHESIS_GLOB}")
    if fault is not None:
        command += ["--ihub-reference-fault", fault]
    if assumptions is not None:  # the hub speaks this dialect and the suite expects it
        command += ["--ihub-assumptions", str(Path(assumptions).resolve())]
    for target in only:
        command += ["--ihub-only", target]
    return command


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The reference hub generates its own keys; options meant for an outer pytest
    # session (test_mutants runs this from inside one) must not leak into the child.
    for name in ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER"):
        env.pop(name, None)
    return env


def _run_process(command: list[str], timeout: float) -> tuple[int | None, str]:
    """Run a command in its own process group; past the timeout kill the whole group."""
    with supervised(command, env=_child_env(), stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True, errors="replace") as child:
        try:
            output, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            output, _ = child.communicate()
            return None, output
    return child.returncode, output


def _tail(output: str) -> str:
    return "\n".join(output.strip().splitlines()[-_TAIL_LINES:])


def classify(row: VariantResult, results: dict[str, Any], catalog: Any) -> VariantResult:
    """Fill a row from the plugin's per-test results (--ihub-results)."""
    tests = results.get("tests", [])
    # A fault seen as an assumption mismatch is seen: the reference hub speaks the
    # register's dialect, so leaving it is a deviation the run reports (not a pass).
    failed = [t for t in tests if t.get("outcome") in (*FAILED_OUTCOMES, "mismatch")]
    row.tests_run = len(tests)
    row.failed_tests = sorted(t["nodeid"] for t in failed)
    row.observed = sorted({rid for t in failed for rid in t.get("requirements", [])})
    if row.name == FAITHFUL:
        verdict = build_verdict(results, catalog)
        row.result = PASSED if verdict.passed else FAILED
        if not verdict.passed:
            row.error = "; ".join(
                part for part in (
                    f"broken: {', '.join(verdict.broken)}" if verdict.broken else "",
                    f"unproven MUSTs: {', '.join(verdict.unproven)}" if verdict.unproven else "",
                ) if part
            ) or "no test ran"
        return row
    expected = set(row.expected)
    guesses = set(fault.assumption_ids) if (fault := FAULTS.get(row.name)) else set()
    killers = [t for t in failed if expected & set(t.get("requirements", []))]
    killers += [t for t in tests if t.get("outcome") == "mismatch"
                and guesses & {m.get("assumption") for m in t.get("mismatches", [])}]
    row.killing_tests = sorted(t["nodeid"] for t in killers)
    row.killed_by_schemathesis = any(_is_schemathesis(t) for t in row.killing_tests)
    row.killed_by_hand_written = any(not _is_schemathesis(t) for t in row.killing_tests)
    row.result = KILLED if killers else OFF_TARGET if failed else SURVIVED
    return row


def run_variant(name: str, *, suite: Path, workdir: Path, examples: int,
                hand_written_only: bool, timeout: float, catalog: Any,
                assumptions: str | None = None, targeted: bool = False) -> VariantResult:
    """Run the suite against the reference hub with fault `name` (or none: FAITHFUL).

    targeted: a fault variant runs only the tests that could kill it (those verifying its
    requirement ids or checking its assumption ids); the faithful hub always runs them all.
    """
    fault = FAULTS.get(name)
    row = VariantResult(
        name=name,
        description=fault.description if fault else "the reference hub as it should be",
        expected=list(fault.requirement_ids) if fault else [],
    )
    results_path = workdir / f"{name}.json"
    only = [*fault.requirement_ids, *fault.assumption_ids] if fault and targeted else []
    command = pytest_command(suite, results_path, None if name == FAITHFUL else name,
                             examples=examples, hand_written_only=hand_written_only,
                             assumptions=assumptions, only=only)
    started = time.monotonic()
    code, output = _run_process(command, timeout)
    row.seconds = round(time.monotonic() - started, 2)
    if code is None:
        row.result = ERROR
        row.error = f"timed out after {timeout:g}s (process group killed)"
        return row
    # 5: no test selected (a targeted variant no test verifies): classified as survived.
    if code not in (0, 1, 5) or not results_path.is_file():
        row.result = ERROR
        row.error = f"pytest exit {code}: {_tail(output)}"
        return row
    return classify(row, json.loads(results_path.read_text(encoding="utf-8")), catalog)


def run_all(names: Sequence[str], *, jobs: int, examples: int, hand_written_only: bool,
            timeout: float, progress: bool = True, assumptions: str | None = None,
            targeted: bool = False) -> list[VariantResult]:
    """The faithful hub and every named fault, `jobs` processes at a time."""
    catalog = load_catalog("v1")
    suite = suite_path()
    order = [FAITHFUL, *names]
    with tempfile.TemporaryDirectory(prefix="ihub-mutants-") as tmp:
        def one(name: str) -> VariantResult:
            row = run_variant(name, suite=suite, workdir=Path(tmp), examples=examples,
                              hand_written_only=hand_written_only, timeout=timeout,
                              catalog=catalog, assumptions=assumptions, targeted=targeted)
            if progress:
                print(f"  {row.name:<32} {row.result:<20} {row.seconds:6.1f}s", flush=True)
            return row

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            try:
                return list(pool.map(one, order))
            except BaseException:  # interrupted: end every running variant, start no more
                pool.shutdown(wait=False, cancel_futures=True)
                stop_all()
                raise


# -- output -------------------------------------------------------------------------------


def _short(ids: Sequence[str], limit: int = 60) -> str:
    text = ",".join(ids) or "-"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _killers(row: VariantResult) -> str:
    if row.name == FAITHFUL or not row.killing_tests:
        return ""
    hand = sum(not _is_schemathesis(t) for t in row.killing_tests)
    st = len(row.killing_tests) - hand
    parts = [f"{hand} hand-written"] if hand else []
    parts += [f"{st} schemathesis"] if st else []
    first = row.killing_tests[0].rsplit("/", 1)[-1]
    return f"{' + '.join(parts)} (e.g. {first})"


def render_table(rows: Sequence[VariantResult], *, mode: str) -> str:
    """The kill table, faithful hub first, as plain text."""
    lines = [f"Kill table ({mode}); a variant counts as killed only when a failing test "
             "verifies one of its own requirement ids", ""]
    header = f"{'variant':<32} {'result':<20} {'time':>6}  {'expected':<24} observed failing ids"
    lines += [header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row.name:<32} {row.result:<20} {row.seconds:5.1f}s  "
                     f"{_short(row.expected, 24):<24} {_short(row.observed)}")
        lines.append(f"    {row.description}")
        detail = row.error or _killers(row)
        if detail:
            lines.append(f"    -> {detail}")
    return "\n".join(lines)


def summary(rows: Sequence[VariantResult]) -> tuple[bool, str]:
    faithful = [r for r in rows if r.name == FAITHFUL]
    variants = [r for r in rows if r.name != FAITHFUL]
    bad = [r for r in variants if r.result != KILLED]
    only_st = [r.name for r in variants if r.result == KILLED and not r.killed_by_hand_written]
    faithful_ok = bool(faithful) and faithful[0].result == PASSED
    lines = [f"{len(variants) - len(bad)}/{len(variants)} variants killed on target; "
             f"faithful hub: {faithful[0].result if faithful else 'not run'}"
             + (f" ({faithful[0].tests_run} tests)" if faithful else "")]
    if only_st:
        lines.append(f"killed only by schemathesis tests: {', '.join(only_st)}")
    if bad:
        lines.append("NOT KILLED: " + ", ".join(f"{r.name} ({r.result})" for r in bad))
    if not faithful_ok and faithful:
        lines.append(f"FAITHFUL HUB DOES NOT PASS: {faithful[0].error}")
    return faithful_ok and not bad, "\n".join(lines)


def report_document(rows: Sequence[VariantResult], *, mode: str, examples: int,
                    jobs: int, ok: bool, seconds: float) -> dict[str, Any]:
    return {
        "tool": "ihub-conformance", "kind": "mutants", "mode": mode,
        "schemathesisExamples": None if mode == "hand-written only" else examples,
        "jobs": jobs, "ok": ok, "seconds": round(seconds, 2),
        "survivors": [r.name for r in rows if r.name != FAITHFUL and r.result != KILLED],
        "rows": [asdict(r) for r in rows],
    }

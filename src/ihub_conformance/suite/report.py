"""The verdict of a conformance run: conformance.json and report.md.

Input: the per-test outcomes the plugin wrote (``--ihub-results``) and the
requirement catalog. Every catalog requirement gets a status:

- ``failed``     some test verifying it failed or errored on a source statement;
- ``assumption_mismatch`` none failed, but some test met a hub answer that
                 contradicts a register guess (not the source);
- ``passed``     at least one of its tests passed and none failed or mismatched;
- ``unverifiable`` none passed; the hub gives no way to observe it (reasons listed);
- ``skipped``    it has tests in this run, all skipped (e.g. read-only, no unbound key);
- ``not_tested`` no test in this run verifies it (gate/config/documentation, or -k).

Verdict ``pass``: no test failed, no assumption mismatched, and every MUST of
kind ``behaviour`` passed or is unverifiable on this hub (listed with the
reason): a run that could not prove one (skipped, deselected) is not a pass.
``assumption_mismatch``: nothing broke a source statement but the hub differs
from register guesses: calibrate and run again. ``fail`` otherwise.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ihub_conformance import __version__
from ihub_conformance._paths import contracts_dir
from ihub_conformance.contract.catalog import Catalog
from ihub_conformance.suite.attribution import CALIBRATE_HINT

FAILED_OUTCOMES = ("failed", "error")
TEST_OUTCOMES = ("passed", "failed", "error", "mismatch", "unverifiable", "skipped")
REQUIREMENT_STATUSES = ("passed", "failed", "assumption_mismatch", "unverifiable", "skipped",
                        "not_tested")
SCHEMA_FILE = "conformance.schema.json"
_REPORT_MESSAGE = 600


@dataclass(frozen=True)
class Verdict:
    document: dict[str, Any]

    @property
    def passed(self) -> bool:
        return self.document["verdict"] == "pass"

    @property
    def broken(self) -> list[str]:
        return list(self.document["brokenRequirements"])

    @property
    def unproven(self) -> list[str]:
        return list(self.document["unprovenRequirements"])

    @property
    def mismatches(self) -> list[dict[str, Any]]:
        return list(self.document["assumptionMismatches"])

    @property
    def unverifiable(self) -> list[str]:
        return [r["id"] for r in self.document["requirements"] if r["status"] == "unverifiable"]


def _stamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(outcomes: list[str]) -> str:
    """A requirement's status from its tests' outcomes: a broken source statement
    outranks a wrong guess, which outranks anything a passing test proved."""
    if not outcomes:
        return "not_tested"
    if any(o in FAILED_OUTCOMES for o in outcomes):
        return "failed"
    if "mismatch" in outcomes:
        return "assumption_mismatch"
    if "passed" in outcomes:
        return "passed"
    return "unverifiable" if "unverifiable" in outcomes else "skipped"


def _requirement(req: Any, mine: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": req.id,
        "level": req.level,
        "area": req.area,
        "kind": req.kind,
        "title": req.title,
        "quote": req.quote,
        "status": _status([t["outcome"] for t in mine]),
        "tests": [t["nodeid"] for t in mine],
        "assumptions": sorted({a for t in mine for a in t.get("assumptions", [])}),
        "failures": [{"test": t["nodeid"], "message": t.get("message", "")}
                     for t in mine if t["outcome"] in FAILED_OUTCOMES],
        "skipReasons": sorted({t.get("message", "") for t in mine
                                if t["outcome"] == "skipped"}),
        "unverifiableReasons": sorted({t.get("message", "").removeprefix("unverifiable: ")
                                        for t in mine if t["outcome"] == "unverifiable"}),
    }


def _mismatches(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (assumption, expected, observed), with the tests that met it."""
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for test in tests:
        for found in test.get("mismatches", []):
            key = (found["assumption"], found["expected"], found["observed"])
            entry = grouped.setdefault(key, {
                "assumption": key[0], "expected": key[1], "observed": key[2],
                "details": [], "tests": [], "requirements": []})
            for name, value in (("details", found.get("detail", "")),
                                ("tests", test["nodeid"])):
                if value and value not in entry[name]:
                    entry[name].append(value)
            for rid in test.get("requirements", []):
                if rid not in entry["requirements"]:
                    entry["requirements"].append(rid)
    return sorted(grouped.values(), key=lambda m: (m["assumption"], m["expected"]))


def _verdict(tests: list[dict[str, Any]], broken: list[str], unproven: list[str],
             mismatches: list[dict[str, Any]]) -> str:
    """pass | fail | assumption_mismatch (no broken source statement, but guesses
    of ours the hub contradicts: calibrate, then run again)."""
    if broken or any(t["outcome"] in FAILED_OUTCOMES for t in tests):
        return "fail"
    if mismatches:
        return "assumption_mismatch"
    return "fail" if unproven or not tests else "pass"


def build_verdict(results: dict[str, Any], catalog: Catalog) -> Verdict:
    """conformance.json's content from the plugin's results and the catalog."""
    tests = results.get("tests", [])
    by_req: dict[str, list[dict[str, Any]]] = {}
    for test in tests:
        for rid in test.get("requirements", []):
            by_req.setdefault(rid, []).append(test)
    requirements = [_requirement(req, by_req.get(req.id, [])) for req in catalog]
    counts: dict[str, Any] = {name: sum(1 for t in tests if t["outcome"] == name)
                              for name in TEST_OUTCOMES}
    counts["tests"] = len(tests)
    counts["requirements"] = {name: sum(1 for r in requirements if r["status"] == name)
                              for name in REQUIREMENT_STATUSES}
    broken = [r["id"] for r in requirements if r["status"] == "failed"]
    unproven = [r["id"] for r in requirements if r["level"] == "MUST"
                and r["kind"] == "behaviour" and r["status"] in ("skipped", "not_tested")]
    mismatches = _mismatches(tests)
    verdict = _verdict(tests, broken, unproven, mismatches)
    started, finished = results.get("started"), results.get("finished")
    document = {
        "tool": "ihub-conformance",
        "toolVersion": __version__,
        "kind": "conformance",
        "contract": results.get("contract", catalog.contract),
        "verdict": verdict,
        "target": {"mode": results.get("mode"), "url": results.get("url")},
        "runId": results.get("run_id"),
        "allowWrites": bool(results.get("allow_writes")),
        "exitCode": 0 if verdict == "pass" else 1,
        "faults": list(results.get("faults", [])),
        "assumptionsFile": results.get("assumptions_file"),
        "startedAt": _stamp(started),
        "finishedAt": _stamp(finished),
        "durationSeconds": round((finished or 0) - (started or 0), 3),
        "requests": int(results.get("requests", 0)),
        "counts": counts,
        "brokenRequirements": broken,
        "unprovenRequirements": unproven,
        "assumptionMismatches": mismatches,
        "calibrate": CALIBRATE_HINT if mismatches else None,
        "requirements": requirements,
        "written": list(results.get("written", [])),
    }
    return Verdict(document)


def schema_path() -> Path:
    return contracts_dir() / "reports" / SCHEMA_FILE


def schema_violations(document: dict[str, Any]) -> list[str]:
    """conformance.json checked against contracts/reports/conformance.schema.json."""
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    errors = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in errors.iter_errors(document)]


# -- report.md ----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# A failure keeps its reproduction (request, answer, curl, rerun command).
_FAILURE_MESSAGE = 5000


def _clip(text: str, limit: int = _REPORT_MESSAGE) -> str:
    """Both ends of a long message: what failed opens it, the reproduction closes it."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head, tail = text[:limit // 3], text[-(2 * limit) // 3:]
    return f"{head}\n…\n{tail}"


_VERDICT_WORDS = {
    "pass": "the hub is conformant",
    "fail": "the hub is not proven conformant",
    "assumption_mismatch": "no source statement is broken, but the hub contradicts "
                           "guesses of the assumption register: calibrate and run again",
}
_MATRIX_ORDER = ("failed", "assumption_mismatch", "skipped", "unverifiable", "passed",
                 "not_tested")


def _mismatch_lines(document: dict[str, Any]) -> list[str]:
    """Where the hub differs from a guess of ours: not a broken requirement."""
    mismatches = document["assumptionMismatches"]
    if not mismatches:
        return []
    lines = ["", "## Assumption mismatches", "",
             "The hub answered differently from choices of the assumption register "
             "(contracts/v1/assumptions.yaml), where the source document is silent. "
             "These are not broken requirements: " + document["calibrate"] + ".", "",
             "| Assumption | Expected | Observed | Where | Requirements | Tests |",
             "|---|---|---|---|---|---|"]
    for found in mismatches:
        lines.append(
            f"| {found['assumption']} | `{_cell(_clip(found['expected'], 80))}` | "
            f"`{_cell(_clip(found['observed'], 80))}` | "
            f"{_cell('; '.join(found['details']))} | {', '.join(found['requirements'])} | "
            f"{len(found['tests'])} |")
    return lines


def _unverifiable_lines(document: dict[str, Any]) -> list[str]:
    reqs = [r for r in document["requirements"] if r["status"] == "unverifiable"]
    if not reqs:
        return []
    lines = ["", "## Requirements this hub gives no way to observe", ""]
    for req in reqs:
        why = "; ".join(_clip(m, 200) for m in req["unverifiableReasons"])
        lines.append(f"- **{req['id']}** ({req['level']}) {req['title']} — {why}")
    return lines


def render_markdown(document: dict[str, Any]) -> str:
    """The requirement matrix, broken requirements first, readable on its own."""
    target = document["target"]
    counts = document["counts"]
    lines = [
        f"# Inter-Hub conformance report — contract {document['contract']}",
        "",
        f"**Verdict: {document['verdict'].upper()}** — {_VERDICT_WORDS[document['verdict']]}",
        "",
        f"- Target: {target['mode']}" + (f" `{target['url']}`" if target.get("url") else ""),
        f"- Run id: `{document['runId']}`  (started {document['startedAt']}, "
        f"{document['durationSeconds']} s, {document['requests']} requests)",
        f"- Tests: {counts['tests']} — {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} errors, {counts['mismatch']} assumption mismatches, "
        f"{counts['unverifiable']} unverifiable, {counts['skipped']} skipped",
        "- Requirements: " + ", ".join(f"{n} {k.replace('_', ' ')}"
                                       for k, n in counts["requirements"].items()),
    ]
    if document["faults"]:
        lines.append(f"- Reference hub faults switched on: {', '.join(document['faults'])}")
    reqs = {r["id"]: r for r in document["requirements"]}
    lines += _mismatch_lines(document)
    if document["brokenRequirements"]:
        lines += ["", "## Broken requirements", ""]
        for rid in document["brokenRequirements"]:
            req = reqs[rid]
            lines += [f"### {rid} ({req['level']}) — {req['title']}", "",
                      f"> {req['quote']}", ""]
            for failure in req["failures"]:
                lines += [f"- `{failure['test']}`", "", "  ```",
                          *[f"  {line}" for line in
                            _clip(failure["message"], _FAILURE_MESSAGE).splitlines()],
                          "  ```"]
            lines.append("")
    if document["unprovenRequirements"]:
        lines += ["", "## MUST requirements not proven by this run", ""]
        for rid in document["unprovenRequirements"]:
            req = reqs[rid]
            why = ("skipped: " + "; ".join(_clip(m, 160) for m in req["skipReasons"])
                   if req["status"] == "skipped" else "no test of this run verifies it")
            lines.append(f"- **{rid}** {req['title']} — {why}")
    lines += _unverifiable_lines(document)
    lines += ["", "## Requirement matrix", "",
              "| Requirement | Level | Kind | Status | Tests | Title |",
              "|---|---|---|---|---|---|"]
    order = {status: n for n, status in enumerate(_MATRIX_ORDER)}
    for req in sorted(document["requirements"], key=lambda r: order[r["status"]]):
        lines.append(f"| {req['id']} | {req['level']} | {req['kind']} | {req['status']} | "
                     f"{len(req['tests'])} | {_cell(req['title'])} |")
    lines += ["", "`not_tested` requirements of kind config/documentation are checked by "
              "`ihub-conformance gate` and the contract tests, not against a hub.", ""]
    written = document["written"]
    lines += ["## Objects written by this run", "", *_written_lines(document, written)]
    return "\n".join(lines) + "\n"


def _written_lines(document: dict[str, Any], written: list[dict[str, Any]]) -> list[str]:
    if written and document["target"]["mode"] == "reference":
        kinds = Counter(w["kind"] for w in written)  # a throw-away hub: counts say enough
        return [f"{len(written)} objects (" + ", ".join(
            f"{n} {kind}" for kind, n in sorted(kinds.items())) + ") on the reference hub, "
            "discarded with it; every one is listed in conformance.json."]
    if written:
        return [f"{len(written)} objects, none deleted (names and metadata carry the "
                f"run id `{document['runId']}`):", "",
                *[f"- {w['kind']} `{w['id']}` {w['name']!r}" for w in written]]
    return ["None."]


def write_reports(verdict: Verdict, report_dir: Path) -> tuple[Path, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / "conformance.json"
    _write_whole(json_path, json.dumps(verdict.document, indent=2) + "\n")
    md_path = report_dir / "report.md"
    _write_whole(md_path, render_markdown(verdict.document))
    return json_path, md_path


def _write_whole(path: Path, text: str) -> None:
    """Write via a temporary file and a rename: a signal never leaves half a report."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)

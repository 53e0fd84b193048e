"""The verdict of a conformance run: conformance.json and report.md.

Input: the per-test outcomes the plugin wrote (``--ihub-results``) and the
requirement catalog. Every catalog requirement gets a status:

- ``failed``     some test verifying it failed or errored;
- ``passed``     at least one of its tests passed and none failed;
- ``skipped``    it has tests in this run, all skipped (e.g. read-only, no unbound key);
- ``not_tested`` no test in this run verifies it (gate/config/documentation, or -k).

The hub is conformant (verdict ``pass``) when no test failed and every MUST of
kind ``behaviour`` passed: a run that could not prove one (skipped, deselected)
is not a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ihub_conformance import __version__
from ihub_conformance._paths import contracts_dir
from ihub_conformance.contract.catalog import Catalog

FAILED_OUTCOMES = ("failed", "error")
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


def _stamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(outcomes: list[str]) -> str:
    if not outcomes:
        return "not_tested"
    if any(o in FAILED_OUTCOMES for o in outcomes):
        return "failed"
    if "passed" in outcomes:
        return "passed"
    return "skipped"


def build_verdict(results: dict[str, Any], catalog: Catalog) -> Verdict:
    """conformance.json's content from the plugin's results and the catalog."""
    tests = results.get("tests", [])
    by_req: dict[str, list[dict[str, Any]]] = {}
    for test in tests:
        for rid in test.get("requirements", []):
            by_req.setdefault(rid, []).append(test)
    requirements = []
    for req in catalog:
        mine = by_req.get(req.id, [])
        status = _status([t["outcome"] for t in mine])
        requirements.append({
            "id": req.id,
            "level": req.level,
            "area": req.area,
            "kind": req.kind,
            "title": req.title,
            "quote": req.quote,
            "status": status,
            "tests": [t["nodeid"] for t in mine],
            "failures": [{"test": t["nodeid"], "message": t.get("message", "")}
                         for t in mine if t["outcome"] in FAILED_OUTCOMES],
            "skipReasons": sorted({t.get("message", "") for t in mine
                                    if t["outcome"] == "skipped"}),
        })
    counts = {name: sum(1 for t in tests if t["outcome"] == name)
              for name in ("passed", "failed", "error", "skipped")}
    counts["tests"] = len(tests)
    req_counts = {name: sum(1 for r in requirements if r["status"] == name)
                  for name in ("passed", "failed", "skipped", "not_tested")}
    broken = [r["id"] for r in requirements if r["status"] == "failed"]
    unproven = [r["id"] for r in requirements if r["level"] == "MUST"
                and r["kind"] == "behaviour" and r["status"] in ("skipped", "not_tested")]
    failed_tests = counts["failed"] + counts["error"]
    verdict = "pass" if not failed_tests and not broken and not unproven and tests else "fail"
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
        "startedAt": _stamp(started),
        "finishedAt": _stamp(finished),
        "durationSeconds": round((finished or 0) - (started or 0), 3),
        "requests": int(results.get("requests", 0)),
        "counts": {**counts, "requirements": req_counts},
        "brokenRequirements": broken,
        "unprovenRequirements": unproven,
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


def _clip(text: str, limit: int = _REPORT_MESSAGE) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def render_markdown(document: dict[str, Any]) -> str:
    """The requirement matrix, broken requirements first, readable on its own."""
    target = document["target"]
    counts = document["counts"]
    lines = [
        f"# Inter-Hub conformance report — contract {document['contract']}",
        "",
        f"**Verdict: {document['verdict'].upper()}**"
        + (" — the hub is conformant" if document["verdict"] == "pass"
           else " — the hub is not proven conformant"),
        "",
        f"- Target: {target['mode']}" + (f" `{target['url']}`" if target.get("url") else ""),
        f"- Run id: `{document['runId']}`  (started {document['startedAt']}, "
        f"{document['durationSeconds']} s, {document['requests']} requests)",
        f"- Tests: {counts['tests']} — {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} errors, {counts['skipped']} skipped",
        "- Requirements: " + ", ".join(f"{n} {k.replace('_', ' ')}"
                                       for k, n in counts["requirements"].items()),
    ]
    if document["faults"]:
        lines.append(f"- Reference hub faults switched on: {', '.join(document['faults'])}")
    reqs = {r["id"]: r for r in document["requirements"]}
    if document["brokenRequirements"]:
        lines += ["", "## Broken requirements", ""]
        for rid in document["brokenRequirements"]:
            req = reqs[rid]
            lines += [f"### {rid} ({req['level']}) — {req['title']}", "",
                      f"> {req['quote']}", ""]
            for failure in req["failures"]:
                lines += [f"- `{failure['test']}`", "", "  ```",
                          *[f"  {line}" for line in _clip(failure["message"]).splitlines()],
                          "  ```"]
            lines.append("")
    if document["unprovenRequirements"]:
        lines += ["", "## MUST requirements not proven by this run", ""]
        for rid in document["unprovenRequirements"]:
            req = reqs[rid]
            why = ("skipped: " + "; ".join(_clip(m, 160) for m in req["skipReasons"])
                   if req["status"] == "skipped" else "no test of this run verifies it")
            lines.append(f"- **{rid}** {req['title']} — {why}")
    lines += ["", "## Requirement matrix", "",
              "| Requirement | Level | Kind | Status | Tests | Title |",
              "|---|---|---|---|---|---|"]
    order = {"failed": 0, "skipped": 1, "passed": 2, "not_tested": 3}
    for req in sorted(document["requirements"], key=lambda r: order[r["status"]]):
        lines.append(f"| {req['id']} | {req['level']} | {req['kind']} | {req['status']} | "
                     f"{len(req['tests'])} | {_cell(req['title'])} |")
    lines += ["", "`not_tested` requirements of kind config/documentation are checked by "
              "`ihub-conformance gate` and the contract tests, not against a hub.", ""]
    written = document["written"]
    lines += ["## Objects written by this run", ""]
    if written:
        lines += [f"{len(written)} objects, none deleted (names and metadata carry the "
                  f"run id `{document['runId']}`):", ""]
        lines += [f"- {w['kind']} `{w['id']}` {w['name']!r}" for w in written]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def write_reports(verdict: Verdict, report_dir: Path) -> tuple[Path, Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / "conformance.json"
    json_path.write_text(json.dumps(verdict.document, indent=2) + "\n", encoding="utf-8")
    md_path = report_dir / "report.md"
    md_path.write_text(render_markdown(verdict.document), encoding="utf-8")
    return json_path, md_path

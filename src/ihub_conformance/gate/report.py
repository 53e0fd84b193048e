"""The gate's outputs: gate.json (schema contracts/reports/gate.schema.json), gate.md, junit.xml.

Every text written or printed passes a last redaction step: should the key
ever reach a string, it leaves as its redacted preview, never in clear.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ihub_conformance import __version__
from ihub_conformance.gate import _deps
from ihub_conformance.gate.model import FALLBACK
from ihub_conformance.gate.runner import GateResult
from ihub_conformance.hub.policy import summarise_planned
from ihub_conformance.secrets.scrub import Scrubber

SCHEMA_ID = "https://ihub-conformance.invalid/contracts/reports/gate.schema.json"
_MARK = {"pass": "PASS", "fail": "FAIL", "blocked": "BLOCKED"}


def scrub(text: str, key: str | None) -> str:
    """Every spelling of the key (secrets.scrub) replaced with its redacted preview."""
    if not key:
        return text
    return Scrubber({key: _deps.redact(key)}).text(text)


def to_json(result: GateResult) -> dict[str, Any]:
    fallback = result.outcomes.get(FALLBACK)
    return {
        "$schema": SCHEMA_ID,
        "tool": "ihub-conformance", "toolVersion": __version__, "kind": "gate",
        "runId": result.run_id, "startedAt": result.started_at,
        "finishedAt": result.finished_at,
        "target": {"mode": result.target_mode, "url": result.target_url},
        "readOnly": result.read_only, "required": list(result.required),
        "verdict": result.verdict, "exitCode": result.exit_code,
        "unreachable": result.unreachable, "stopped": result.stopped,
        "mapping": result.mapping_source, "inputs": result.inputs,
        "checks": [o.to_json() for o in result.ordered()],
        "fallbackDecision": fallback.details.get("decision") if fallback else None,
        "writes": result.writes.to_json(),
        "requests": result.requests,
    }


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(result: GateResult) -> str:
    lines = [
        f"# Pre-deploy gate: {result.verdict.upper()} (exit {result.exit_code})", "",
        f"- run id: `{result.run_id}` ({result.started_at} .. {result.finished_at})",
        f"- target: {result.target_mode} {result.target_url or ''}".rstrip(),
        f"- mapping: {result.mapping_source or 'none'}",
        f"- required: {', '.join(result.required)}",
        f"- mode: {'read-only (gate 6 not run)' if result.read_only else 'writes allowed'}",
        f"- writes: {result.writes.to_json()['widgetsCreated']} widgets, "
        f"{result.writes.to_json()['eventsCreated']} events, "
        f"{result.writes.to_json()['rejectedAttempts']} rejected attempts "
        f"(all tagged `{result.run_id}`)",
    ]
    lines.append(f"- requests: {_requests_line(result)}")
    if result.unreachable:
        lines.append(f"- **target unreachable**: {result.unreachable}")
    if result.stopped:
        lines.append(f"- **stopped**: {result.stopped}")
    lines += ["", "Statuses: PASS; FAIL (evidence below names what, where, expected, actual); "
              "BLOCKED (a prerequisite is missing). A required check that is not PASS makes "
              "the verdict NO-GO. Exit codes: 0 go, 1 no-go, 2 usage/config or a request/write "
              "budget spent, 3 unreachable."]
    lines += ["", "| check | status | required | summary |", "|---|---|---|---|"]
    for o in result.ordered():
        lines.append(f"| {o.name}: {_md_escape(o.title)} | {_MARK[o.status]} | "
                     f"{'yes' if o.required else 'no'} | {_md_escape(o.summary)} |")
    fallback = result.outcomes.get(FALLBACK)
    if fallback:
        lines += ["", "## State Hub fallback beside the gates", "",
                  str(fallback.details.get("decision", ""))]
    for o in result.ordered():
        lines += ["", f"## {o.name}: {o.title} - {_MARK[o.status]}", "", o.summary or ""]
        if o.evidence:
            lines += ["", "| | what | where | expected | actual |", "|---|---|---|---|---|"]
            for e in sorted(o.evidence, key=lambda e: e.ok):
                lines.append(f"| {'ok' if e.ok else '**FAIL**'} | {_md_escape(e.what)} | "
                             f"`{_md_escape(e.where)}` | {_md_escape(e.expected)} | "
                             f"{_md_escape(e.actual)} |")
        lines += [f"- note: {n}" for n in o.notes]
        for key in ("renamed", "missing", "extra"):
            rows = o.details.get(key) if o.id == "drift" else None
            if rows:
                lines.append(f"- {key}: " + ", ".join(
                    f"{r.get('early', r.get('name'))}"
                    + (f" -> {r['live']}" if "live" in r else
                       f" ({r.get('where')}{', ' + r['note'] if r.get('note') else ''})")
                    for r in rows))
    return "\n".join(lines) + "\n"


def _requests_line(result: GateResult) -> str:
    """Every request the gate sent (the preflight and the State Hub read included)."""
    counted = result.requests
    line = (f"{counted.get('total', 0)} sent ({counted.get('retries', 0)} retries after "
            f"429/503), {counted.get('writes', 0)} of them writes")
    planned = counted.get("plannedWrites") or []
    if planned:
        line += f"; dry run, not sent: {', '.join(summarise_planned(planned))}"
    return line


def to_junit(result: GateResult) -> str:
    suite = ET.Element("testsuite", name="ihub-conformance-gate",
                       tests=str(len(result.outcomes)),
                       failures=str(sum(o.status == "fail" for o in result.outcomes.values())),
                       skipped=str(sum(o.status == "blocked" for o in result.outcomes.values())),
                       timestamp=result.started_at)
    for o in result.ordered():
        case = ET.SubElement(suite, "testcase", classname="gate", name=f"{o.name}: {o.title}")
        body = "\n".join(f"[{'ok' if e.ok else 'FAIL'}] {e.what} @ {e.where}: expected "
                         f"{e.expected}; actual {e.actual}" for e in o.evidence)
        if o.status == "fail":
            ET.SubElement(case, "failure", message=o.summary).text = body
        elif o.status == "blocked":
            # a blocked required gate fails the run; JUnit says so rather than "skipped"
            tag = "failure" if o.required else "skipped"
            ET.SubElement(case, tag, message=f"blocked: {o.summary}").text = body
        ET.SubElement(case, "system-out").text = "\n".join([body, *o.notes])
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(result: GateResult, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        "gate.json": json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n",
        "gate.md": to_markdown(result),
        "junit.xml": to_junit(result),
    }
    paths = []
    for name, text in outputs.items():
        path = directory / name
        path.write_text(scrub(text, result.key), encoding="utf-8")
        paths.append(path)
    result.report_paths = paths
    return paths


def table(result: GateResult) -> str:
    """The compact console table printed at the end of a run."""
    rows = [(o.name, o.status.upper(), "req" if o.required else "-", o.summary)
            for o in result.ordered()]
    width = max(len(r[0]) for r in rows)
    lines = [f"{name:<{width}}  {status:<7}  {req:<3}  {summary[:110]}"
             for name, status, req, summary in rows]
    lines.append(f"requests: {_requests_line(result)}")
    lines.append(f"verdict: {result.verdict} (exit {result.exit_code}); run {result.run_id}")
    return scrub("\n".join(lines), result.key)

"""report.html: the run's verdict as one self-contained page a person opens.

Written by ``run`` beside report.md from the same conformance.json document: no
script, no stylesheet or font to fetch, no extra tool to install. It shows the
verdict, the broken requirements with their source quotes, each failure's message
and reproduction (request, answer, curl line, rerun command), the assumption
mismatches and the requirement matrix. Everything is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

HTML_FILE = "report.html"
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#1b1b1b}
h1{font-size:1.6rem} .verdict{font-size:1.3rem;padding:.6rem 1rem;border-radius:.3rem}
.pass{background:#dff3e0} .fail{background:#fde2e1} .assumption_mismatch{background:#fff3cd}
pre{background:#f5f5f5;padding:.8rem;white-space:pre-wrap;word-break:break-all;font-size:.8rem}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25rem .5rem;font-size:.85rem}
blockquote{border-left:3px solid #999;margin-left:0;padding-left:1rem;color:#444}
"""
_WORDS = {"pass": "PASS: the hub is conformant", "fail": "FAIL: the hub is not conformant",
          "assumption_mismatch": "ASSUMPTION MISMATCH: not proven (calibrate)"}


def render_html(document: dict[str, Any]) -> str:
    """The page for one conformance.json document."""
    verdict = str(document.get("verdict", "fail"))
    target = document.get("target") or {}
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>ihub-conformance {escape(verdict)}</title><style>{_STYLE}</style></head><body>",
        "<h1>Inter-Hub conformance report</h1>",
        f"<p id='verdict' class='verdict {escape(verdict)}'>"
        f"{escape(_WORDS.get(verdict, verdict))}</p>",
        f"<p>contract {escape(str(document.get('contract')))}, {escape(str(target.get('mode')))}"
        f" target {escape(str(target.get('url') or ''))}, run {escape(str(document.get('runId')))}"
        f", {escape(str(document.get('requests')))} requests</p>",
        _counts(document.get("counts") or {}),
        *_broken(document),
        *_mismatches(document),
        *_matrix(document),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _counts(counts: dict[str, Any]) -> str:
    cells = "".join(f"<th>{escape(str(k))}</th><td>{escape(str(v))}</td>"
                    for k, v in counts.items())
    return f"<table id='counts'><tr>{cells}</tr></table>"


def _broken(document: dict[str, Any]) -> list[str]:
    broken = document.get("brokenRequirements") or []
    if not broken:
        return ["<h2 id='broken'>Broken requirements</h2><p>None.</p>"]
    reqs = {r["id"]: r for r in document.get("requirements") or []}
    out = ["<h2 id='broken'>Broken requirements</h2>"]
    for rid in broken:
        req = reqs.get(rid, {})
        out.append(f"<section class='requirement' id='{escape(rid)}'>"
                   f"<h3>{escape(rid)} ({escape(str(req.get('level')))}) "
                   f"{escape(str(req.get('title', '')))}</h3>"
                   f"<blockquote>{escape(str(req.get('quote', '')))}</blockquote>")
        for failure in req.get("failures") or []:
            out.append(f"<details open class='failure'><summary><code>"
                       f"{escape(str(failure.get('test')))}</code></summary>"
                       f"<pre>{escape(str(failure.get('message', '')))}</pre></details>")
        out.append("</section>")
    return out


def _mismatches(document: dict[str, Any]) -> list[str]:
    found = document.get("assumptionMismatches") or []
    if not found:
        return []
    rows = "".join(f"<tr><td>{escape(str(m.get('assumption')))}</td>"
                   f"<td>{escape(str(m.get('expected')))}</td>"
                   f"<td>{escape(str(m.get('observed')))}</td></tr>" for m in found)
    return ["<h2 id='mismatches'>Assumption mismatches</h2>",
            f"<p>{escape(str(document.get('calibrate', '')))}</p>",
            f"<table><tr><th>assumption</th><th>expected</th><th>observed</th></tr>{rows}</table>"]


def _matrix(document: dict[str, Any]) -> list[str]:
    rows = "".join(f"<tr><td>{escape(str(r.get('id')))}</td><td>{escape(str(r.get('level')))}"
                   f"</td><td>{escape(str(r.get('status')))}</td>"
                   f"<td>{escape(str(r.get('title')))}</td></tr>"
                   for r in document.get("requirements") or [])
    return ["<h2 id='matrix'>Requirement matrix</h2>",
            f"<table><tr><th>id</th><th>level</th><th>status</th><th>title</th></tr>{rows}"
            "</table>"]


def write_html(document: dict[str, Any], report_dir: Path) -> Path:
    """Write report.html whole (a temporary file renamed over it)."""
    path = report_dir / HTML_FILE
    partial = path.with_suffix(".html.partial")
    partial.write_text(render_html(document), encoding="utf-8")
    partial.replace(path)
    return path

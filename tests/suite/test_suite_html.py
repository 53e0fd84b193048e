"""report.html opens in a real browser and shows what a person needs (issue 13, item 6).

A deliberately failing reference run writes the page; Debian's headless Chromium
loads it, and the DOM it rendered must show the verdict, the broken requirements
and one failure's reproduction. A screenshot proves it painted. Skips only where
no chromium is installed (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ihub_conformance.suite.html import render_html

pytestmark = pytest.mark.slow
FAULT = "accept_undeclared_event_type"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def failing_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html")
    done = subprocess.run([sys.executable, "-m", "ihub_conformance.cli", "run", "--fault", FAULT,
                           "-k", "manifest_gating", "--report-dir", str(out)],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "report.html" in done.stdout
    return out / "report.html"


def _browser(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           *args, page.as_uri()], capture_output=True, text=True, timeout=120)


def test_the_browser_shows_verdict_broken_requirements_and_a_reproduction(
        failing_report, tmp_path):
    done = _browser(failing_report, tmp_path, "--dump-dom")
    dom = done.stdout
    assert "id=\"verdict\"" in dom, done.stderr[-2000:]
    assert "FAIL: the hub is not conformant" in dom
    assert "id=\"EVT-10\"" in dom and "GATE-06" in dom
    assert "rerun: ihub-conformance run --target reference --fault " + FAULT in dom
    assert "curl -sS -X POST" in dom and "$OPS_HUB_KEY" in dom


def test_the_page_paints(failing_report, tmp_path):
    shot = tmp_path / "shot.png"
    _browser(failing_report, tmp_path, f"--screenshot={shot}", "--window-size=1200,1600")
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_is_self_contained_and_escaped():
    page = render_html({"verdict": "fail", "brokenRequirements": ["EVT-01"],
                        "requirements": [{"id": "EVT-01", "level": "MUST", "title": "t",
                                          "quote": "q", "status": "failed",
                                          "failures": [{"test": "x",
                                                        "message": "<script>alert(1)</script>"}]}]})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page

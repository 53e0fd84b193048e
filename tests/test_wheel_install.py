"""The tool works installed from its wheel, from any directory (issue 13, item 1).

Builds the wheel (`pip wheel`, not editable), installs it into a fresh venv
outside the checkout (pip's cache; PyPI only), and runs `run` (reference and
replay from the shipped cassettes), `gate`, `validate`, `serve`, `calibrate` and
the pytest fixture from a directory that is not the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 600

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv holding only the built wheel and its deps."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(base / "dist"), str(ROOT)], check=True, timeout=INSTALL_TIMEOUT)
    wheel = next((base / "dist").glob("ihub_conformance-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=120)
    bin_dir = base / "venv" / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
                   check=True, timeout=INSTALL_TIMEOUT)
    return bin_dir


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory with no checkout above it."""
    assert not (tmp_path / "pyproject.toml").exists()
    return tmp_path


def _cli(bin_dir: Path, cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPS_HUB_KEY")}
    done = subprocess.run([str(bin_dir / "ihub-conformance"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def test_the_package_is_not_the_checkout(installed: Path, elsewhere: Path) -> None:
    done = subprocess.run([str(installed / "python"), "-c",
                           "import ihub_conformance, sys; print(ihub_conformance.__file__)"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=60, check=True)
    assert str(ROOT) not in done.stdout and "site-packages" in done.stdout


@pytest.mark.parametrize("target", ["reference", "replay"])
def test_run_from_anywhere(installed: Path, elsewhere: Path, target: str) -> None:
    done = _cli(installed, elsewhere, "run", "--target", target, "-k", "test_auth",
                "--report-dir", "out")
    report = json.loads((elsewhere / "out" / "conformance.json").read_text())
    counts = report["counts"]
    assert counts["error"] == 0 and counts["failed"] == 0, done.stdout[-3000:]
    assert counts["passed"] >= 5, done.stdout[-3000:]


def test_record_from_a_wheel_needs_a_cassette_dir(installed: Path, elsewhere: Path) -> None:
    done = _cli(installed, elsewhere, "run", "--record", "-k", "test_auth")
    assert done.returncode == 2 and "--cassette-dir" in done.stderr


def test_gate_and_validate_from_anywhere(installed: Path, elsewhere: Path) -> None:
    mapping = elsewhere / "mapping.json"
    shutil.copy(ROOT / "fixtures" / "mappings" / "ops-hub-widget-mapping.json", mapping)
    assert _cli(installed, elsewhere, "validate", "mapping", str(mapping)).returncode == 0
    done = _cli(installed, elsewhere, "gate", "--mapping", str(mapping), "--report-dir", "g")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    gate = json.loads((elsewhere / "g" / "gate.json").read_text())
    statuses = {check["id"]: check["status"] for check in gate["checks"]}
    assert statuses["2"] == statuses["3"] == "pass", statuses


def test_serve_and_calibrate_from_anywhere(installed: Path, elsewhere: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPS_HUB_KEY", "IHUB_UNBOUND_KEY")}
    child = subprocess.Popen([str(installed / "ihub-conformance"), "serve", "--port", "0",
                              "--quiet"], cwd=elsewhere, stdout=subprocess.PIPE, text=True,
                             env=env)
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(4)]
        assert "listening on" in lines[0], lines
        base = lines[0].rsplit(" ", 1)[1].strip()
        key = next(line.rsplit(" ", 1)[1].strip() for line in lines
                   if line.startswith("generated OPS_HUB_KEY"))
        answer = httpx.get(f"{base}/api/v2/openapi.yaml", timeout=10)
        assert answer.status_code == 200 and "openapi:" in answer.text
        done = subprocess.run([str(installed / "ihub-conformance"), "calibrate", "--target",
                               base, "--out", "site.yaml"], cwd=elsewhere, env={
                                   **env, "OPS_HUB_KEY": key}, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
        assert "Traceback" not in done.stderr and (elsewhere / "site.yaml").is_file()
    finally:
        child.terminate()
        child.wait(timeout=30)


FIXTURE_TEST = '''
def test_reference_fixture(ihub_reference):
    with ihub_reference.client() as http:
        assert http.get("/api/v2/consumer").status_code == 200
'''


def test_pytest_fixture_from_anywhere(installed: Path, elsewhere: Path) -> None:
    (elsewhere / "test_sink.py").write_text(FIXTURE_TEST)
    started = time.monotonic()
    done = subprocess.run([str(installed / "python"), "-m", "pytest", "-q", "-p",
                           "no:cacheprovider", "test_sink.py"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert time.monotonic() - started < 300

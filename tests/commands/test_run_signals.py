"""`run` under signals (issue 16 item 11): SIGTERM or SIGINT to the parent alone ends the
whole process tree within seconds, the exit code says interrupted, and every report file
left behind is whole and holds no key. SIGKILL of the parent still ends its pytest child."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.dom.minidom
from pathlib import Path

import psutil
import pytest

CANARY = "canary-signal-key-7f3a9c"


def _start_run(report_dir: Path, *, until_tests_run: bool
               ) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    env = {**os.environ, "OPS_HUB_KEY": CANARY}
    env.pop("PYTEST_ADDOPTS", None)
    parent = subprocess.Popen([sys.executable, "-m", "ihub_conformance.cli", "run",
                               "--report-dir", str(report_dir), "--examples", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = report_dir / "allure-results"
    deadline = time.monotonic() + 90
    # Until tests run (the tree complete, reports being written; ~20 s on a busy machine),
    # or only until the pytest child exists.
    while time.monotonic() < deadline and parent.poll() is None:
        if until_tests_run and results.is_dir() and len(list(results.glob("*-result.json"))):
            break
        if not until_tests_run and psutil.Process(parent.pid).children():
            time.sleep(1.0)  # let it get going
            break
        time.sleep(0.2)
    assert parent.poll() is None, "the run ended before it could be interrupted"
    tree = psutil.Process(parent.pid).children(recursive=True)
    assert tree, "run started no pytest child"
    return parent, tree


def _alive(tree: list[psutil.Process]) -> list[int]:
    _gone, alive = psutil.wait_procs(tree, timeout=5)
    return [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _reports_whole_and_scrubbed(report_dir: Path) -> None:
    for path in report_dir.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert CANARY.encode() not in data, path
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".xml":
            xml.dom.minidom.parseString(data)  # noqa: S318 - our own report


@pytest.mark.parametrize("sig, code, until_tests_run", [(signal.SIGTERM, 143, True),
                                                        (signal.SIGINT, 130, False)])
def test_a_signal_to_the_parent_ends_the_tree_and_says_interrupted(tmp_path, sig, code,
                                                                   until_tests_run):
    parent, tree = _start_run(tmp_path, until_tests_run=until_tests_run)
    sent = time.monotonic()
    parent.send_signal(sig)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == code, err
    assert time.monotonic() - sent < 15
    assert b"Traceback" not in err and err.decode().strip().startswith("ihub-conformance: int")
    assert _alive(tree) == []
    assert not (tmp_path / "conformance.json").exists()  # no verdict for a run cut short
    _reports_whole_and_scrubbed(tmp_path)


def test_a_killed_parent_takes_its_pytest_child_along(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    parent, tree = _start_run(tmp_path, until_tests_run=False)
    parent.kill()
    parent.wait(10)
    assert _alive(tree) == []

"""`ihub-conformance calibrate`: exit codes, the file it writes, the key it never writes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ihub_conformance.cli import main
from ihub_conformance.contract.assumptions import load_assumptions
from ihub_conformance.reference.server import running_reference_hub

SEED_ADAPTER_SPEC = "00000000-0000-4000-8000-000000000031"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_reference_hub_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hub.yaml"
    with running_reference_hub() as hub:
        monkeypatch.setenv("CALIB_KEY", hub.key)
        code = main(["calibrate", "--target", hub.base_url, "--key-env", "CALIB_KEY",
                     "--allow-writes", "--out", str(out)])
        widgets = hub.client().get("/api/v2/widgets?pageSize=200").json()["data"]
        printed = capsys.readouterr()
        # The file is what run takes: the hub passes every test the file steers.
        run_code = main(["run", "--target", hub.base_url, "--key-env", "CALIB_KEY",
                         "--assumptions", str(out), "--allow-writes", "--report-dir",
                         str(tmp_path / "run"),
                         "-k", "test_pagination or test_registries or adapter_spec"])
    run = json.loads((tmp_path / "run" / "conformance.json").read_text())
    counts = run["counts"]
    assert (counts["failed"], counts["error"], counts["mismatch"]) == (0, 0, 0), run_code
    assert counts["unverifiable"] == 0  # the suggested adapter spec makes WID-04's test run
    assert counts["passed"] > 10 and run["assumptionsFile"]
    assert code == 1  # the default page size and the State Hub stay undetermined
    assert "pagination.default_size" in printed.out and "--state-hub" in printed.out
    loaded = load_assumptions("v1", out)
    defaults = load_assumptions("v1")
    # The reference hub speaks the register's dialect; its seed widgets show an adapter spec
    # (ASM-20), which the register cannot know.
    assert loaded.get("widgets.adapter_spec_id") == SEED_ADAPTER_SPEC
    loaded.values["widgets"]["adapter_spec_id"] = None
    assert loaded.values == defaults.values
    assert hub.key not in out.read_text() + printed.out + printed.err
    mine = [w for w in widgets if w["name"].startswith("ihub-conformance-calibrate-")]
    assert len(mine) == 1 and mine[0]["name"] in out.read_text()


def test_unreachable_target_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CALIB_KEY", "canary-unreachable-key")
    out = tmp_path / "hub.yaml"
    code = main(["calibrate", "--target", f"http://127.0.0.1:{_closed_port()}",
                 "--key-env", "CALIB_KEY", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3 and "unreachable" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["--target", "reference"], "live hub"),
    (["--target", "ftp://x"], "--target"),
    (["--target", "http://127.0.0.1:9", "--key-env", "CALIB_UNSET_KEY"], "CALIB_UNSET_KEY"),
    (["--target", "http://127.0.0.1:9", "--budget", "3"], "--budget"),
])
def test_usage_errors_exit_2(argv: list[str], needle: str, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPS_HUB_KEY", "canary-usage-key")
    monkeypatch.delenv("CALIB_UNSET_KEY", raising=False)
    code = main(["calibrate", *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err

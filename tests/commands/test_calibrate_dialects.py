"""calibrate against the reference hub speaking each example dialect: the file it writes
says what the dialect says (where a hub can show it), and run passes with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ihub_conformance._paths import contracts_dir
from ihub_conformance.cli import main
from ihub_conformance.contract.assumptions import load_assumptions, status_matches
from ihub_conformance.reference.server import running_reference_hub

DIALECTS = sorted((contracts_dir() / "v1" / "dialects").glob("*.yaml"))
# What no hub answer shows: the default page size of a list shorter than it, the State
# Hub (no --state-hub here), the idempotency separator (a client convention).
UNOBSERVABLE = ("pagination.default_size", "state_hub.", "idempotency.")


def _leaves(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict) and prefix + key not in ("stand_ins.consumer",
                                                             "stand_ins.manifest"):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _agrees(key: str, said: Any, found: Any) -> bool:
    if key.startswith("status.") and isinstance(found, int | list):
        codes = found if isinstance(found, list) else [found]
        return all(status_matches(said, code) for code in codes)
    if key == "auth.header" and isinstance(said, str):
        return str(found).lower() == said.lower()  # header names are case-blind
    if key.startswith("errors.") and key != "errors.shape":
        return True  # keys of a shape that does not use them
    return found == said


def _calibrate(dialect: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               then_run: bool = False) -> tuple[Path, dict | None]:
    register = load_assumptions(override=dialect)
    given = yaml.safe_load(dialect.read_text())
    base = tmp_path / "stand-ins.yaml"  # what the user writes for reads the hub lacks
    base.write_text(yaml.safe_dump({"stand_ins": given.get("stand_ins") or {}}))
    out, run = tmp_path / "hub.yaml", None
    with running_reference_hub(assumptions=register) as hub:
        monkeypatch.setenv("CALIB_KEY", hub.key)
        monkeypatch.setenv("IHUB_UNBOUND_KEY", hub.unbound_key)
        code = main(["calibrate", "--target", hub.base_url, "--key-env", "CALIB_KEY",
                     "--allow-writes", "--out", str(out), "--assumptions", str(base)])
        assert code in (0, 1)
        if then_run:
            main(["run", "--target", hub.base_url, "--key-env", "CALIB_KEY", "--assumptions",
                  str(out), "--allow-writes", "--report-dir", str(tmp_path / "run"),
                  "-k", "test_pagination or test_auth or test_widgets or test_registries"])
            run = json.loads((tmp_path / "run" / "conformance.json").read_text())
    return out, run


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda path: path.stem)
def test_calibrate_finds_the_dialect(dialect: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = _calibrate(dialect, tmp_path, monkeypatch)
    said = _leaves(load_assumptions(override=dialect).values)
    found = _leaves(load_assumptions(override=out).values)
    wrong = {key: (value, found.get(key)) for key, value in said.items()
             if not key.startswith(UNOBSERVABLE) and key in found
             and not _agrees(key, value, found[key])}
    assert not wrong, wrong


@pytest.mark.slow
def test_the_calibrated_file_makes_run_pass(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    dialect = next(path for path in DIALECTS if path.stem == "token-results")
    _, run = _calibrate(dialect, tmp_path, monkeypatch, then_run=True)
    assert run is not None
    counts = run["counts"]
    assert (counts["failed"], counts["error"], counts["mismatch"]) == (0, 0, 0), run
    assert counts["passed"] > 20

"""Shared helpers of the gate tests: run the CLI in-process, read its reports, build inputs."""

from __future__ import annotations

import copy
import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ihub_conformance.cli import main

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "fixtures" / "mappings" / "ops-hub-widget-mapping.json"
RUNTIME = ROOT / "fixtures" / "activity-core" / "k8s" / "railiance" / "20-runtime.yaml"
SECRETS = ROOT / "fixtures" / "activity-core" / "k8s" / "railiance" / "10-secrets.yaml"
EXTERNAL = ROOT / "fixtures" / "activity-core" / "k8s" / "railiance" / "30-external-secret.yaml"
BROKEN = ROOT / "fixtures" / "activity-core" / "broken"
SEED = ROOT / "fixtures" / "seed" / "ops-hub.yaml"
GATE_SCHEMA = ROOT / "contracts" / "reports" / "gate.schema.json"


def canary_key() -> str:
    return "canary-" + secrets.token_urlsafe(24)


def use_key(monkeypatch: Any, key: str) -> None:
    """The key in OPS_HUB_KEY and no widget mapping inherited from the environment."""
    monkeypatch.setenv("OPS_HUB_KEY", key)
    monkeypatch.delenv("OPS_HUB_WIDGET_MAPPING", raising=False)


def default_seed() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(SEED.read_text(encoding="utf-8")))


def clean_repo(path: Path) -> Path:
    """A git work tree with one harmless tracked file (staged; ls-files lists it)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "README.md").write_text("# activity-core (test checkout)\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(path), "add", "README.md"], check=True)
    return path


@dataclass
class GateRun:
    code: int
    out: str
    err: str
    report: dict[str, Any]
    files: dict[str, str]

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    def status(self, check_id: str) -> str:
        return self.check(check_id)["status"]

    @property
    def failing(self) -> set[str]:
        return {c["id"] for c in self.report["checks"] if c["status"] == "fail"}

    def failures(self, check_id: str) -> list[dict[str, Any]]:
        return [e for e in self.check(check_id)["evidence"] if not e["ok"]]

    def everything(self) -> str:
        return "\n".join([self.out, self.err, *self.files.values()])


def run_gate_cli(capsys: Any, report_dir: Path, *args: str) -> GateRun:
    code = main(["gate", "--report-dir", str(report_dir), *args])
    captured = capsys.readouterr()
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(report_dir.glob("*"))
             if p.is_file()}
    report = json.loads(files["gate.json"]) if "gate.json" in files else {}
    return GateRun(code, captured.out, captured.err, report, files)


def live_args(hub: Any, *extra: str, runtime: bool = True, scan: Path | None = None,
              writes: bool = True) -> list[str]:
    """Arguments for a run against an already running reference hub as a live URL."""
    # a loopback hub needs no conservative live rate (the default 5/s would only slow tests)
    args = ["--target", hub.base_url, "--state-hub", hub.base_url, "--mapping", str(MAPPING),
            "--rate-limit", "1000/s"]
    if runtime:
        args += ["--runtime-manifest", str(RUNTIME), "--runtime-manifest", str(SECRETS),
                 "--runtime-manifest", str(EXTERNAL)]
    if scan is not None:
        args += ["--scan-repo", str(scan)]
    if writes:
        args.append("--allow-writes")
    return [*args, *extra]

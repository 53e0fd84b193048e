"""Sessions that CI and people run. `nox -l` lists them."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

ROOT = Path(__file__).parent
REPORTS = ROOT / "reports"


def _install(session: nox.Session) -> None:
    session.install("-e", ".[test]")


def _tests(session: nox.Session, *args: str) -> None:
    session.run("ruff", "check", ".")
    # One pytest worker per core (pytest-xdist): the suite spends much of its time waiting on
    # subprocesses and loopback servers, so two workers on two cores nearly halve it.
    session.run("pytest", "-n", "auto", "--dist", "worksteal", *args)


@nox.session
def tests(session: nox.Session) -> None:
    """The project's own tests and lint. Posargs go to pytest."""
    _install(session)
    _tests(session, *session.posargs)


@nox.session(name="contract-diff")
def contract_diff(session: nox.Session) -> None:
    """Refuse a silent contract break: contracts/ against the merge base with main.

    A version directory that exists at the base may change only compatibly; every
    version's generated changelog block must be current. Posargs: a base revision.
    """
    _install(session)
    _contract_diff(session, *session.posargs)


def _contract_diff(session: nox.Session, *args: str) -> None:
    session.run("ihub-conformance", "diff", "--against-base", *args)


@nox.session
def interop(session: nox.Session) -> None:
    """Cross-implementation agreement: Ajv, python-jsonschema, jsonschema-rs and
    check-jsonschema give the tool's verdict on every corpus document (contracts/README.md).
    """
    _install(session)
    _interop(session, *session.posargs)


def _interop(session: nox.Session, *args: str) -> None:
    session.install("rfc3339-validator>=0.1.4")  # python-jsonschema's date-time check
    node = ROOT / ".nox" / "interop-node"  # throwaway; never committed
    session.run("npm", "install", "--prefix", str(node), "--no-audit", "--no-fund",
                "--no-package-lock", "--silent", "ajv@^8.17", "ajv-formats@^3.0",
                external=True)
    session.run("python", "-m", "ihub_conformance.validation.interop",
                "--node-modules", str(node / "node_modules"), *args)


@nox.session
def ci(session: nox.Session) -> None:
    """What .ci/run runs: tests, contract-diff and interop in one venv (one install, not three)."""
    _install(session)
    _tests(session)
    _contract_diff(session)
    _interop(session)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff only."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def conformance(session: nox.Session) -> None:
    """The main job: a conformance run against the embedded reference Inter-Hub."""
    _install(session)
    session.run("ihub-conformance", "run", "--report-dir", str(REPORTS), *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each prints ratios against a baseline measured in the same run."""
    _install(session)
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.log(f"== {script.name}")
        session.run("python", str(script), *session.posargs)


@nox.session
def mutants(session: nox.Session) -> None:
    """Run the suite against every fault variant of the reference hub; print a kill table."""
    _install(session)
    session.run("ihub-conformance", "mutants", *session.posargs)


@nox.session
def gate(session: nox.Session) -> None:
    """The pre-deploy gate (target and inputs via posargs; key from the environment).

    Without posargs: the reference hub with the example mapping and runtime manifests.
    """
    _install(session)
    example = ["--target", "reference",
               "--mapping", "fixtures/mappings/ops-hub-widget-mapping.json",
               "--runtime-manifest", "fixtures/activity-core/k8s/railiance/20-runtime.yaml",
               "--runtime-manifest", "fixtures/activity-core/k8s/railiance/10-secrets.yaml",
               "--runtime-manifest", "fixtures/activity-core/k8s/railiance/30-external-secret.yaml"]
    session.run("ihub-conformance", "gate", "--report-dir", str(REPORTS / "gate"),
                *(session.posargs or example))


@nox.session
def record(session: nox.Session) -> None:
    """Re-record the replay cassettes from the reference hub (or a target in posargs)."""
    _install(session)
    session.run("ihub-conformance", "run", "--record", *session.posargs)


@nox.session(venv_backend="none")
def constraints(session: nox.Session) -> None:
    """Refresh constraints/gate.txt: the pre-deploy gate's pinned dependency versions."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        python = Path(tmp) / "venv" / "bin" / "python"
        session.run("python3", "-m", "venv", str(Path(tmp) / "venv"), external=True)
        session.run(str(python), "-m", "pip", "install", "-q", str(ROOT), external=True)
        frozen = session.run(str(python), "-m", "pip", "freeze", "--exclude",
                             "ihub-conformance", external=True, silent=True)
    header = ("# Pinned versions of ihub-conformance's runtime dependencies for the pre-deploy "
              "gate.\n# Generated by `nox -s constraints` (a fresh venv, `pip install .`, "
              "`pip freeze`); do not edit.\n")
    (ROOT / "constraints" / "gate.txt").write_text(header + str(frozen), encoding="utf-8")


@nox.session
def report(session: nox.Session) -> None:
    """The HTML report: `run` writes reports/report.html (self-contained, no extra tool);
    this re-renders it from reports/conformance.json."""
    _install(session)
    document = REPORTS / "conformance.json"
    if not document.is_file():
        session.error(f"{document} not found: run `nox -s conformance` first")
    session.run("python", "-c", "import json, pathlib, sys; "
                "from ihub_conformance.suite.html import write_html; "
                "p = pathlib.Path(sys.argv[1]); "
                "print(write_html(json.loads(p.read_text()), p.parent))", str(document))

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


@nox.session
def tests(session: nox.Session) -> None:
    """The project's own tests and lint (what .ci/run runs)."""
    _install(session)
    session.run("ruff", "check", ".")
    session.run("pytest", *session.posargs)


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


@nox.session
def report(session: nox.Session) -> None:
    """Render an Allure HTML report from reports/allure-results (needs the allure CLI)."""
    results = REPORTS / "allure-results"
    if not results.is_dir():
        session.error(f"{results} not found: run `nox -s conformance` first")
    session.run("allure", "generate", str(results), "-o", str(REPORTS / "allure-report"),
                "--clean", external=True)

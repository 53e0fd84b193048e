"""Each failure configuration fails the right gate, with the right evidence, and only it."""

from __future__ import annotations

import json
import subprocess

import pytest

from gate_helpers import (
    BROKEN,
    EXTERNAL,
    MAPPING,
    RUNTIME,
    SECRETS,
    GateRun,
    canary_key,
    clean_repo,
    default_seed,
    live_args,
    run_gate_cli,
    use_key,
)
from ihub_conformance.reference.server import running_reference_hub


def _gate_on_own_hub(monkeypatch, capsys, tmp_path, *, seed=None, faults=(),
                     key: str | None = None) -> GateRun:
    """Run the gate against its own reference hub: this seed, these faults, a canary key."""
    key = key or canary_key()
    use_key(monkeypatch, key)
    with running_reference_hub(key=key, seed=seed, faults=frozenset(faults)) as hub:
        return run_gate_cli(capsys, tmp_path / "r", *live_args(hub))


@pytest.mark.requirement("GATE-03")
def test_seed_without_a_mapped_widget_fails_gate_3(tmp_path, capsys, monkeypatch):
    seed = default_seed()
    seed["widgets"] = [w for w in seed["widgets"] if w["name"] != "Railiance backups"]
    key = canary_key()
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, seed=seed, key=key)
    assert run.code == 1
    assert run.failing == {"3"}
    (failure,) = run.failures("3")
    assert failure["what"] == "widget ops-hub/'Railiance backups' missing"
    assert failure["where"].startswith(f"{MAPPING}:") and "#/mappings/4/widget" in failure[
        "where"]
    assert run.check("3")["missing"] == [{"mapping": 4, "widget": "ops-hub/'Railiance backups'"}]
    assert key not in run.everything()


@pytest.mark.requirement("GATE-03")
def test_mapping_naming_a_non_existent_widget_or_wrong_type_fails_gate_3(
        keyed, tmp_path, capsys):
    mapping = json.loads(MAPPING.read_text(encoding="utf-8"))
    mapping["mappings"][1]["widget"] = {"id": "00000000-0000-4000-8000-000000000199"}
    mapping["mappings"][2]["widgetType"] = "ops-service"
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping, indent=2), encoding="utf-8")
    args = live_args(keyed, runtime=False)
    args[args.index(str(MAPPING))] = str(path)
    run = run_gate_cli(capsys, tmp_path / "r", *args,
                       "--require", "1,2,3,4,6,fallback")
    assert run.code == 1
    assert "3" in run.failing and not run.failing & {"1", "2", "4", "6", "fallback"}
    whats = {f["what"]: f for f in run.failures("3")}
    assert "widget id 00000000-0000-4000-8000-000000000199 missing" in whats
    mismatch = whats["widget ops-hub/'Railiance endpoints' does not match the mapping"]
    assert "widgetType 'ops-endpoint' (mapping says 'ops-service')" in mismatch["actual"]


@pytest.mark.requirement("ACS-04", "VOC-11", "GATE-02", "GATE-03")
def test_a_mapping_covering_fewer_first_slice_types_is_reported_by_gates_2_and_3(
        keyed, tmp_path, capsys):
    mapping = json.loads(MAPPING.read_text(encoding="utf-8"))
    mapping["mappings"] = [e for e in mapping["mappings"]
                           if e["eventType"] != "ops-drift-detected"]
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping, indent=2), encoding="utf-8")
    args = live_args(keyed, runtime=False)
    args[args.index(str(MAPPING))] = str(path)
    run = run_gate_cli(capsys, tmp_path / "r", *args, "--require", "1,2,3,4,6")
    assert run.status("2") == run.status("3") == "pass", run.out  # reported only
    for gate in ("2", "3"):
        assert any("covers 3 of the 4" in note and "ops-drift-detected" in note
                   for note in run.check(gate)["notes"]), run.check(gate)["notes"]
    assert any("ops-backup-verified is sent only after" in note and "1 exist" in note
               for note in run.check("3")["notes"])


@pytest.mark.requirement("GATE-02")
def test_manifest_without_a_declared_type_fails_gate_2(tmp_path, capsys, monkeypatch):
    seed = default_seed()
    manifest = seed["manifests"][0]
    manifest["eventTypes"].remove("ops-backup-verified")
    manifest["policyScopes"].remove("ops-registry")
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, seed=seed)
    assert run.code == 1
    assert run.failing == {"2", "drift"}  # drift is reported but not required
    assert run.check("drift")["required"] is False
    missing = run.check("2")["missing"]
    assert missing["eventTypes"] == ["ops-backup-verified"]
    assert missing["policyScopes"] == ["ops-registry"]
    assert missing["widgetTypes"] == [] and missing["annotationCategories"] is False
    assert {f["what"] for f in run.failures("2")} == {
        "event type ops-backup-verified not declared", "policy scope ops-registry not declared"}
    # gate 6 sends only what is declared, and the dropped type is now undeclared -> rejected
    assert run.status("6") == "pass"


@pytest.mark.requirement("GATE-04", "GATE-05", "SEC-01", "SEC-03")
def test_literal_key_in_a_runtime_manifest_fails_gates_4_and_5(keyed, tmp_path, capsys):
    text = RUNTIME.read_text(encoding="utf-8").replace(
        "              valueFrom:\n                secretKeyRef:\n"
        "                  name: activity-core-ops-hub\n                  key: OPS_HUB_KEY\n",
        f"              value: {keyed.key}\n")
    assert keyed.key in text
    manifest = tmp_path / "20-runtime.yaml"
    manifest.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if keyed.key in row)
    args = [*live_args(keyed, runtime=False), "--runtime-manifest", str(manifest),
            "--runtime-manifest", str(SECRETS)]
    run = run_gate_cli(capsys, tmp_path / "r", *args)
    assert run.code == 1
    assert run.failing == {"4", "5"}
    key_findings = [f for f in run.failures("4") if f["what"] == "OPS_HUB_KEY value committed"]
    assert key_findings and key_findings[0]["where"] == f"{manifest}:{line}"
    assert key_findings[0]["actual"].startswith(keyed.key[:4]) and "chars" in key_findings[0][
        "actual"]
    literal = [f for f in run.failures("4") if "literal value" in f["what"]]
    assert literal and literal[0]["where"] == f"{manifest}:{line}"
    assert any("does not come from a Secret" in f["what"] for f in run.failures("5"))
    assert keyed.key not in run.everything()


@pytest.mark.requirement("GATE-04", "SEC-01")
def test_key_committed_in_a_scanned_repository_fails_gate_4(keyed, tmp_path, capsys):
    repo = clean_repo(tmp_path / "activity-core")
    (repo / "deploy.env").write_text(f"INTER_HUB_URL=https://hub\nOPS_HUB_KEY={keyed.key}\n",
                                     encoding="utf-8")
    (repo / "untracked.env").write_text(f"OPS_HUB_KEY={keyed.key}\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "deploy.env"], check=True)
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed, scan=repo))
    assert run.code == 1
    assert run.failing == {"4"}
    wheres = {f["where"] for f in run.failures("4") if f["what"] == "OPS_HUB_KEY value committed"}
    assert wheres == {f"{repo / 'deploy.env'}:2"}  # tracked files only
    assert keyed.key not in run.everything()


@pytest.mark.requirement("GATE-04")
def test_token_like_literal_and_secret_with_value_fail_gate_4(keyed, tmp_path, capsys):
    repo = clean_repo(tmp_path / "activity-core")
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (repo / "ci.sh").write_text(f"export GITHUB_TOKEN={token}\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "ci.sh"], check=True)
    args = [*live_args(keyed, runtime=False, scan=repo), "--runtime-manifest", str(RUNTIME),
            "--runtime-manifest", str(BROKEN / "10-secrets-with-value.yaml")]
    run = run_gate_cli(capsys, tmp_path / "r", *args)
    assert run.failing == {"4"}
    whats = [f["what"] for f in run.failures("4")]
    assert any(w.startswith("token-like literal") for w in whats)
    assert "Secret activity-core-ops-hub carries a value for OPS_HUB_KEY in Git" in whats
    assert token not in run.everything()


@pytest.mark.requirement("GATE-05", "ACS-12")
def test_empty_inter_hub_url_fails_gate_5(keyed, tmp_path, capsys):
    broken = BROKEN / "20-runtime-empty-url.yaml"
    args = [*live_args(keyed, runtime=False), "--runtime-manifest", str(broken),
            "--runtime-manifest", str(SECRETS), "--runtime-manifest", str(EXTERNAL)]
    run = run_gate_cli(capsys, tmp_path / "r", *args)
    assert run.code == 1
    assert run.failing == {"5"}
    (failure,) = run.failures("5")
    line = next(n for n, row in enumerate(broken.read_text().splitlines(), 1)
                if 'INTER_HUB_URL: ""' in row)
    assert failure["what"] == "INTER_HUB_URL is empty"
    assert failure["where"] == f"{broken}:{line}"


@pytest.mark.requirement("GATE-05", "ACS-10", "ACS-12", "ACS-13")
def test_source_placeholders_and_invalid_mapping_name_file_and_line(keyed, tmp_path, capsys):
    placeholders = BROKEN / "20-runtime-placeholders.yaml"
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed, runtime=False),
                       "--runtime-manifest", str(placeholders))
    whats = {f["what"] for f in run.failures("5")}
    assert whats == {"INTER_HUB_URL is empty", "OPS_HUB_WIDGET_MAPPING is empty"}
    # without the Secret manifest the gate says it cannot tell whether the Secret holds a value
    assert any("cannot tell" in n for n in run.check("5")["notes"])

    invalid = BROKEN / "20-runtime-invalid-mapping.yaml"
    rows = invalid.read_text().splitlines()
    run = run_gate_cli(capsys, tmp_path / "r2", *live_args(keyed, runtime=False),
                       "--runtime-manifest", str(invalid), "--runtime-manifest", str(SECRETS),
                       "--runtime-manifest", str(EXTERNAL))
    assert run.failing == {"5"}
    wheres = {f["where"] for f in run.failures("5") if "breaks the contract" in f["what"]}
    event_line = next(n for n, r in enumerate(rows, 1) if "ops-service-observed" in r)
    scope_line = next(n for n, r in enumerate(rows, 1) if "ops-evidence" in r)
    assert f"{invalid}:{event_line}" in wheres and f"{invalid}:{scope_line}" in wheres
    assert any("differs from the mapping the gate checked" in f["what"]
               for f in run.failures("5"))


@pytest.mark.requirement("GATE-05", "SEC-04", "SEC-02")
def test_empty_secret_placeholder_alone_is_not_provisioned(keyed, tmp_path, capsys):
    args = [*live_args(keyed, runtime=False), "--runtime-manifest", str(RUNTIME),
            "--runtime-manifest", str(SECRETS)]
    run = run_gate_cli(capsys, tmp_path / "r", *args)
    assert run.code == 1 and run.failing == {"5"}
    (failure,) = run.failures("5")
    line = next(n for n, row in enumerate(SECRETS.read_text().splitlines(), 1)
                if 'OPS_HUB_KEY: ""' in row)
    assert failure["what"] == ("Secret activity-core-ops-hub key OPS_HUB_KEY is an empty "
                               "placeholder: not provisioned")
    assert failure["where"] == f"{SECRETS}:{line}"
    # with the ExternalSecret from OpenBao beside it the same placeholder is fine
    run = run_gate_cli(capsys, tmp_path / "r2", *args, "--runtime-manifest", str(EXTERNAL))
    assert run.status("5") == "pass"
    provisioned = [e for e in run.check("5")["evidence"]
                   if e["what"] == "Secret activity-core-ops-hub is provisioned out of band"]
    assert provisioned[0]["actual"] == ("ClusterSecretStore/openbao "
                                        "platform/operators/ops-hub/runtime field OPS_HUB_KEY")
    assert provisioned[0]["where"].startswith(f"{EXTERNAL}:")


@pytest.mark.requirement("GATE-05", "ACS-10")
def test_without_runtime_manifests_gate_5_is_blocked(keyed, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INTER_HUB_URL", keyed.base_url)
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", str(MAPPING))
    run = run_gate_cli(capsys, tmp_path / "r", *live_args(keyed, runtime=False))
    assert run.status("5") == "blocked" and run.code == 1
    monkeypatch.delenv("INTER_HUB_URL")
    run = run_gate_cli(capsys, tmp_path / "r2", *live_args(keyed, runtime=False))
    assert run.status("5") == "fail"
    assert run.failures("5")[0]["where"] == "env INTER_HUB_URL"


@pytest.mark.requirement("GATE-06")
def test_hub_accepting_an_undeclared_type_fails_gate_6(tmp_path, capsys, monkeypatch):
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, faults=["accept_undeclared_event_type"])
    assert run.code == 1
    assert run.failing == {"6"}
    whats = {f["what"] for f in run.failures("6")}
    assert "undeclared event type ops-service-observed accepted" in whats
    assert all(f["actual"] == "201" for f in run.failures("6"))
    assert run.report["writes"]["storedByMistake"] == len(run.failures("6"))


@pytest.mark.requirement("FBK-03")
def test_empty_fallback_fails_the_fallback_check(tmp_path, capsys, monkeypatch):
    seed = default_seed()
    seed["progress"] = []
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, seed=seed)
    assert run.code == 0  # the fallback is reported beside the six gates, not required
    assert run.failing == {"fallback"}
    (failure,) = run.failures("fallback")
    assert failure["what"] == "no closure evidence" and failure["actual"] == "an empty list"
    assert run.check("fallback")["closureEvidence"] is False
    assert "no acceptable ops_inventory_probe event" in run.report["fallbackDecision"]
    assert "not decided here" in run.report["fallbackDecision"]
    assert "State Hub fallback" in run.files["gate.md"]


@pytest.mark.requirement("FBK-01", "GATE-07")
def test_the_fallback_counts_only_when_required(tmp_path, capsys, monkeypatch):
    seed = default_seed()
    seed["progress"] = []
    key = canary_key()
    use_key(monkeypatch, key)
    with running_reference_hub(key=key, seed=seed) as hub:
        run = run_gate_cli(capsys, tmp_path / "r", *live_args(hub),
                           "--require", "1,2,3,4,5,6,fallback")
    assert run.code == 1 and run.report["verdict"] == "no-go"
    assert run.failing == {"fallback"} and run.check("fallback")["required"] is True


@pytest.mark.requirement("ACS-05", "FBK-02")
def test_duplicate_fallback_idempotency_keys_fail_the_fallback_check(
        tmp_path, capsys, monkeypatch):
    seed = default_seed()
    first = seed["progress"][0]
    twin = dict(first, id=max(p["id"] for p in seed["progress"]) + 1,
                created_at="2026-06-27T08:05:00Z")
    seed["progress"].append(twin)
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, seed=seed)
    assert run.failing == {"fallback"}
    (failure,) = run.failures("fallback")
    assert failure["what"] == "progress answer breaks the contract"
    assert "duplicate idempotency key" in failure["actual"]
    assert failure["where"].endswith("/idempotency_key")


@pytest.mark.requirement("FBK-02", "SEC-01", "ACS-06")
def test_fallback_detail_leaking_the_key_fails(tmp_path, capsys, monkeypatch):
    key = canary_key()
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, faults=["progress_leaks_secret"], key=key)
    assert run.failing == {"fallback"}
    assert run.failures("fallback")
    assert key not in run.everything()


@pytest.mark.requirement("GATE-01")
def test_counts_as_strings_fail_gate_1(tmp_path, capsys, monkeypatch):
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, faults=["counts_as_strings"])
    assert run.code == 1
    assert run.failing == {"1"}
    failures = run.failures("1")
    assert {f["what"] for f in failures} == {"pagination counts do not decode as integers"}
    assert {f["where"] for f in failures} == {"GET /api/v2/widgets",
                                              "GET /api/v2/interaction-events"}
    assert "totalCount='" in failures[0]["actual"]


@pytest.mark.requirement("GATE-01")
def test_missing_rate_limit_headers_do_not_fail_gate_1(tmp_path, capsys, monkeypatch):
    """'API rate-limit reads' are the hub's counter reads, not response headers (ASM-11)."""
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, faults=["no_rate_limit_headers"])
    assert "1" not in run.failing and run.check("1")["status"] == "pass"
    assert any("X-RateLimit-Limit absent" in note and "ASM-11" in note
               for note in run.check("1")["notes"])


@pytest.mark.requirement("GATE-06")
@pytest.mark.parametrize("fault, failing, what", [
    ("store_rejected_event", {"6"}, "rejected ops-service-observed event was stored anyway"),
    ("actor_type_user", {"6"}, "ops-service-discovered event actorType"),
    ("ignore_event_type_filter", {"6"}, "list filter widgetId+eventType not applied"),
    ("created_200", {"1", "6"}, "widget creation (gate-6 smoke)"),
])
def test_smoke_faults_fail_gate_6(fault, failing, what, tmp_path, capsys, monkeypatch):
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, faults=[fault])
    assert run.code == 1
    assert run.failing == failing
    assert what in {f["what"] for f in run.failures("6")}


@pytest.mark.requirement("ACS-09")
def test_sink_states_that_disagree_with_gate_5_are_noted(tmp_path, capsys, monkeypatch):
    seed = default_seed()
    for row in seed["progress"]:
        if isinstance(row.get("detail"), dict) and "inter_hub_sink" in row["detail"]:
            row["detail"]["inter_hub_sink"] = "missing_inter_hub_config"
    run = _gate_on_own_hub(monkeypatch, capsys, tmp_path, seed=seed)
    assert run.status("5") == "pass"
    assert any("missing_inter_hub_config" in note and "should say inter_hub_sink_deferred"
               in note for note in run.check("fallback")["notes"]), run.check("fallback")

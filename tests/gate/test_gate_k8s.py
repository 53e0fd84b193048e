"""Reading runtime manifests: env sources, lines, Secret data, and JSON pointer lines."""

from __future__ import annotations

import base64

import pytest

from ihub_conformance.gate.k8s import load_runtime_manifests, pointer_line
from ihub_conformance.gate.model import CheckOutcome
from ihub_conformance.gate.runtime_config import (
    activity_core_containers,
    check_runtime_config,
    resolve,
    resolve_mapping,
    runtime_mapping,
)

MANIFEST = """\
apiVersion: v1
kind: Secret
metadata: {{name: ops}}
data:
  OPS_HUB_KEY: {encoded}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg}}
data:
  INTER_HUB_URL: https://hub.example
  OPS_HUB_WIDGET_MAPPING: |
    {{"contract": "v1",
     "mappings": [{{"eventType": "ops-service-discovered"}}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: probe}}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: sidecar
              image: busybox
            - name: core
              envFrom:
                - configMapRef: {{name: cfg}}
              env:
                - name: OPS_HUB_KEY
                  valueFrom:
                    secretKeyRef: {{name: ops, key: OPS_HUB_KEY, optional: true}}
"""


def test_env_sources_resolve_with_file_and_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST.format(encoded=base64.b64encode(b"s3cr3t-value").decode()))
    manifests = load_runtime_manifests([str(path)])
    assert manifests.secrets["ops"].data["OPS_HUB_KEY"].value == "s3cr3t-value"
    (core,) = activity_core_containers(manifests)  # the sidecar carries none of the vars
    assert core.name == "core" and core.workload == "CronJob/probe"
    url = resolve(core, "INTER_HUB_URL", manifests)
    assert url.kind == "configmap" and url.value.value == "https://hub.example"
    assert url.value.where == f"{path}:11"
    mapping = resolve(core, "OPS_HUB_WIDGET_MAPPING", manifests)
    assert mapping.value.line == 13  # the block scalar's text starts after `|`
    key = resolve(core, "OPS_HUB_KEY", manifests)
    assert key.kind == "secret" and key.optional and key.in_manifests
    assert key.where == f"{path}:33"  # the secretKeyRef line
    text = mapping.value.value
    assert pointer_line(text, "/mappings/0/eventType", mapping.value.line) == 14


def test_envfrom_secret_outside_the_manifests_counts_as_a_secret_reference(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("""\
kind: Deployment
metadata: {name: core}
spec:
  template:
    spec:
      containers:
        - name: core
          envFrom:
            - secretRef: {name: provisioned-by-openbao}
""")
    manifests = load_runtime_manifests([str(path)])
    (core,) = manifests.containers
    key = resolve(core, "OPS_HUB_KEY", manifests)
    assert key.kind == "secret" and not key.in_manifests and key.value is None
    assert key.where == f"{path}:9"


def test_pointer_line_unknown_pointer_is_none():
    assert pointer_line('{"a": [1, 2]}', "/b") is None
    assert pointer_line('{"a": [1,\n 2]}', "/a/1") == 2


ALTERNATIVE_KEY = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg}}
data:
  INTER_HUB_URL: https://hub.example
  {key}: |
    {{"contract": "v1", "hub": "ops-hub", "mappings": [{{"eventType": "ops-service-discovered",
     "target": "aggregate", "widget": {{"hub": "ops-hub", "name": "Catalog"}},
     "widgetType": "ops-service-catalog", "policyScope": "ops-production"}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: activity-core}}
spec:
  template:
    spec:
      containers:
        - name: core
          envFrom:
            - configMapRef: {{name: cfg}}
          env:
            - name: OPS_HUB_KEY
              valueFrom:
                secretKeyRef: {{name: ops, key: OPS_HUB_KEY}}
"""


def _gate_5(path) -> CheckOutcome:
    from ihub_conformance.contract.assumptions import load_assumptions
    from ihub_conformance.gate.context import GateConfig, GateContext
    from ihub_conformance.gate.model import WriteLog

    ctx = GateContext(config=GateConfig(runtime_manifests=[str(path)]),
                      assumptions=load_assumptions(), run_id="t", writes=WriteLog("t"))
    ctx.manifests = load_runtime_manifests([str(path)])
    return check_runtime_config(ctx)


@pytest.mark.requirement("ACS-10", "ACS-11", "GATE-05")
@pytest.mark.parametrize("key", ["widget_mapping", "capability_mapping"])
def test_the_mapping_under_either_config_key_reaches_activity_core(tmp_path, key):
    path = tmp_path / "runtime.yaml"
    path.write_text(ALTERNATIVE_KEY.format(key=key))
    manifests = load_runtime_manifests([str(path)])
    (core,) = activity_core_containers(manifests)
    name, source = resolve_mapping(core, manifests)
    assert name == key and source.kind == "configmap"
    assert runtime_mapping(manifests).entries
    outcome = _gate_5(path)
    mapping_lines = [e for e in outcome.evidence if "mapping" in e.what.lower()
                     or key in e.what]
    assert mapping_lines and all(e.ok for e in mapping_lines), outcome.evidence


@pytest.mark.requirement("ACS-10", "ACS-11", "GATE-05")
def test_a_mapping_under_no_key_fails_gate_5_naming_all_three(tmp_path):
    path = tmp_path / "runtime.yaml"
    path.write_text(ALTERNATIVE_KEY.format(key="some_other_mapping"))
    outcome = _gate_5(path)
    missing = [e for e in outcome.failures if "OPS_HUB_WIDGET_MAPPING" in e.what]
    assert missing and "widget_mapping" in missing[0].expected \
        and "capability_mapping" in missing[0].expected

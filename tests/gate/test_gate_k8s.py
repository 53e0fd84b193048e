"""Reading runtime manifests: env sources, lines, Secret data, and JSON pointer lines."""

from __future__ import annotations

import base64

from ihub_conformance.gate.k8s import load_runtime_manifests, pointer_line
from ihub_conformance.gate.runtime_config import activity_core_containers, resolve

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

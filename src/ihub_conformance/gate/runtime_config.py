"""Gate 5: INTER_HUB_URL, OPS_HUB_KEY and OPS_HUB_WIDGET_MAPPING reach activity-core.

Read from the runtime manifests (Deployment env, ConfigMaps, Secrets): each is
present and non-empty, the key comes through a Secret reference, and the
mapping is valid against the contract. Every defect is named with file:line.

A Secret manifest in Git carries no value (gate 4 fails one that does): the key
is provisioned out of band, preferably from OpenBao platform/operators/ops-hub/runtime,
field OPS_HUB_KEY. The gate accepts what it can see: an ExternalSecret among the
manifests that fills the Secret's key passes (an empty placeholder Secret beside
it is fine). A Secret among the manifests whose key is an empty placeholder and
that nothing fills - what bootstrap-secrets.sh leaves behind - is "not
provisioned" and fails. A Secret not among the manifests cannot be judged; the
gate says so in a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ihub_conformance.errors import InputError
from ihub_conformance.gate import _deps
from ihub_conformance.gate.context import GateContext
from ihub_conformance.gate.inputs import (
    MAPPING_ENV,
    WRAPPER_KEYS,
    MappingInput,
    parse_mapping_text,
)
from ihub_conformance.gate.k8s import Container, Located, RuntimeManifests, pointer_line
from ihub_conformance.gate.model import CheckOutcome
from ihub_conformance.hub.target import http_url_problem

URL_VAR = "INTER_HUB_URL"
KEY_VAR = "OPS_HUB_KEY"
RUNTIME_VARS = (URL_VAR, KEY_VAR, MAPPING_ENV)
# ACS-10/11: activity-core takes the mapping from the environment variable or from either
# config key; gate 5 accepts any of them (the environment variable first).
MAPPING_KEYS = (MAPPING_ENV, *WRAPPER_KEYS)
OPENBAO_PATH = "platform/operators/ops-hub/runtime"


@dataclass
class Source:
    """Where one variable's value comes from in the manifests."""

    kind: str  # literal | configmap | secret | missing | unresolved | other
    where: str
    value: Located | None = None
    ref: str = ""  # "Secret/name key" or "ConfigMap/name key"
    optional: bool = False
    in_manifests: bool = False
    name: str = ""  # the Secret/ConfigMap name
    field: str = ""  # the key inside it


def resolve(container: Container, var: str, manifests: RuntimeManifests) -> Source:
    """Follow env / valueFrom / envFrom to the value of `var` (the last env entry wins)."""
    entries = [e for e in container.env if e.name == var]
    if entries:
        entry = entries[-1]
        if entry.value is not None and not entry.value_from:
            return Source("literal", entry.value.where, entry.value)
        ref_from = entry.value_from or {}
        where = entry.value_from_where or entry.where
        for ref_key, kind, table in (("secretKeyRef", "secret", manifests.secrets),
                                     ("configMapKeyRef", "configmap", manifests.config_maps)):
            ref = ref_from.get(ref_key)
            if isinstance(ref, dict):
                name, key = str(ref.get("name", "")), str(ref.get("key", ""))
                obj = table.get(name)
                label = f"{'Secret' if kind == 'secret' else 'ConfigMap'}/{name} key {key}"
                return Source(kind, where, obj.data.get(key) if obj else None, label,
                              bool(ref.get("optional")), obj is not None, name, key)
        return Source("other", where, ref=",".join(sorted(ref_from)))
    for source in container.env_from:
        if not var.startswith(source.prefix):
            continue
        table = manifests.secrets if source.kind == "secretRef" else manifests.config_maps
        obj = table.get(source.name)
        field = var[len(source.prefix):]
        if obj is not None and field in obj.data:
            kind = "secret" if source.kind == "secretRef" else "configmap"
            noun = "Secret" if kind == "secret" else "ConfigMap"
            return Source(kind, source.where, obj.data[field],
                          f"{noun}/{source.name} key {field}", in_manifests=True,
                          name=source.name, field=field)
    # a Secret provisioned out of band (not among the manifests) may hold the variable
    outside = [s for s in container.env_from
               if s.kind == "secretRef" and s.name not in manifests.secrets]
    if outside:
        return Source("secret", outside[0].where, None,
                      f"Secret/{outside[0].name} (envFrom)", in_manifests=False,
                      name=outside[0].name, field=var)
    if container.env_from:
        names = ", ".join(f"{s.kind} {s.name}" for s in container.env_from)
        return Source("unresolved", container.where, ref=names)
    return Source("missing", container.where)


def resolve_mapping(container: Container, manifests: RuntimeManifests) -> tuple[str, Source]:
    """The mapping's source under the first of MAPPING_KEYS that is set (else the variable's)."""
    first = resolve(container, MAPPING_ENV, manifests)
    if first.kind in ("missing", "unresolved"):
        for key in WRAPPER_KEYS:
            found = resolve(container, key, manifests)
            if found.kind not in ("missing", "unresolved"):
                return key, found
    return MAPPING_ENV, first


def activity_core_containers(manifests: RuntimeManifests) -> list[Container]:
    """Containers that carry any runtime variable (else all: each then lacks them all)."""
    def carries(c: Container) -> bool:
        return any(e.name in (*RUNTIME_VARS, *MAPPING_KEYS) for e in c.env) or bool(c.env_from)

    chosen = [c for c in manifests.containers if carries(c)]
    return chosen or list(manifests.containers)


def runtime_mapping(manifests: RuntimeManifests) -> MappingInput | None:
    """The mapping the deployment hands activity-core, when the manifests hold it."""
    for container in activity_core_containers(manifests):
        _, source = resolve_mapping(container, manifests)
        if source.value is not None and source.value.value.strip():
            located = source.value
            try:
                return parse_mapping_text(located.value, located.where, file=located.file,
                                          first_line=located.line)
            except InputError:
                return None
    return None


def validate_mapping(ctx: GateContext, out: CheckOutcome, mapping: MappingInput,
                     label: str) -> None:
    bad = _deps.violations("mapping", mapping.doc, ctx.config.contract)
    for pointer, reason in bad:
        # the validator's pointers are into the unwrapped document
        outer = f"/{mapping.wrapper}{pointer}" if mapping.wrapper else pointer
        line = pointer_line(mapping.text, outer or "", mapping.first_line)
        where = f"{mapping.file}:{line}" if mapping.file and line else mapping.source
        out.fail(f"{label} breaks the contract at {pointer or '/'}", where,
                 "valid against widget-mapping.schema.json", reason)
    if not bad:
        out.ok(f"{label} is valid", mapping.source, "valid against the contract",
               f"{len(mapping.entries)} mapping entries"
               + (f" (wrapped in {mapping.wrapper})" if mapping.wrapper else ""))


def _check_value(ctx: GateContext, out: CheckOutcome, var: str, src: Source,
                 container: Container) -> MappingInput | None:
    where = src.value.where if src.value else src.where
    text = src.value.value if src.value else ""
    if var == URL_VAR:
        if not text.strip():
            out.fail(f"{var} is empty", where, "an http(s) URL of Inter-Hub", "''")
        elif http_url_problem(text.strip()) is not None:
            out.fail(f"{var} is not an http(s) URL", where, "an http(s) URL", repr(text[:80]))
        else:
            out.ok(f"{var} set", where, "an http(s) URL", text.strip())
            if ctx.target_mode == "live" and ctx.target_url and \
                    text.strip().rstrip("/") != ctx.target_url.rstrip("/"):
                out.notes.append(f"{var} ({text.strip()}) is not the gate's target "
                                 f"({ctx.target_url}): make sure both name the same hub")
        return None
    if not text.strip():
        out.fail(f"{var} is empty", where, "the widget mapping JSON", "''")
        return None
    try:
        mapping = parse_mapping_text(text, where, file=src.value.file if src.value else None,
                                     first_line=src.value.line if src.value else 1)
    except InputError as exc:
        out.fail(f"{var} is not JSON", where, "the widget mapping JSON", exc.reason)
        return None
    validate_mapping(ctx, out, mapping, f"{var} of {container.workload}")
    return mapping


def _check_key(out: CheckOutcome, src: Source, container: Container,
               manifests: RuntimeManifests) -> None:
    label = f"{KEY_VAR} of {container.workload} container {container.name}"
    if src.kind != "secret":
        out.fail(f"{label} does not come from a Secret", src.where,
                 "valueFrom.secretKeyRef (or envFrom secretRef)", f"{src.kind} {src.ref}".strip())
        return
    if src.optional:
        out.fail(f"{label}: the Secret reference is optional", src.where,
                 "optional: false (the pod must not start without the key)", "optional: true")
        return
    out.ok(f"{label} comes from a Secret", src.where, "a Secret reference", src.ref)
    external = manifests.external_secrets.get(src.name)
    remote = external.source_of(src.field) if external else None
    if external and remote:
        out.ok(f"Secret {src.name} is provisioned out of band", remote.where,
               "an ExternalSecret filling the key", f"{external.store} {remote.key} "
               f"field {remote.property}")
        if (remote.key, remote.property) != (OPENBAO_PATH, KEY_VAR):
            out.notes.append(f"the key comes from {remote.key} field {remote.property}; the "
                             f"preferred place is OpenBao {OPENBAO_PATH}, field {KEY_VAR}")
        if src.value is not None and not src.value.value.strip():
            out.notes.append(f"{src.ref} ({src.value.where}) is an empty placeholder in Git, "
                             f"filled by ExternalSecret {external.name}")
    elif not src.in_manifests:
        out.notes.append(f"{src.ref} is not among the given manifests: the gate cannot tell "
                         f"whether it holds a value; it must be provisioned out of band "
                         f"(OpenBao {OPENBAO_PATH}, field {KEY_VAR})")
    elif src.value is None:
        out.fail(f"{label}: the Secret has no such key", src.where, f"{src.ref} defined",
                 "key absent from the Secret manifest")
    elif not src.value.value.strip():
        out.fail(f"Secret {src.name} key {src.field} is an empty placeholder: not provisioned",
                 src.value.where, "provisioned out of band, e.g. an ExternalSecret from OpenBao "
                 f"{OPENBAO_PATH}, field {KEY_VAR}", "empty, and nothing in the manifests fills it")


def _check_manifests(ctx: GateContext, out: CheckOutcome, manifests: RuntimeManifests) -> None:
    containers = activity_core_containers(manifests)
    if not containers:
        out.fail("no workload in the runtime manifests", ", ".join(manifests.files),
                 "a Deployment (or other workload) running activity-core", "none")
        return
    for container in containers:
        for var in RUNTIME_VARS:
            if var == MAPPING_ENV:
                var, src = resolve_mapping(container, manifests)
            else:
                src = resolve(container, var, manifests)
            label = f"{var} of {container.workload} container {container.name}"
            if src.kind == "missing":
                out.fail(f"{label} missing", src.where, "present" if var != MAPPING_ENV else
                         f"one of {', '.join(MAPPING_KEYS)} present", "absent")
            elif src.kind == "unresolved":
                out.fail(f"{label} not resolvable", src.where,
                         "an env entry, or an envFrom source among the manifests"
                         + (f", holding one of {', '.join(MAPPING_KEYS)}"
                            if var == MAPPING_ENV else ""), src.ref)
            elif var == KEY_VAR:
                _check_key(out, src, container, manifests)
            elif src.kind == "secret" and (src.value is None or not src.value.value.strip()):
                out.notes.append(f"{label} comes from {src.ref}: its value is not in Git and "
                                 "was not checked")
            elif src.kind in ("configmap", "secret") and src.value is None:
                out.fail(f"{label}: {src.ref} not found", src.where,
                         "the ConfigMap among the runtime manifests, holding the key",
                         "not among the manifests" if not src.in_manifests else "key absent")
            elif src.kind == "other":
                out.fail(f"{label} has an unsupported source", src.where,
                         "a literal, configMapKeyRef or secretKeyRef", src.ref)
            else:
                found = _check_value(ctx, out, var, src, container)
                if found is not None and ctx.mapping is not None and \
                        found.doc != ctx.mapping.doc:
                    out.fail(f"{label} differs from the mapping the gate checked", src.where,
                             f"the same document as {ctx.mapping.source}", "a different mapping")


def _check_environment(ctx: GateContext, out: CheckOutcome) -> None:
    for var in RUNTIME_VARS:
        if var == MAPPING_ENV:  # or either config key (ACS-11)
            var = next((k for k in MAPPING_KEYS if os.environ.get(k, "").strip()), var)
        value = os.environ.get(var, "")
        where = f"env {var}"
        if not value.strip():
            out.fail(f"{var} missing or empty", where, "present and non-empty", "unset or empty")
        elif var == URL_VAR:
            ok = http_url_problem(value.strip()) is None
            (out.ok if ok else out.fail)(f"{var} set", where, "an http(s) URL",
                                         value if ok else repr(value[:80]))
        elif var == KEY_VAR:
            out.ok(f"{var} set", where, "non-empty", _deps.redact(value))
    if ctx.mapping is not None:
        validate_mapping(ctx, out, ctx.mapping, f"mapping {ctx.mapping.source}")


def check_runtime_config(ctx: GateContext) -> CheckOutcome:
    out = CheckOutcome("5", details={"requirements": ["GATE-05", "ACS-10", "ACS-11", "ACS-12",
                                                     "ACS-13", "SEC-03", "SEC-04"]})
    if ctx.manifests is None:
        _check_environment(ctx, out)
        out.settle("")
        if out.status == "pass":
            out.block("no --runtime-manifest given: the environment of this process has the "
                      "three variables, but whether the key reaches activity-core through a "
                      "Secret reference cannot be told")
        return out
    _check_manifests(ctx, out, ctx.manifests)
    if ctx.mapping is not None and ctx.mapping.file not in ctx.manifests.files:
        validate_mapping(ctx, out, ctx.mapping, f"mapping {ctx.mapping.source}")
    return out.settle(f"{', '.join(RUNTIME_VARS)} reach activity-core; the key through a "
                      "Secret reference; the mapping is valid against the contract")

"""Read activity-core's Kubernetes runtime manifests with file and line for every value.

Only what the gate needs: container env entries (literal value or valueFrom),
envFrom sources, ConfigMap data and Secret data/stringData. Lines come from
pyyaml's composed node tree, so a defect can be named `file:line`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import yaml

from ihub_conformance.documents import PARSE_ERRORS, StrictLoader, read_text, refusal

# Workload kinds and where their pod spec sits.
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class Located:
    """A value from a manifest with its file and 1-based line."""

    value: Any
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class EnvEntry:
    name: str
    where: str
    container: str
    workload: str
    value: Located | None = None  # literal `value:`
    value_from: dict[str, Any] | None = None  # the `valueFrom:` mapping, as parsed
    value_from_where: str | None = None


@dataclass
class EnvFrom:
    kind: str  # "secretRef" | "configMapRef"
    name: str
    prefix: str
    where: str
    container: str
    workload: str


@dataclass
class Container:
    name: str
    workload: str
    where: str
    env: list[EnvEntry] = field(default_factory=list)
    env_from: list[EnvFrom] = field(default_factory=list)


@dataclass
class DataObject:
    """A ConfigMap or Secret: its keys with located values (Secret data base64-decoded)."""

    kind: str
    name: str
    where: str
    data: dict[str, Located] = field(default_factory=dict)


@dataclass
class RemoteRef:
    """One Secret key an ExternalSecret fills: from which store path and property."""

    key: str  # remote path, e.g. platform/operators/ops-hub/runtime
    property: str  # field at that path, e.g. OPS_HUB_KEY ("" for dataFrom extract)
    where: str


@dataclass
class ExternalSecret:
    """An external-secrets.io ExternalSecret: the Secret it writes and where each key comes from."""

    name: str
    target: str
    store: str
    where: str
    data: dict[str, RemoteRef] = field(default_factory=dict)
    extracts: list[RemoteRef] = field(default_factory=list)  # dataFrom: every field of a path

    def source_of(self, secret_key: str) -> RemoteRef | None:
        if secret_key in self.data:
            return self.data[secret_key]
        # dataFrom extract copies every field of the remote path, this key included
        first = next(iter(self.extracts), None)
        return RemoteRef(first.key, secret_key, first.where) if first else None


@dataclass
class RuntimeManifests:
    files: list[str] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    config_maps: dict[str, DataObject] = field(default_factory=dict)
    secrets: dict[str, DataObject] = field(default_factory=dict)
    # Secret name -> the ExternalSecret that fills it out of band (e.g. from OpenBao)
    external_secrets: dict[str, ExternalSecret] = field(default_factory=dict)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _walk(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        node = _get(node, key)
    return node


def _value_line(node: yaml.Node) -> int:
    """The line where a scalar's text starts (block scalars: the line after `|`)."""
    line = _line(node)
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        line += 1
    return line


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _containers(doc: yaml.Node, kind: str, file: str) -> list[Container]:
    name = _scalar(_walk(doc, "metadata", "name")) or "?"
    workload = f"{kind}/{name}"
    pod = _walk(doc, *_POD_SPEC_PATHS[kind])
    found: list[Container] = []
    for list_key in ("initContainers", "containers"):
        seq = _get(pod, list_key)
        if not isinstance(seq, yaml.SequenceNode):
            continue
        for item in seq.value:
            cname = _scalar(_get(item, "name")) or "?"
            container = Container(cname, workload, f"{file}:{_line(item)}")
            env = _get(item, "env")
            for entry in env.value if isinstance(env, yaml.SequenceNode) else []:
                value_node = _get(entry, "value")
                from_node = _get(entry, "valueFrom")
                container.env.append(EnvEntry(
                    name=_scalar(_get(entry, "name")) or "",
                    where=f"{file}:{_line(entry)}",
                    container=cname, workload=workload,
                    value=Located(_scalar(value_node) or "", file, _value_line(value_node))
                    if value_node is not None else None,
                    value_from=_construct(from_node) if from_node is not None else None,
                    value_from_where=f"{file}:{_line(from_node)}" if from_node else None,
                ))
            env_from = _get(item, "envFrom")
            for source in env_from.value if isinstance(env_from, yaml.SequenceNode) else []:
                for ref in ("secretRef", "configMapRef"):
                    ref_node = _get(source, ref)
                    if ref_node is not None:
                        container.env_from.append(EnvFrom(
                            ref, _scalar(_get(ref_node, "name")) or "",
                            _scalar(_get(source, "prefix")) or "",
                            f"{file}:{_line(source)}", cname, workload))
            found.append(container)
    return found


def _data_object(doc: yaml.Node, kind: str, file: str) -> DataObject:
    name = _scalar(_walk(doc, "metadata", "name")) or "?"
    obj = DataObject(kind, name, f"{file}:{_line(doc)}")
    for section in ("data", "stringData"):
        node = _get(doc, section)
        if not isinstance(node, yaml.MappingNode):
            continue
        for key_node, value_node in node.value:
            text = _scalar(value_node) or ""
            if kind == "Secret" and section == "data" and text:
                text = _b64(text)
            obj.data[str(key_node.value)] = Located(text, file, _value_line(value_node))
    return obj


def _external_secret(doc: yaml.Node, file: str) -> ExternalSecret:
    name = _scalar(_walk(doc, "metadata", "name")) or "?"
    spec = _get(doc, "spec")
    target = _scalar(_walk(spec, "target", "name")) or name
    store = _walk(spec, "secretStoreRef")
    store_label = f"{_scalar(_get(store, 'kind')) or 'SecretStore'}/{_scalar(_get(store, 'name'))}"
    ext = ExternalSecret(name, target, store_label, f"{file}:{_line(doc)}")
    data = _get(spec, "data")
    for item in data.value if isinstance(data, yaml.SequenceNode) else []:
        remote = _get(item, "remoteRef")
        secret_key = _scalar(_get(item, "secretKey")) or ""
        ext.data[secret_key] = RemoteRef(_scalar(_get(remote, "key")) or "",
                                         _scalar(_get(remote, "property")) or "",
                                         f"{file}:{_line(item)}")
    data_from = _get(spec, "dataFrom")
    for item in data_from.value if isinstance(data_from, yaml.SequenceNode) else []:
        extract = _get(item, "extract")
        if extract is not None:
            ext.extracts.append(RemoteRef(_scalar(_get(extract, "key")) or "", "",
                                          f"{file}:{_line(item)}"))
    return ext


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return text  # not base64: keep the literal so a scan still sees it


def load_runtime_manifests(paths: list[str]) -> RuntimeManifests:
    """Parse every YAML document of the given files. Unreadable input is an InputError."""
    result = RuntimeManifests()
    for path in paths:
        text = read_text(path, "runtime manifest")
        try:
            docs = [doc for doc in yaml.compose_all(text, Loader=StrictLoader) if doc]
        except PARSE_ERRORS as exc:
            raise refusal(path, exc) from None
        result.files.append(path)
        for doc in docs:
            kind = _scalar(_get(doc, "kind")) or ""
            if kind in _POD_SPEC_PATHS:
                result.containers.extend(_containers(doc, kind, path))
            elif kind == "ConfigMap":
                obj = _data_object(doc, kind, path)
                result.config_maps[obj.name] = obj
            elif kind == "Secret":
                obj = _data_object(doc, kind, path)
                result.secrets[obj.name] = obj
            elif kind == "ExternalSecret":
                ext = _external_secret(doc, path)
                result.external_secrets[ext.target] = ext
    return result


def pointer_line(text: str, pointer: str, first_line: int = 1) -> int | None:
    """The line of a JSON pointer inside a JSON (or YAML) text, or None if not found.

    JSON is YAML, so composing it gives line marks without a second parser.
    """
    try:
        node = yaml.compose(text, Loader=StrictLoader)
    except PARSE_ERRORS:
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            node = _get(node, part)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            break
        if node is None:
            return None
    return first_line + node.start_mark.line if node is not None else None

"""contracts/v1/openapi.yaml: valid OpenAPI 3.1, offline-resolvable, faithful to the contract."""

from __future__ import annotations

import copy
import json
import socket
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from ihub_conformance import InputError, load_assumptions
from ihub_conformance.contract import openapi as oa
from ihub_conformance.contract.loader import load_contract

EXPECTED_OPERATIONS = {
    ("GET", "/api/v2/widgets"), ("POST", "/api/v2/widgets"),
    ("GET", "/api/v2/widgets/{id}"), ("GET", "/api/v2/widgets/{id}/versions"),
    ("GET", "/api/v2/interaction-events"), ("POST", "/api/v2/interaction-events"),
    ("GET", "/api/v2/event-types"), ("GET", "/api/v2/widget-types"),
    ("GET", "/api/v2/policy-scopes"), ("GET", "/api/v2/hubs"),
    ("GET", "/api/v2/hubs/{slug}/manifest"), ("GET", "/api/v2/consumer"),
    ("GET", "/api/v2/openapi.yaml"), ("GET", "/progress/"),
}
UNAUTHENTICATED = {("GET", "/api/v2/openapi.yaml"), ("GET", "/progress/")}
# VOC-16: production shows public registry vocabulary, so these reads take a key or none
KEY_OPTIONAL = {("GET", "/api/v2/event-types"), ("GET", "/api/v2/widget-types"),
                ("GET", "/api/v2/policy-scopes"), ("GET", "/api/v2/hubs")}
REQUEST_BODIES = {
    "/api/v2/widgets": "widget.schema.json#/$defs/WidgetCreateRequest",
    "/api/v2/interaction-events": "interaction-event.schema.json#/$defs/InteractionEventRequest",
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch):
    """Everything here must work offline: any socket connection is a test failure."""

    def refuse(*args: Any, **kwargs: Any):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return oa.load_openapi("v1")


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return oa.bundle_openapi("v1")


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def _deref(doc: dict[str, Any], node: Any) -> Any:
    """Follow the document's own `#/...` refs (the bundle has no others)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _walk_refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_refs(item)


# ------------------------------------------------------------------------ validity


def test_document_is_valid_openapi_3_1(raw):
    assert raw["openapi"] == "3.1.0"
    schemathesis.openapi.from_path(str(oa.openapi_path("v1"))).validate()


def test_meta_validation_can_fail(raw):
    broken = copy.deepcopy(raw)
    broken["paths"]["/api/v2/widgets"]["get"]["responses"]["200"] = "ok"
    with pytest.raises(Exception, match=r"200|ok"):
        schemathesis.openapi.from_dict(broken).validate()


def test_bundle_is_valid_and_self_contained(bundle):
    schemathesis.openapi.from_dict(copy.deepcopy(bundle)).validate()
    assert all(ref.startswith("#/") for ref in _walk_refs(bundle))
    for ref in set(_walk_refs(bundle)):
        assert _deref(bundle, {"$ref": ref}) is not None, ref


def test_every_bundled_schema_is_a_valid_2020_12_schema(bundle):
    for name, schema in bundle["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"components/schemas/{name}: {exc}")


def test_every_ref_of_the_document_resolves_offline(raw):
    resolver = load_contract("v1").registry.resolver()
    base = oa.document_uri("v1")
    external = [ref for ref in _walk_refs(raw) if not ref.startswith("#")]
    assert external, "the document should $ref the contract's schema files"
    for ref in external:
        resolved = resolver.lookup(urljoin(base, ref))
        assert isinstance(resolved.contents, dict), ref
    for ref in (ref for ref in _walk_refs(raw) if ref.startswith("#")):
        node: Any = raw
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, ref
            node = node[part]


def test_unresolvable_ref_is_an_input_error(raw, monkeypatch: pytest.MonkeyPatch):
    broken = copy.deepcopy(raw)
    broken["components"]["schemas"]["Error"] = {"$ref": "common.schema.json#/$defs/Nope"}
    monkeypatch.setattr(oa, "load_openapi", lambda version="v1": broken)
    with pytest.raises(InputError, match=r"\$defs/Nope"):
        oa.bundle_openapi("v1")
    with pytest.raises(Unresolvable):  # and the registry never fetches: no network
        load_contract("v1").registry.resolver().lookup("https://example.invalid/x.json")


def test_bundle_for_every_contract_version():
    for version in ("v0", "v1"):
        bundled = oa.bundle_openapi(version)
        assert bundled["info"]["version"] == version
        schemathesis.openapi.from_dict(bundled).validate()


# ---------------------------------------------------------------------- schemathesis


@pytest.mark.parametrize("loader", ["path", "bundle"])
def test_schemathesis_loads_and_enumerates_the_operations(loader, bundle):
    schema = (schemathesis.openapi.from_path(str(oa.openapi_path("v1"))) if loader == "path"
              else schemathesis.openapi.from_dict(copy.deepcopy(bundle)))
    found = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        found.add((operation.method.upper(), operation.path))
    assert found == EXPECTED_OPERATIONS


@pytest.mark.parametrize("path", sorted(REQUEST_BODIES))
def test_schemathesis_generates_bodies_from_the_contract_schemas(bundle, path):
    operation = next(result.ok() for result in
                     schemathesis.openapi.from_dict(copy.deepcopy(bundle)).get_all_operations()
                     if result.ok().path == path and result.ok().method.upper() == "POST")
    name = oa.component_name(urljoin(oa.document_uri(), REQUEST_BODIES[path]))
    required = set(bundle["components"]["schemas"][name]["required"])

    @given(case=operation.as_strategy())
    @settings(max_examples=10, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        assert isinstance(case.body, dict) and required <= set(case.body)

    check()


# ------------------------------------------------------------- one source of truth


def _normalise(node: Any, file: str) -> Any:
    """Refs of a contract file, written as ``<file>#<pointer>`` for comparison."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref":
                resource, fragment = urldefrag(urljoin(urljoin(oa.document_uri(), file), value))
                out[key] = f"{resource.rsplit('/', 1)[-1]}#{fragment}"
            elif key not in ("$id", "$schema", "$defs"):
                out[key] = _normalise(value, file)
        return out
    if isinstance(node, list):
        return [_normalise(item, file) for item in node]
    return node


def _unbundle(node: Any) -> Any:
    """Bundle refs ``#/components/schemas/widget.Widget`` back to ``widget.schema.json#...``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref":
                name = value.removeprefix("#/components/schemas/")
                stem, _, definition = name.partition(".")
                out[key] = f"{stem}.schema.json#" + (f"/$defs/{definition}" if definition else "")
            else:
                out[key] = _unbundle(value)
        return out
    if isinstance(node, list):
        return [_unbundle(item) for item in node]
    return node


@pytest.mark.parametrize("path", sorted(REQUEST_BODIES))
def test_request_bodies_are_the_contract_defs_not_copies(raw, bundle, path):
    target = REQUEST_BODIES[path]
    media = raw["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"$ref": target}  # a pointer, never an inline copy
    bundled = bundle["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    component = _deref(bundle, bundled["schema"])
    file, _, pointer = target.partition("#/$defs/")
    contract = load_contract("v1")
    original = next(s for s in contract.schemas.values() if s["$id"].endswith("/" + file))
    assert _unbundle(component) == _normalise(original["$defs"][pointer], file)


def test_request_schemas_are_no_stricter_than_the_hub(bundle):
    for path, target in REQUEST_BODIES.items():
        body = _deref(bundle, bundle["paths"][path]["post"]["requestBody"]["content"]
                      ["application/json"]["schema"])
        assert body.get("additionalProperties", True) is not False, path
        assert body.get("unevaluatedProperties", True) is not False, path
        # registry-validated values are plain strings: their failure is a documented 422
        for field in ("widgetType", "policyScope", "eventType"):
            if field in body["properties"]:
                resolved = _deref(bundle, body["properties"][field])
                assert "enum" not in json.dumps(resolved), f"{path} {field}"
        assert "422" in bundle["paths"][path]["post"]["responses"], target


def test_resources_are_the_contract_resource_schemas(raw):
    created = {path: raw["paths"][path]["post"]["responses"]["201"]["content"]
               ["application/json"]["schema"]["$ref"] for path in REQUEST_BODIES}
    assert created == {"/api/v2/widgets": "widget.schema.json#/$defs/Widget",
                       "/api/v2/interaction-events":
                           "interaction-event.schema.json#/$defs/InteractionEvent"}
    manifest = raw["paths"]["/api/v2/hubs/{slug}/manifest"]["get"]["responses"]["200"]
    assert manifest["content"]["application/json"]["schema"] == {"$ref": "manifest.schema.json"}


# -------------------------------------------------------- responses, auth, parameters


def test_every_operation_documents_its_answers(bundle):
    for method, path, operation in _operations(bundle):
        responses = operation["responses"]
        success = "201" if method == "POST" else "200"
        assert success in responses, (method, path)
        assert "400" in responses, (method, path)
        if (method, path) not in UNAUTHENTICATED:
            assert {"401", "429"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method == "POST":
            assert {"413", "415", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            content = _deref(bundle, response)["content"]
            if status.startswith("4"):
                schema = _deref(bundle, content["application/json"]["schema"])
                assert schema == _deref(bundle, {"$ref": "#/components/schemas/common.Error"})


def test_authenticated_answers_document_integer_rate_limit_headers(bundle):
    for method, path, operation in _operations(bundle):
        if (method, path) in UNAUTHENTICATED:
            continue
        for status in ("200", "201", "429"):
            if status not in operation["responses"]:
                continue
            headers = _deref(bundle, operation["responses"][status])["headers"]
            for name in RATE_LIMIT_HEADERS:
                header = _deref(bundle, headers[name])
                assert header["schema"]["type"] == "integer", (method, path, status, name)
        limited = _deref(bundle, operation["responses"]["429"])["headers"]
        assert _deref(bundle, limited["Retry-After"])["schema"]["type"] == "integer"


def test_security_is_bearer_everywhere_but_the_unauthenticated_reads(bundle):
    asm = load_assumptions()
    scheme = bundle["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"].lower()) == ("http", asm.get("auth.scheme").lower())
    assert asm.get("auth.header") == "Authorization"
    assert bundle["security"] == [{"bearerAuth": []}]
    for method, path, operation in _operations(bundle):
        if (method, path) in UNAUTHENTICATED:
            assert operation["security"] == [], path
        elif (method, path) in KEY_OPTIONAL:
            assert operation["security"] == [{"bearerAuth": []}, {}], path
        else:
            assert "security" not in operation, path  # inherits the global bearer


def test_query_parameters_follow_the_assumptions(bundle):
    asm = load_assumptions()
    page_param, size_param = asm.get("pagination.page_param"), asm.get("pagination.size_param")
    for method, path, operation in _operations(bundle):
        params = {p["name"]: p for p in
                  (_deref(bundle, p) for p in operation.get("parameters", []))}
        if method == "GET" and (path.endswith("s") or path.endswith("/versions")) \
                and path.startswith("/api/v2/") and "{slug}" not in path:
            page, size = params[page_param]["schema"], params[size_param]["schema"]
            assert page["type"] == size["type"] == "integer" and page["minimum"] == 1
            assert size["minimum"] == 1 and size["maximum"] == asm.get("pagination.max_size")
            assert size["default"] == asm.get("pagination.default_size")
    events = {p["name"]: p["schema"] for p in (
        _deref(bundle, p) for p in bundle["paths"]["/api/v2/interaction-events"]["get"]
        ["parameters"])}
    assert events["widgetId"] == {"type": "string", "format": "uuid"}
    assert events["eventType"] == {"type": "string"}
    progress = {p["name"]: p["schema"] for p in bundle["paths"]["/progress/"]["get"]["parameters"]}
    assert progress["limit"]["maximum"] == 500 and progress["limit"]["default"] == 20
    assert progress["event_type"]["type"] == "string"


def test_every_assumed_path_is_documented(bundle):
    asm = load_assumptions()
    documented = set(bundle["paths"])
    assumed = set(asm.values["paths"].values()) | {asm.get("state_hub.path")}
    assert assumed == documented


def test_served_document_parses_as_the_same_yaml():
    # ASM-18: the hub serves the file verbatim, so the file itself must be plain YAML 1.1
    # that any client parses to the same document (aliases included).
    text = oa.openapi_path("v1").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == oa.load_openapi("v1")
    assert "\t" not in text


def _dialect(name: str):
    from ihub_conformance._paths import contracts_dir

    return load_assumptions(override=contracts_dir() / "v1" / "dialects" / f"{name}.yaml")


def test_the_document_handed_to_schemathesis_speaks_the_registers_dialect():
    asm = _dialect("apikey-array")
    doc = oa.bundle_openapi("v1", asm)
    assert doc["components"]["securitySchemes"] == {"hubKey": {
        "type": "apiKey", "in": "header", "name": "X-Api-Key",
        "description": "The API consumer key in `X-Api-Key` (ASM-01)."}}
    assert "/api/v2/openapi.yaml" not in doc["paths"]  # endpoints.openapi: false
    create = doc["paths"]["/api/v2/widgets"]["post"]["responses"]
    assert "200" in create and "201" not in create  # status.create_widget: 200
    assert "4XX" in doc["paths"]["/api/v2/interaction-events"]["post"]["responses"]
    params = doc["components"]["parameters"]
    assert (params["page"]["name"], params["page"]["schema"]["minimum"]) == ("page", 0)
    assert (params["pageSize"]["name"], params["pageSize"]["schema"]["maximum"]) == \
        ("per_page", 100)
    assert doc["components"]["schemas"]["WidgetPage"]["type"] == "array"
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["type"] == "string"
    headers = doc["paths"]["/api/v2/widgets"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    public = doc["paths"]["/api/v2/event-types"]["get"]
    assert public["security"] == []  # auth.public_reads


def test_a_keyless_dialect_has_no_security_and_no_missing_reads():
    doc = oa.bundle_openapi("v1", _dialect("keyless-standins"))
    assert doc["security"] == [] and doc["components"]["securitySchemes"] == {}
    for gone in ("/api/v2/consumer", "/api/v2/hubs", "/api/v2/widgets/{id}",
                 "/api/v2/widgets/{id}/versions", "/api/v2/hubs/{slug}/manifest"):
        assert gone not in doc["paths"], gone
    page = doc["components"]["schemas"]["InteractionEventPage"]
    assert page["required"] == ["items", "meta"]
    assert set(page["properties"]["meta"]["properties"]) == {"page", "perPage", "total", "pages"}


def test_the_default_register_keeps_the_document_as_written(bundle):
    assert oa.bundle_openapi("v1", load_assumptions())["paths"].keys() == bundle["paths"].keys()

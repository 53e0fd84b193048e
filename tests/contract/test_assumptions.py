import json
from pathlib import Path

import pytest

from ihub_conformance import InputError, load_assumptions


def test_register_entries_have_ids_choices_and_overrides():
    register = load_assumptions()
    ids = [entry["id"] for entry in register.entries]
    assert len(ids) == len(set(ids)) >= 10
    for entry in register.entries:
        assert entry["gap"] and entry["choice"] and entry["override"]


def test_override_file_is_deep_merged(tmp_path: Path):
    override = tmp_path / "site.yaml"
    override.write_text("auth:\n  header: X-Api-Key\n  scheme: ''\n")
    register = load_assumptions(override=override)
    assert register.auth_headers("k") == {"X-Api-Key": "k"}
    # untouched values keep their defaults
    assert register.get("pagination.page_param") == "page"


def test_default_auth_is_bearer():
    assert load_assumptions().auth_headers("k") == {"Authorization": "Bearer k"}


def test_unknown_override_key_is_named(tmp_path: Path):
    override = tmp_path / "bad.yaml"
    override.write_text("authh: {}\n")
    with pytest.raises(InputError, match="authh"):
        load_assumptions(override=override)


def test_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    override = tmp_path / "env.yaml"
    override.write_text("pagination:\n  size_param: per_page\n")
    monkeypatch.setenv("IHUB_ASSUMPTIONS", str(override))
    assert load_assumptions().get("pagination.size_param") == "per_page"


def test_example_mapping_is_found_and_valid():
    from ihub_conformance._paths import example_mapping
    from ihub_conformance.validation.engine import validator_for

    path = example_mapping()
    assert path.is_file()
    assert validator_for("mapping").violations(json.loads(path.read_text())) == []


def _leaf_keys(node: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in node.items():
        if isinstance(value, dict) and value and key != "stand_ins":
            out += _leaf_keys(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_every_overridable_value_belongs_to_exactly_one_entry():
    import yaml

    from ihub_conformance._paths import contracts_dir

    raw = yaml.safe_load((contracts_dir() / "v1" / "assumptions.yaml").read_text())
    owned = [key for entry in raw["entries"] for key in entry.get("values") or ()]
    assert len(owned) == len(set(owned))
    leaves = _leaf_keys(raw["values"]) + [f"stand_ins.{k}" for k in raw["values"]["stand_ins"]]
    leaves.remove("stand_ins")
    assert sorted(set(leaves)) == sorted(set(owned))
    register = load_assumptions()
    assert register.asm_id("auth.header") == "ASM-01"
    assert register.asm_id("status.rejections.bad_page") == "ASM-02"


def test_every_guessed_shape_is_a_known_answer_kind_owned_once():
    # A misspelt kind would make shape_owner None: a guessed shape would fail as broken.
    from ihub_conformance.validation.engine import KINDS

    shapes = [kind for entry in load_assumptions().entries for kind in entry.get("shapes") or ()]
    assert shapes and len(shapes) == len(set(shapes))
    assert set(shapes) <= set(KINDS), sorted(set(shapes) - set(KINDS))
    assert load_assumptions().shape_owner("widget-resource") == "ASM-06"
    assert load_assumptions().shape_owner("manifest") is None  # the source's own document


@pytest.mark.parametrize("key, yaml_text", [
    ("widgets.default_policy_scope", "widgets: {default_policy_scope: ops-local}\n"),
    ("vocabulary.required_event_types", "vocabulary: {required_event_types: [a]}\n"),
    ("paths.widgets", "paths: {widgets: /api/v3/widgets}\n"),
    ("events.actor_type", "values: {events: {actor_type: user}}\n"),
])
def test_an_override_of_a_source_fixed_value_is_refused(tmp_path: Path, key, yaml_text):
    override = tmp_path / "site.yaml"
    override.write_text(yaml_text)
    with pytest.raises(InputError) as caught:
        load_assumptions(override=override)
    message = str(caught.value)
    assert message.startswith(f"{override}: {key}: fixed by the source document")
    assert "\n" not in message


def test_source_fixed_values_are_readable_like_values():
    register = load_assumptions()
    assert register.get("widgets.default_policy_scope") == "internal"
    assert register.path("widgets") == "/api/v2/widgets"
    assert register.is_fixed("vocabulary.required_event_types")
    assert not register.is_fixed("auth.header")


@pytest.mark.parametrize("yaml_text, field", [
    ("pagination: {first_page: 2}\n", "pagination.first_page"),
    ("status: {create_widget: 404}\n", "status.create_widget"),
    ("status: {rejections: {validation: 200}}\n", "status.rejections.validation"),
    ("errors: {shape: html}\n", "errors.shape"),
    ("auth: {header: 'bad header'}\n", "auth.header"),
    ("pagination: {perpage: 3}\n", "pagination.perpage"),
    ("endpoints: {openapi: maybe}\n", "endpoints.openapi"),
])
def test_a_bad_override_value_is_one_line_naming_the_field(tmp_path: Path, yaml_text, field):
    override = tmp_path / "site.yaml"
    override.write_text(yaml_text)
    with pytest.raises(InputError) as caught:
        load_assumptions(override=override)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_dialect_values_are_expressible(tmp_path: Path):
    override = tmp_path / "site.yaml"
    override.write_text(
        "auth: {header: null, scheme: ''}\n"
        "pagination: {shape: array, first_page: 0, total_header: X-Total-Count}\n"
        "status: {create_widget: 2xx, rejections: {validation: 4xx, bad_page: any,"
        " unknown_reference: [400, 422]}}\n"
        "errors: {shape: string, envelope_key: error, field_key: null}\n"
        "rate_limit: {limit_header: null, remaining_header: null, reset_header: null}\n"
        "endpoints: {openapi: false, consumer: false}\n"
        "stand_ins: {consumer: {manifestId: 00000000-0000-4000-8000-000000000001, hubId: null}}\n"
    )
    register = load_assumptions(override=override)
    assert register.auth_headers("k") == {}
    assert register.success_ok("create_widget", 200) and register.success_ok("create_widget", 201)
    assert not register.success_ok("create_event", 200)
    assert register.rejection_ok("validation", 409)
    assert register.rejection_ok("unknown_reference", 400)
    assert not register.rejection_ok("unknown_reference", 404)
    assert register.rejection_ok("bad_page", 200) and not register.rejection_ok("bad_page", 500)
    assert not register.has_endpoint("consumer") and register.has_endpoint("manifest")


def test_token_scheme_and_public_reads(tmp_path: Path):
    override = tmp_path / "site.yaml"
    override.write_text("auth: {scheme: Token, public_reads: [event_types]}\n")
    register = load_assumptions(override=override)
    assert register.auth_headers("k") == {"Authorization": "Token k"}
    assert not register.needs_key("event_types") and register.needs_key("widgets")

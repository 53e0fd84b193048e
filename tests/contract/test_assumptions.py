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

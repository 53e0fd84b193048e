"""Which hub a run talks to: target specs, keys from the environment, URLs safe to print."""

from __future__ import annotations

import pytest

from ihub_conformance.errors import ConformanceError
from ihub_conformance.hub.client import redact_url
from ihub_conformance.hub.target import REFERENCE, REPLAY, key_from_env, parse_target_spec


@pytest.mark.parametrize("spec", [REFERENCE, REPLAY, "http://127.0.0.1:8080",
                                  "https://hub.example/base"])
def test_known_targets_are_accepted_as_given(spec: str):
    assert parse_target_spec(spec) == spec


@pytest.mark.parametrize("spec", ["ftp://hub.example", "hub.example", "http://", "",
                                  "https://user:pw@hub.example"])
def test_other_targets_are_a_usage_error(spec: str):
    with pytest.raises(ConformanceError) as caught:
        parse_target_spec(spec)
    assert "--target" in str(caught.value)
    assert "pw" not in str(caught.value).replace("--target", "")


def test_redacted_urls_keep_no_userinfo_or_query():
    url = "https://user:s3cret@hub.example:8443/api/v2/widgets?token=s3cret&page=2"
    assert redact_url(url) == "https://hub.example:8443/api/v2/widgets"


def test_a_live_key_comes_only_from_the_named_variable(monkeypatch):
    monkeypatch.delenv("IHUB_TEST_KEY", raising=False)
    with pytest.raises(ConformanceError, match="IHUB_TEST_KEY is not set"):
        key_from_env("IHUB_TEST_KEY")
    assert key_from_env("IHUB_TEST_KEY", required=False) is None
    monkeypatch.setenv("IHUB_TEST_KEY", "canary-key")
    assert key_from_env("IHUB_TEST_KEY") == "canary-key"

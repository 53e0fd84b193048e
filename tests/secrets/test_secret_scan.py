"""secret_scan: every kind is detected, valid evidence is not, previews never leak."""

from __future__ import annotations

import importlib
import json
import random
import string
from pathlib import Path

import pytest

from ihub_conformance.secrets import scan as ss

ROOT = Path(__file__).resolve().parents[2]

from event_generator import gen  # noqa: E402

CLEAN_STRINGS = [
    "00000000-0000-4000-8000-000000000105",
    "3F1C2D9E-8A7B-4C6D-9E0F-1A2B3C4D5E6F",
    "2026-06-27T10:00:01Z", "2026-06-27T10:00:01.123456+02:00",
    "3f1c2d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f:railiance/inter-hub:ops-endpoint-verified",
    "ops-endpoint-verified", "ops-access-path-checked", "railiance/inter-hub",
    "https://inter-hub.railiance.example/api/v2/widgets",
    "registry.railiance.example/inter-hub:2026.06.27", "deployment/activity-core",
    "railiance-postgres-daily", "spec.template.image", "activity_core_run_id",
    "Railiance service catalog", "basic monitoring enabled", "token bucket rate limiter",
    "OpsEndpointVerifiedRailianceProduction2026", "ops-service-discovered-2026-06-27-0001",
    "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "x86_64-unknown-linux-gnu",
    "k8s-1.29.3-eks-ae9a62a", "2026W26D3T10H00M00S", "OPS_HUB_WIDGET_MAPPING",
]


@pytest.mark.parametrize("text", CLEAN_STRINGS)
def test_valid_evidence_values_are_not_flagged(text: str) -> None:
    assert ss.scan_json({"value": text}) == []
    assert ss.scan_text(f"value: {text}") == []


def test_digests_under_digest_keys_are_evidence_but_bare_hex_is_flagged() -> None:
    rng = random.Random(3)
    digest = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    assert ss.scan_json({"commit": digest, "image_digest": "sha256:" + digest}) == []
    assert [f.kind for f in ss.scan_json({"note": digest})] == [ss.HIGH_ENTROPY_HEX]


@pytest.mark.parametrize("kind", list(gen.SECRET_TEMPLATES))
def test_each_kind_is_detected_in_json_and_text(kind: str) -> None:
    rng = random.Random()
    key, value = gen.fake_secret(kind, rng)
    found = ss.scan_json({"metadata": {"attributes": {key: value}}})
    assert kind in {f.kind for f in found}
    assert all(f.pointer == f"/metadata/attributes/{key}" for f in found)
    if kind != ss.URL_QUERY_STRING:  # only evidence must be free of plain query strings
        text_kinds = {f.kind for f in ss.scan_text(f'{key} = "{value}"')}
        assert text_kinds, f"{kind} not found by scan_text"
        assert all(f.line is not None for f in ss.scan_text(f'{key} = "{value}"'))


@pytest.mark.parametrize("key", gen.SUSPICIOUS_KEYS)
def test_suspicious_keys_are_flagged_with_their_pointer(key: str) -> None:
    found = ss.scan_json({"a": [{"b~c/d": {key: {"x": 1}}}]})
    pointer = "/a/0/b~0c~1d/" + key.replace("~", "~0").replace("/", "~1")
    assert (ss.SUSPICIOUS_KEY, pointer) in {(f.kind, f.pointer) for f in found}


def test_contract_keys_are_not_suspicious() -> None:
    for key in ("idempotency_key", "context_key", "activity_core_run_id", "observed_at",
                "widgetId", "eventType", "viewContext", "metadata", "attributes"):
        assert not ss.is_suspicious_key(key)


def test_random_tokens_of_unknown_kinds_are_flagged() -> None:
    """High-entropy detection catches tokens no pattern knows about (seeded, 500 samples)."""
    rng = random.Random(11)
    alphabets = [string.ascii_letters + string.digits, string.ascii_lowercase + string.digits,
                 string.ascii_letters + string.digits + "-_"]
    missed = []
    for _ in range(500):
        token = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(32, 64)))
        if not ss.scan_json({"note": token}):
            missed.append(token)
    assert len(missed) <= 5, missed[:5]


def test_redact_shows_at_most_four_characters() -> None:
    secret = "ghp_" + "Z" * 36
    assert ss.redact(secret) == "ghp_…(40 chars)"
    assert "hunter2" not in ss.redact("hunter2") and ss.redact("hunter2") == "…(7 chars)"
    for found in ss.scan_json({"note": "Bearer " + "q" * 8 + "1234567890abcdefXYZ"}):
        assert "1234567890" not in found.preview


def test_scan_text_reports_line_numbers() -> None:
    text = "first line\nAKIAFAKE0EXAMPLE1234 here\nclean\npassword=FAKEsecret99\n"
    assert [(f.kind, f.line) for f in ss.scan_text(text)] == [
        (ss.AWS_KEY_ID, 2), (ss.PASSWORD_ASSIGNMENT, 4)]


def test_contains_literal_sees_plain_bytes_and_escaped_spellings() -> None:
    canary = "ghp_" + "".join(random.choice(string.ascii_letters) for _ in range(36))
    assert ss.contains_literal(f"x {canary} y", canary)
    assert ss.contains_literal(f"x {canary} y".encode(), canary.encode())
    assert ss.contains_literal(json.dumps({"k": canary + "/"}).replace("/", "\\/"), canary)
    assert not ss.contains_literal("nothing here", canary)
    with pytest.raises(ValueError):
        ss.contains_literal("x", "")


def test_rust_prefilter_agrees_with_python_and_never_misses_a_finding() -> None:
    """The stream's fast path skips scan_json when the Rust prefilter passes a line."""
    rng = random.Random(5)
    rust = ss.prefilter_validator()
    docs = [{"v": s} for s in CLEAN_STRINGS]
    for kind in gen.SECRET_TEMPLATES:
        for _ in range(5):
            key, value = gen.fake_secret(kind, rng)
            docs.append(gen.insert_at_random_depth(gen.valid_event(rng), key, value, rng))
    for key in gen.SUSPICIOUS_KEYS:
        docs.append(gen.insert_at_random_depth(gen.valid_event(rng), key, "x", rng))
    for doc in docs:
        line = json.dumps(doc)
        assert rust.is_valid(line) == (not ss.might_contain_secret(line))
        if ss.scan_json(doc):
            assert not rust.is_valid(line), line[:80]


# detect-secrets plugins are the reference for the pattern kinds.
_REFERENCE = {
    "aws-access-key-id": "aws.AWSKeyDetector", "github-token": "github_token.GitHubTokenDetector",
    "jwt": "jwt.JwtTokenDetector", "private-key": "private_key.PrivateKeyDetector",
    "slack-token": "slack.SlackDetector", "stripe-key": "stripe.StripeDetector",
    "url-credentials": "basic_auth.BasicAuthDetector",
    "password-assignment": "keyword.KeywordDetector",
}


@pytest.mark.parametrize("kind", sorted(_REFERENCE))
def test_agrees_with_detect_secrets_plugins(kind: str) -> None:
    module, cls = _REFERENCE[kind].rsplit(".", 1)
    plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls)()
    rng = random.Random(kind)
    for _ in range(10):
        _, value = gen.fake_secret(kind, rng)
        if kind == "stripe-key":
            value = "sk_live_" + "".join(rng.choice(string.ascii_letters) for _ in range(24))
        if kind == "password-assignment":
            value = f'password = "{value.split("=", 1)[1]}"'
        ours = {f.kind for f in ss.scan_text(value)}
        theirs = plugin.analyze_line(filename="x.txt", line=value, line_number=1)
        assert kind in ours and theirs, (kind, value[:12])
    for clean in CLEAN_STRINGS:
        assert not plugin.analyze_line(filename="x.txt", line=clean, line_number=1)
        assert not ss.scan_text(clean)



# Secrets of kinds no detector pattern names and no corpus holds: the entropy checks and the
# key names have to catch them. Values are fixed (fake) so a failure is reproducible.
_HEX64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
UNNAMED_SECRETS = {
    "mailgun-key": ("note", f"key-{_HEX64[:32]}"),
    "digitalocean-token": ("note", f"dop_v1_{_HEX64}"),
    "shopify-token": ("note", f"shpat_{_HEX64[:32]}"),
    "sentry-dsn": ("target", f"https://{_HEX64[:32]}@o123456.ingest.sentry.io/1234567"),
    "sendgrid-key": ("note", "SG.FAKEq3Jx9LmT2vWbYz8k1A."
                             "FAKEn4Rt7Uw0Xy2Za5Bc8De1Fg4Hi7Jk0Lm3No6Pq9Rs"),
    "vault-token": ("note", "hvs.FAKEcAESIJ3kLmN0pQrStUv2x"),
    "telegram-bot-token": ("note", "123456789:AAFAKEh7Kq2Lm9Np4Rs8Tv3Wx6Yz1Bc5Df0"),
    "azure-storage-key": ("note", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
                                  "FAKEq3Jx9LmT2vWbYz8k1An4Rt7Uw0Xy2Za5Bc8De1Fg4Hi7Jk0Lm3No6Pq9Rs=="),
    "short-password-as-pw": ("pw", "hunter2"),
    "password-as-pass": ("pass", "Sup3rS3cret!"),
    "passphrase": ("passphrase", "correct horse battery staple"),
    "credentials-as-creds": ("creds", ["user", "p4ssw0rd"]),
    "signing-key": ("signing_key", "abc123"),
    "encryption-key": ("Encryption-Key", "abc123"),
    "master-key": ("masterKey", "abc123"),
    "hmac-key": ("hmac.key", "abc123"),
    "doubled-separator-api-key": ("api__key", "abc123"),
    "slashed-api-key": ("API/KEY", "abc123"),
    "split-password": ("pass_word", "abc123"),
    "doubled-separator-access-key": ("access__key", "abc123"),
    "databricks-token": ("note", f"dapi{_HEX64[:32]}"),
    "upper-case-base32-key": ("note", "AGE-SECRET-KEY-1FAKE0RCXN22PXGX8WDZRMH3FNBDVPINE9NNOVJARJI8"
                                      "QLHBIAWPUBLQDI07HE4"),
}


@pytest.mark.parametrize("kind", UNNAMED_SECRETS)
def test_secrets_of_unnamed_kinds_are_flagged_in_a_stream(kind: str) -> None:
    from ihub_conformance.stream.pipeline import check_stream

    key, value = UNNAMED_SECRETS[kind]
    event = gen.valid_event(random.Random(1))
    event["metadata"]["attributes"][key] = value
    assert ss.scan_json(event), kind
    # Through the stream checker too: its fast tier must hand the line to the engine.
    line = json.dumps(event).encode()
    assert any(f.kind == "secret" for f in check_stream([line] * 70)), kind


@pytest.mark.parametrize("key, value", [
    ("pass", True), ("pass", 1), ("pw", None), ("passed", "yes"), ("bypass", "none"),
    ("integrity", f"sha256-{_HEX64}"), ("ref", f"commit-{_HEX64[:40]}"),
    ("build", f"git-{_HEX64[:40]}"), ("image", f"registry.example/app:git-{_HEX64[:40]}"),
    ("checksum", f"md5-{_HEX64[:32]}"),
])
def test_outcomes_and_prefixed_digests_are_evidence(key: str, value: object) -> None:
    assert ss.scan_json({key: value}) == [], (key, value)


@pytest.mark.parametrize("key", ["trace_id", "spanId", "request-ids", "uuid", "runUID"])
def test_random_identifiers_under_id_keys_are_evidence(key: str) -> None:
    # Trace, span and request ids are random by design; a key naming an id says so.
    for value in (_HEX64[:32], "req_01J1F2G3H4K5M6N7P8Q9R0S1T2", "01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        assert ss.scan_json({key: value}) == [], (key, value)
    # Named formats still count there, and the same random hex elsewhere still counts.
    assert ss.scan_json({key: "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"})
    assert ss.scan_json({"note": _HEX64[:32]})

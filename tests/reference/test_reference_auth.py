"""Reference hub: keys on every endpoint, hashed storage, no echo, no logging, rate limits."""

from __future__ import annotations

import hashlib
import io
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ihub_conformance import load_assumptions
from ihub_conformance.reference.server import RunningHub, running_reference_hub

HUB_ID = "00000000-0000-4000-8000-000000000001"
WIDGET = "00000000-0000-4000-8000-000000000101"
CANARY = "canary-" + secrets.token_hex(12)
WRONG_CANARY = "wrong-canary-" + secrets.token_hex(12)

ENDPOINTS: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/api/v2/widgets", None),
    ("POST", "/api/v2/widgets", {"hubId": HUB_ID, "name": "auth probe", "widgetType": "ops-risk"}),
    ("GET", f"/api/v2/widgets/{WIDGET}", None),
    ("GET", f"/api/v2/widgets/{WIDGET}/versions", None),
    ("GET", "/api/v2/interaction-events", None),
    ("POST", "/api/v2/interaction-events", {"widgetId": WIDGET,
                                             "eventType": "ops-service-discovered"}),
    ("GET", "/api/v2/event-types", None),
    ("GET", "/api/v2/widget-types", None),
    ("GET", "/api/v2/policy-scopes", None),
    ("GET", "/api/v2/hubs", None),
    ("GET", "/api/v2/hubs/ops-hub/manifest", None),
    ("GET", "/api/v2/consumer", None),
]

# The register's public reads (auth.public_reads): answered without a key, never with a
# wrong one.
_REGISTER = load_assumptions()
PUBLIC_READS = {_REGISTER.path(name) for name in _REGISTER.get("auth.public_reads")}


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_reference_hub(key=CANARY) as running:
        yield running


def _count(hub: RunningHub) -> tuple[int, int]:
    with hub.client() as http:
        return tuple(  # type: ignore[return-value]
            http.get(p).json()["pagination"]["totalCount"]
            for p in ("/api/v2/widgets", "/api/v2/interaction-events"))


@pytest.mark.requirement("WID-01", "EVT-01")
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("auth", [None, f"Bearer {WRONG_CANARY}", f"Basic {CANARY}", CANARY,
                                  "Bearer", f"Bearer {CANARY[:-1]}", f"Bearer {CANARY}x"],
                         # ids without the random canaries: xdist workers must collect alike
                         ids=["none", "wrong-key", "basic-scheme", "no-scheme", "no-key",
                              "key-cut", "key-extended"])
def test_every_endpoint_refuses_a_missing_or_wrong_key(
    hub: RunningHub, method: str, path: str, body: dict[str, object] | None, auth: str | None
) -> None:
    before = _count(hub) if method == "POST" else None
    headers = {"Authorization": auth} if auth is not None else {}
    response = httpx.request(method, hub.base_url + path, json=body, headers=headers)
    if path in PUBLIC_READS and not (auth or "").startswith("Bearer "):  # no key: public
        assert response.status_code == 200
        return
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "unauthorized", "field": "Authorization",
                                        "message": response.json()["error"]["message"]}
    assert response.headers["www-authenticate"] == "Bearer"
    if before is not None:
        assert _count(hub) == before
    for secret in (CANARY, WRONG_CANARY):
        assert secret not in response.text
        assert not any(secret in v for v in response.headers.values())


@pytest.mark.requirement("WID-01", "EVT-01", "GATE-01")
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_answers_the_right_key_with_rate_limit_headers(
    hub: RunningHub, method: str, path: str, body: dict[str, object] | None
) -> None:
    with hub.client() as http:
        first = http.request(method, path, json=body)
        second = http.request(method, path, json=body)
    assert first.status_code == second.status_code == (201 if method == "POST" else 200)
    for response in (first, second):
        assert CANARY not in response.text
        assert not any(CANARY in v for v in response.headers.values())
        for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert response.headers[header].isdigit()
        assert int(response.headers["x-ratelimit-limit"]) == 100_000
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in (first, second)]
    assert remaining[1] < remaining[0]


@pytest.mark.requirement("GATE-01")
def test_refusals_after_auth_carry_rate_limit_headers(hub: RunningHub) -> None:
    with hub.client() as http:
        response = http.post("/api/v2/widgets", json={"hubId": HUB_ID})
    assert response.status_code == 400
    assert response.headers["x-ratelimit-remaining"].isdigit()


def test_past_the_limit_the_answer_is_429_and_nothing_is_stored() -> None:
    with running_reference_hub(rate_limit=3) as hub, hub.client() as http:
        ok = [http.get("/api/v2/hubs") for _ in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        assert [r.headers["x-ratelimit-remaining"] for r in ok] == ["2", "1", "0"]
        refused = http.post("/api/v2/interaction-events", json={
            "widgetId": WIDGET, "eventType": "ops-service-discovered"})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["x-ratelimit-remaining"] == "0"
        # Another consumer has its own window and sees that nothing was stored.
        with hub.client(key=hub.unbound_key) as other:
            events = other.get("/api/v2/interaction-events").json()
        assert events["pagination"]["totalCount"] == 0


def test_keys_are_stored_hashed_and_never_logged(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite"
    log = io.StringIO()
    with running_reference_hub(key=CANARY, db=str(db), access_log=log) as hub:
        with hub.client() as http:
            assert http.get("/api/v2/widgets", params={"token": CANARY}).status_code == 200
            assert http.get(f"/api/v2/nope?key={CANARY}").status_code == 404
        assert httpx.get(f"{hub.base_url}/progress/",
                         headers={"Authorization": f"Bearer {WRONG_CANARY}"}).status_code == 200
    text = log.getvalue()
    assert "GET /api/v2/widgets 200" in text and "GET /api/v2/nope 404" in text
    assert CANARY not in text and WRONG_CANARY not in text and "token=" not in text
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert CANARY.encode() not in raw
    with sqlite3.connect(db) as conn:
        hashes = {row[0] for row in conn.execute("SELECT key_hash FROM consumers")}
    assert hashlib.sha256(CANARY.encode()).hexdigest() in hashes


def test_a_file_database_keeps_data_across_restarts_with_new_keys(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.sqlite")
    with running_reference_hub(db=db) as hub, hub.client() as http:
        widget = http.post("/api/v2/widgets", json={
            "hubId": HUB_ID, "name": "kept", "widgetType": "ops-risk"}).json()["id"]
    with running_reference_hub(db=db) as hub, hub.client() as http:
        assert http.get(f"/api/v2/widgets/{widget}").json()["name"] == "kept"
        assert http.get("/api/v2/widgets").json()["pagination"]["totalCount"] == 8
        assert hub.db_path == db


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_HUB_KEY", "env-bound-key")
    monkeypatch.setenv("IHUB_UNBOUND_KEY", "env-unbound-key")
    with running_reference_hub() as hub:
        assert (hub.key, hub.unbound_key) == ("env-bound-key", "env-unbound-key")
        assert "env-bound-key" not in repr(hub)
        with hub.client(key="env-unbound-key") as http:
            assert http.get("/api/v2/consumer").json()["name"] == "ops-console"

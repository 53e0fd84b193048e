"""Reference hub storage: a failing write leaves nothing behind; seeding is idempotent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ihub_conformance.reference import store as store_module
from ihub_conformance.reference.auth import hash_key
from ihub_conformance.reference.seed import load_seed
from ihub_conformance.reference.store import Store

FIXED = "11111111-1111-4111-8111-111111111111"
FIELDS = {"hubId": "00000000-0000-4000-8000-000000000001", "name": "n", "widgetType": "ops-risk",
          "capabilityRef": None, "viewContext": None, "policyScope": "internal",
          "status": "active", "adapterSpecId": None}


def _seeded(db: str = ":memory:") -> Store:
    store = Store(db)
    store.load_seed(load_seed(), {"activity-core": hash_key("a"), "ops-console": hash_key("b")})
    return store


def test_a_widget_whose_version_cannot_be_written_is_not_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = _seeded()
    with store.transaction() as db:  # a stray version row makes the second insert fail
        db.execute("INSERT INTO widget_versions VALUES ('v', ?, 1, '{}', 'now')", (FIXED,))
    monkeypatch.setattr(store_module, "new_id", lambda: FIXED)
    before = store.list_widgets(0, 200)[1]
    with pytest.raises(sqlite3.IntegrityError):
        store.create_widget(dict(FIELDS))
    assert store.get_widget(FIXED) is None
    assert store.list_widgets(0, 200)[1] == before


def test_a_widget_and_its_version_are_written_together() -> None:
    store = _seeded()
    widget = store.create_widget(dict(FIELDS))
    rows, total = store.list_versions(widget["id"], 0, 10)
    assert total == 1 and rows[0]["snapshot"] == FIELDS


def test_seeding_a_file_twice_keeps_one_copy_and_the_newest_key_hash(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.sqlite")
    _seeded(db).close()
    store = Store(db)
    store.load_seed(load_seed(), {"activity-core": hash_key("new"), "ops-console": hash_key("b")})
    assert store.list_widgets(0, 200)[1] == 7
    assert len(store.list_progress(None, 500)) == 3
    hashes = {c["name"]: c["key_hash"] for c in store.consumers()}
    assert hashes["activity-core"] == hash_key("new")

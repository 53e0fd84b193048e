"""SQLite storage of the reference hub: schema, seed load, reads and transactional writes.

One connection guarded by a lock: every write (a widget and its first
WidgetVersion, an event) is one transaction, so a refused request leaves
nothing behind and concurrent writers cannot interleave half-writes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hubs (id TEXT PRIMARY KEY, slug TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_types (name TEXT PRIMARY KEY, description TEXT,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS widget_types (name TEXT PRIMARY KEY, description TEXT,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policy_scopes (name TEXT PRIMARY KEY, description TEXT,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS adapter_specs (id TEXT PRIMARY KEY, name TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (id TEXT PRIMARY KEY, hub_id TEXT NOT NULL,
    status TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consumers (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL,
    hub_id TEXT NOT NULL, manifest_id TEXT, key_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS widgets (id TEXT PRIMARY KEY, hub_id TEXT NOT NULL,
    name TEXT, widget_type TEXT NOT NULL, capability_ref TEXT, view_context TEXT,
    policy_scope TEXT, status TEXT NOT NULL, adapter_spec_id TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS widgets_order ON widgets (created_at, id);
CREATE TABLE IF NOT EXISTS widget_versions (id TEXT PRIMARY KEY, widget_id TEXT NOT NULL,
    version INTEGER NOT NULL, snapshot TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (widget_id, version));
CREATE TABLE IF NOT EXISTS interaction_events (id TEXT PRIMARY KEY, widget_id TEXT,
    event_type TEXT NOT NULL, view_context_ref TEXT, metadata TEXT,
    occurred_at TEXT NOT NULL, actor_type TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_order ON interaction_events (created_at, id);
CREATE INDEX IF NOT EXISTS events_widget ON interaction_events (widget_id, created_at, id);
CREATE INDEX IF NOT EXISTS events_type ON interaction_events (event_type, created_at, id);
CREATE TABLE IF NOT EXISTS progress (id INTEGER PRIMARY KEY, event_type TEXT NOT NULL,
    idempotency_key TEXT, activity_core_run_id TEXT, context_key TEXT, detail TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS progress_order ON progress (created_at, id);
"""

_WIDGET_COLUMNS = (
    "id, hub_id AS hubId, name, widget_type AS widgetType, capability_ref AS capabilityRef, "
    "view_context AS viewContext, policy_scope AS policyScope, status, "
    "adapter_spec_id AS adapterSpecId, created_at AS createdAt, updated_at AS updatedAt"
)
_EVENT_COLUMNS = (
    "id, widget_id AS widgetId, event_type AS eventType, view_context_ref AS viewContextRef, "
    "metadata, occurred_at AS occurredAt, actor_type AS actorType, created_at AS createdAt"
)


def now() -> str:
    """Server time, RFC 3339 UTC with microseconds (sorts as a string)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return str(uuid.uuid4())


# Another process may hold a shared file's write lock (`serve --db` twice). A write waits
# for it up to WRITE_WAIT seconds, trying every RETRY_EVERY, and each try waits at most
# SQLITE_WAIT inside SQLite: our own lock (which reads share) is never held for longer.
WRITE_WAIT = 2.0
RETRY_EVERY = 0.05
SQLITE_WAIT = 0.05


class StoreBusy(Exception):
    """The database stayed locked by another process (answered 503 with Retry-After)."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """The hub's tables in one SQLite database (a file, or ":memory:")."""

    def __init__(self, db: str = ":memory:") -> None:
        self.path = db
        self._lock = threading.RLock()
        # Setting up may wait for another server on the same file; requests then may not.
        self._conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None,
                                     timeout=5.0)
        self._conn.row_factory = sqlite3.Row
        if db != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA busy_timeout = {int(SQLITE_WAIT * 1000)}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT, rolled back on any exception; StoreBusy when another
        process keeps the write lock past WRITE_WAIT (call it off the event loop)."""
        deadline = time.monotonic() + WRITE_WAIT
        while True:
            with self._lock:
                if self._begin():
                    try:
                        yield self._conn
                        self._conn.execute("COMMIT")
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    return
            if time.monotonic() > deadline:
                raise StoreBusy(f"the database stayed locked for {WRITE_WAIT:g}s")
            time.sleep(RETRY_EVERY)

    def _begin(self) -> bool:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            return False
        return True

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._execute(sql, params).fetchall()]

    def _execute(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusy("the database is locked by another process") from None
            raise

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # -- seed -------------------------------------------------------------------------------

    def load_seed(self, seed: dict[str, Any], key_hashes: dict[str, str]) -> None:
        """Insert the seed (idempotent for a file database that was seeded before)."""
        stamp = now()
        with self.transaction() as db:
            hub_ids = {}
            for hub in seed["hubs"]:
                hub_ids[hub["slug"]] = hub["id"]
                db.execute("INSERT OR IGNORE INTO hubs VALUES (?, ?, ?, ?)",
                           (hub["id"], hub["slug"], hub["name"], stamp))
            for row in seed.get("adapter_specs", ()):
                db.execute("INSERT OR IGNORE INTO adapter_specs VALUES (?, ?, ?)",
                           (row["id"], row["name"], stamp))
            for table in ("event_types", "widget_types", "policy_scopes"):
                for row in seed[table]:
                    db.execute(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?)",  # noqa: S608
                               (row["name"], row["description"], stamp))
            for m in seed["manifests"]:
                db.execute("INSERT OR IGNORE INTO manifests VALUES (?, ?, ?, ?, ?)",
                           (m["id"], hub_ids[m["hub"]], m["status"], orjson.dumps(m).decode(),
                            stamp))
            for c in seed["consumers"]:
                # The key may differ from the last run: the hash is always replaced.
                db.execute(
                    "INSERT INTO consumers VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE "
                    "SET key_hash = excluded.key_hash",
                    (c["id"], c["name"], hub_ids[c["hub"]], c["manifest"],
                     key_hashes[c["name"]]))
            for w in seed["widgets"]:
                if db.execute("SELECT 1 FROM widgets WHERE id = ?", (w["id"],)).fetchone():
                    continue
                self._insert_widget(db, w, stamp, with_version=True)
            for p in seed["progress"]:
                db.execute(
                    "INSERT OR IGNORE INTO progress VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (p["id"], p["event_type"], p["idempotency_key"], p["activity_core_run_id"],
                     p["context_key"], orjson.dumps(p["detail"]).decode(), p["created_at"]))

    # -- widgets ----------------------------------------------------------------------------

    @staticmethod
    def _insert_widget(db: sqlite3.Connection, w: dict[str, Any], stamp: str, *,
                       with_version: bool) -> None:
        db.execute(
            "INSERT INTO widgets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (w["id"], w["hubId"], w["name"], w["widgetType"], w["capabilityRef"],
             w["viewContext"], w["policyScope"], w["status"], w["adapterSpecId"], stamp, stamp))
        if with_version:
            snapshot = {k: w[k] for k in ("hubId", "name", "widgetType", "capabilityRef",
                                          "viewContext", "policyScope", "status",
                                          "adapterSpecId")}
            db.execute("INSERT INTO widget_versions VALUES (?, ?, 1, ?, ?)",
                       (new_id(), w["id"], orjson.dumps(snapshot).decode(), stamp))

    def create_widget(self, fields: dict[str, Any], *, with_version: bool = True
                      ) -> dict[str, Any]:
        widget = dict(fields, id=new_id())
        stamp = now()
        with self.transaction() as db:
            self._insert_widget(db, widget, stamp, with_version=with_version)
        return {"id": widget["id"], **fields, "createdAt": stamp, "updatedAt": stamp}

    def get_widget(self, widget_id: str) -> dict[str, Any] | None:
        return self._one(f"SELECT {_WIDGET_COLUMNS} FROM widgets WHERE id = ?",  # noqa: S608
                         (widget_id,))

    def widget_exists(self, widget_id: str) -> bool:
        return self._one("SELECT 1 AS x FROM widgets WHERE id = ?", (widget_id,)) is not None

    def list_widgets(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return self._page("widgets", _WIDGET_COLUMNS, "", (), offset, limit)

    def list_versions(self, widget_id: str, offset: int, limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        rows, total = self._page(
            "widget_versions", "id, widget_id AS widgetId, version, snapshot, "
            "created_at AS createdAt", "widget_id = ?", (widget_id,), offset, limit,
            order="version, id")
        for row in rows:
            row["snapshot"] = orjson.loads(row["snapshot"])
        return rows, total

    # -- interaction events -----------------------------------------------------------------

    def create_event(self, fields: dict[str, Any]) -> dict[str, Any]:
        stamp = now()
        event = {"id": new_id(), **fields, "createdAt": stamp}
        event["occurredAt"] = event.get("occurredAt") or stamp
        metadata = event.get("metadata")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO interaction_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (event["id"], event["widgetId"], event["eventType"], event["viewContextRef"],
                 None if metadata is None else orjson.dumps(metadata).decode(),
                 event["occurredAt"], event["actorType"], stamp))
        return event

    def list_events(self, offset: int, limit: int, *, widget_id: str | None = None,
                    event_type: str | None = None) -> tuple[list[dict[str, Any]], int]:
        clauses, params = [], []
        if widget_id is not None:
            clauses.append("widget_id = ?")
            params.append(widget_id)
        if event_type is not None:
            clauses.append("event_type = ?")
            params.append(event_type)
        rows, total = self._page("interaction_events", _EVENT_COLUMNS, " AND ".join(clauses),
                                 tuple(params), offset, limit)
        for row in rows:
            if row["metadata"] is not None:
                row["metadata"] = orjson.loads(row["metadata"])
        return rows, total

    # -- registries, hubs, manifests, consumers, progress -----------------------------------

    def registry_has(self, table: str, name: str) -> bool:
        assert table in ("event_types", "widget_types", "policy_scopes")
        return self._one(f"SELECT 1 AS x FROM {table} WHERE name = ?",  # noqa: S608
                         (name,)) is not None

    def list_registry(self, table: str, offset: int, limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        assert table in ("event_types", "widget_types", "policy_scopes")
        return self._page(table, "name, description", "", (), offset, limit,
                          order="created_at, rowid")

    def adapter_spec_exists(self, spec_id: str) -> bool:
        return self._one("SELECT 1 AS x FROM adapter_specs WHERE id = ?",
                         (spec_id.lower(),)) is not None

    def hub_exists(self, hub_id: str) -> bool:
        return self._one("SELECT 1 AS x FROM hubs WHERE id = ?", (hub_id,)) is not None

    def list_hubs(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        return self._page("hubs", "id, slug, name", "", (), offset, limit)

    def active_manifest(self, hub_slug: str) -> dict[str, Any] | None:
        row = self._one(
            "SELECT m.body, m.hub_id, m.created_at FROM manifests m JOIN hubs h "
            "ON h.id = m.hub_id WHERE h.slug = ? AND m.status = 'active' "
            "ORDER BY m.created_at DESC, m.id LIMIT 1", (hub_slug,))
        if row is None:
            return None
        body = orjson.loads(row["body"])
        return {"id": body.pop("id"), "hubId": row["hub_id"], **body,
                "createdAt": row["created_at"]}

    def manifest_event_types(self, manifest_id: str) -> set[str] | None:
        """The event types of the consumer's manifest when it is active, else None."""
        row = self._one("SELECT body FROM manifests WHERE id = ? AND status = 'active'",
                        (manifest_id,))
        return set(orjson.loads(row["body"])["eventTypes"]) if row else None

    def consumers(self) -> list[dict[str, Any]]:
        return self._all("SELECT id, name, hub_id AS hubId, manifest_id AS manifestId, key_hash "
                         "FROM consumers ORDER BY name")

    def list_progress(self, event_type: str | None, limit: int, *, newest_first: bool = True
                      ) -> list[dict[str, Any]]:
        where = "WHERE event_type = ?" if event_type is not None else ""
        direction = "DESC" if newest_first else "ASC"
        # Only fixed fragments are interpolated; values are bound parameters.
        sql = (
            "SELECT id, event_type, idempotency_key, activity_core_run_id, context_key, detail, "  # noqa: S608
            f"created_at FROM progress {where} ORDER BY created_at {direction}, id {direction} "
            "LIMIT ?"
        )
        rows = self._all(sql,
            (event_type, limit) if event_type is not None else (limit,))
        for row in rows:
            row["detail"] = orjson.loads(row["detail"])
        return rows

    def _page(self, table: str, columns: str, where: str, params: tuple[Any, ...],
              offset: int, limit: int, *, order: str = "created_at, id"
              ) -> tuple[list[dict[str, Any]], int]:
        clause = f"WHERE {where}" if where else ""
        with self._lock:  # count and page read under one lock: a consistent pair
            total = self._execute(
                f"SELECT COUNT(*) FROM {table} {clause}", params).fetchone()[0]  # noqa: S608
            rows = self._all(
                f"SELECT {columns} FROM {table} {clause} ORDER BY {order} "  # noqa: S608
                "LIMIT ? OFFSET ?", (*params, limit, offset))
        return rows, int(total)

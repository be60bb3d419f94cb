"""Peers' files that turned out to be fakes, remembered so they are never downloaded again.

A source is one file of one peer (``username``, remote ``filename``). The list
lives in the app's SQLite database, in its own table created on first use
(``CREATE TABLE IF NOT EXISTS``), and is read once per :class:`BadSources`
object and kept in memory: the download queue asks it for every candidate.
"""
from __future__ import annotations

import threading
import time

from soulsync.core.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bad_sources (
    username TEXT NOT NULL,
    filename TEXT NOT NULL,
    reason TEXT NOT NULL,
    found_at REAL NOT NULL,
    PRIMARY KEY (username, filename)
)
"""
_MAX_REASON = 300


class BadSources:
    """The remembered bad sources of one database. Thread-safe."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        with store.transaction() as conn:
            conn.execute(_SCHEMA)
        rows = store.query("SELECT username, filename, reason FROM bad_sources")
        self._known: dict[tuple[str, str], str] = {(r["username"], r["filename"]): r["reason"] for r in rows}

    def add(self, username: str, filename: str, reason: str) -> None:
        """Remember a peer's file as bad, with the reason in words (a later reason replaces an earlier one)."""
        reason = reason[:_MAX_REASON]
        with self._store.transaction() as conn:
            conn.execute("INSERT INTO bad_sources (username, filename, reason, found_at) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT(username, filename) DO UPDATE SET reason = excluded.reason,"
                         " found_at = excluded.found_at", (username, filename, reason, time.time()))
        with self._lock:
            self._known[(username, filename)] = reason

    def reason(self, username: str, filename: str) -> str | None:
        """Why this peer's file is bad, or None when it is not known as bad."""
        with self._lock:
            return self._known.get((username, filename))

    def __contains__(self, source: object) -> bool:
        with self._lock:
            return source in self._known

    def __len__(self) -> int:
        with self._lock:
            return len(self._known)

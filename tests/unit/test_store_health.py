"""SQLite trouble at start-up (issue 17, item 10): each told in words with what to do; the rolling backup."""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from soulsync.core.store import Store
from soulsync.core.store_schema import SCHEMA_VERSION
from soulsync.core.store_health import StoreProblem, backup_store, classify, newest_backup, open_store


def _made(path: Path) -> Path:
    store = Store(path)
    store.add_activity("test", "something")
    store.close()
    return path


def test_a_folder_in_place_of_the_database(tmp_path):
    (tmp_path / "db.sqlite3").mkdir()
    with pytest.raises(StoreProblem) as caught:
        open_store(tmp_path / "db.sqlite3")
    assert caught.value.kind == "folder" and "Move that folder away" in caught.value.todo


@pytest.mark.parametrize("content", [b"this is a text file, not a database\n" * 50, os.urandom(8192)])
def test_not_a_database(tmp_path, content):
    (tmp_path / "db.sqlite3").write_bytes(content)
    with pytest.raises(StoreProblem) as caught:
        open_store(tmp_path / "db.sqlite3")
    assert caught.value.kind == "damaged" and "move db.sqlite3 out of" in caught.value.todo


def test_a_damaged_database_points_to_the_newest_backup(tmp_path):
    db = _made(tmp_path / "db.sqlite3")
    store = open_store(db)
    backup = backup_store(store)
    store.close()
    data = bytearray(db.read_bytes())
    data[0:16] = b"garbage garbage!"  # the header
    db.write_bytes(bytes(data))
    with pytest.raises(StoreProblem) as caught:
        open_store(db)
    assert caught.value.kind == "damaged" and str(backup) in caught.value.todo
    restored = open_store(backup)  # the backup itself is a whole, usable database
    assert restored.integrity_ok() and restored.activity()[0]["message"] == "something"
    restored.close()


def test_locked_by_another_program_is_told_without_a_long_wait(tmp_path):
    db = _made(tmp_path / "db.sqlite3")
    other = sqlite3.connect(str(db), isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreProblem) as caught:
            open_store(db, wait_s=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert caught.value.kind == "locked" and "Close that program" in caught.value.todo


def test_a_newer_schema_is_refused_and_left_unchanged(tmp_path):
    db = _made(tmp_path / "db.sqlite3")
    conn = sqlite3.connect(str(db))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreProblem) as caught:
        open_store(db)
    assert caught.value.kind == "newer" and db.read_bytes() == before


@pytest.mark.parametrize("message, kind", [("attempt to write a readonly database", "read-only"),
                                           ("database or disk is full", "disk-full"),
                                           ("database is locked", "locked"),
                                           ("database disk image is malformed", "damaged"),
                                           ("unable to open database file", "cannot-open")])
def test_each_sqlite_error_gets_its_words(tmp_path, message, kind):
    problem = classify(sqlite3.OperationalError(message), tmp_path / "db.sqlite3")
    assert problem.kind == kind and problem.what and problem.todo


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_database(tmp_path):
    db = _made(tmp_path / "d" / "db.sqlite3")
    for p in (db, db.parent):
        p.chmod(0o555)
    try:
        with pytest.raises(StoreProblem) as caught:
            open_store(db)
    finally:
        db.parent.chmod(0o755)
    assert caught.value.kind in ("read-only", "cannot-open")


def test_the_rolling_backup_keeps_the_newest_three_once_a_day(tmp_path):
    store = open_store(_made(tmp_path / "db.sqlite3"))
    made = []
    for n in range(5):
        copy = backup_store(store)
        assert copy is not None and backup_store(store) is None  # one a day
        made.append(copy)
        stamp = time.time() - (10 - n) * 86400
        os.utime(copy, (stamp, stamp))
        copy.rename(copy.with_name(f"db-2026010{n}-000000.sqlite3"))
    backups = sorted((tmp_path / "backups").glob("*.sqlite3"))
    assert len(backups) == 3 and newest_backup(store.path) == backups[-1]
    store.close()


def test_the_app_shows_a_window_instead_of_an_unexpected_error(qtbot, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QMessageBox

    from soulsync import app

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.text(), box.informativeText())) or 0)
    config = tmp_path / "cfg"
    (config / "data" / "soulsync.sqlite3").mkdir(parents=True)
    import logging

    handlers = list(logging.getLogger().handlers)
    try:
        status = app.run_gui(app.build_parser().parse_args(["--config-dir", str(config)]))
    finally:
        for handler in logging.getLogger().handlers:
            if handler not in handlers:
                logging.getLogger().removeHandler(handler)
                handler.close()
    assert status == app.EXIT_STORE
    [(what, todo)] = shown
    assert "there is a folder" in what and "Move that folder away" in todo


def test_a_database_path_with_uri_characters_opens(tmp_path):
    db = _made(tmp_path / "what?#100% sure" / "db.sqlite3")
    store = open_store(db)
    assert store.activity()[0]["message"] == "something"
    store.close()

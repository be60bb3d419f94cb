"""Opening the database at start-up with every failure told in words, and the rolling backup of it.

:func:`open_store` turns what SQLite says (not a database, malformed, locked, read-only, disk full,
a folder in the file's place, a schema from a newer version) into a :class:`StoreProblem` whose
``what`` and ``todo`` the app shows in a window and the command line prints. :func:`backup_store`
keeps the newest few daily copies (SQLite's online backup, so a copy is always consistent) that the
words point to when the database is damaged.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from soulsync.core.store import Store
from soulsync.core.store_schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

BACKUPS_KEPT = 3
BACKUP_EVERY_S = 24 * 3600.0
OPEN_WAIT_S = 5.0
"""How long opening waits for another program's lock on the database before saying so."""


class StoreProblem(Exception):
    """The database cannot be used; ``kind`` names the trouble, ``what`` and ``todo`` say it in words."""

    def __init__(self, kind: str, what: str, todo: str) -> None:
        super().__init__(f"{what} {todo}")
        self.kind = kind
        self.what = what
        self.todo = todo


def backups_dir(database: Path) -> Path:
    """Where the rolling backups of ``database`` are kept."""
    return database.parent / "backups"


def newest_backup(database: Path) -> Path | None:
    """The most recent backup of ``database``, or None."""
    found = sorted(backups_dir(database).glob(f"{database.stem}-*.sqlite3"))
    return found[-1] if found else None


def _restore_hint(database: Path) -> str:
    backup = newest_backup(database)
    if backup is None:
        return (f"Close SoulSync and move {database.name} out of {database.parent}: SoulSync then starts with an "
                "empty database (settings and passwords are kept; the library is read again).")
    return (f"Close SoulSync and replace {database} by its backup {backup} (made "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(backup.stat().st_mtime))}), or move it away to start "
            "with an empty database.")


def classify(exc: BaseException, database: Path) -> StoreProblem:
    """The words for an error SQLite (or the file system) raised while opening ``database``."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.DatabaseError):
        if "locked" in text or "busy" in text:
            return StoreProblem("locked", f"The database {database} is in use by another program.",
                                "Close that program (a database browser, a backup tool, another SoulSync) and "
                                "start SoulSync again.")
        if "readonly" in text or "read-only" in text:
            return StoreProblem("read-only", f"SoulSync cannot write its database {database}: it or its folder is "
                                "read-only.", "Make the file and its folder writable for your user (or move the "
                                "folder off a read-only disk) and start SoulSync again.")
        if "full" in text:
            return StoreProblem("disk-full", f"The disk holding {database} is full.",
                                "Free some space on it and start SoulSync again.")
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StoreProblem("damaged", f"The database {database} is damaged ({exc}).", _restore_hint(database))
        if "unable to open" in text:
            return StoreProblem("cannot-open", f"SoulSync cannot open its database {database} ({exc}).",
                                "Check that the folder exists and that your user may write in it.")
    if isinstance(exc, OSError):
        return StoreProblem("cannot-open", f"SoulSync cannot open its database {database} "
                            f"({exc.strerror or exc}).", "Check the folder and its permissions.")
    return StoreProblem("damaged", f"The database {database} cannot be used ({exc}).", _restore_hint(database))


def open_store(database: Path, wait_s: float = OPEN_WAIT_S) -> Store:
    """The store at ``database``, or :class:`StoreProblem` saying what is wrong and what to do.

    Waits at most ``wait_s`` for another program's lock (not SQLite's usual 30 s in silence)."""
    database = Path(database)
    if database.is_dir():
        raise StoreProblem("folder", f"In place of the database file {database} there is a folder.",
                           "Move that folder away (or rename it) and start SoulSync again.")
    try:
        version = _version(database, wait_s)
        if version > SCHEMA_VERSION:
            raise StoreProblem("newer", f"The database {database} was written by a newer version of SoulSync "
                               f"(schema {version}; this version knows {SCHEMA_VERSION}).",
                               "Start that newer version again, or move the database away to start this one "
                               "with an empty one (a newer database is never changed by an older SoulSync).")
        return Store(database, busy_timeout_s=wait_s)
    except StoreProblem:
        raise
    except (sqlite3.Error, OSError) as exc:
        log.error("Database %s cannot be opened: %s", database, exc)
        raise classify(exc, database) from None


def _version(database: Path, wait_s: float) -> int:
    """The database's schema version without changing anything (0 for a new file)."""
    if not database.exists():
        return 0
    conn = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True, timeout=wait_s)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def backup_store(store: Store, keep: int = BACKUPS_KEPT, every_s: float = BACKUP_EVERY_S) -> Path | None:
    """A consistent copy of the database into its backups folder when the newest is older than ``every_s``;
    only the newest ``keep`` copies are kept. Returns the new copy (None when none was due). Disk work:
    call from a worker."""
    database = store.path
    if database is None:
        return None
    folder = backups_dir(database)
    latest = newest_backup(database)
    if latest is not None and time.time() - latest.stat().st_mtime < every_s:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{database.stem}-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
    partial = target.with_suffix(".partial")
    store.backup_to(partial)
    os.replace(partial, target)
    for old in sorted(folder.glob(f"{database.stem}-*.sqlite3"))[:-keep]:
        old.unlink(missing_ok=True)
    log.info("Database backed up to %s", target)
    return target

"""Secrets: the OS keyring when there is one, else a file only the owner can read.

Known secret names are listed in :data:`SECRET_NAMES`. Every value stored or
read is registered with :mod:`soulsync.logsetup`'s scrubber so it can never
appear in a log line.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from soulsync.config import atomic_write_text, keep_aside
from soulsync.logsetup import register_secret

log = logging.getLogger(__name__)

SECRET_NAMES = (
    "spotify_client_secret",
    "spotify_refresh_token",
    "spotify_access_token",
    "plex_token",
    "slskd_api_key",
    "slskd_password",
)


_PAIR = re.compile(r'"(' + "|".join(SECRET_NAMES) + r')"\s*:\s*"((?:[^"\\\x00-\x1f]|\\.)*)"')
"""A known secret's ``"name": "value"`` pair, found in a damaged file's text."""


def salvage(text: str) -> dict[str, str]:
    """The known secrets whose name and whole value can still be read from a damaged file's ``text``."""
    found: dict[str, str] = {}
    for match in _PAIR.finditer(text):
        try:
            value = json.loads(f'"{match.group(2)}"')
        except ValueError:
            continue
        if value:
            found[match.group(1)] = value
    return found


def _usable_keyring():
    """The keyring module when a real backend is available, else None."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or "chainer" in type(backend).__module__ and not getattr(backend, "backends", None):
            return None
        if getattr(backend, "priority", 1) <= 0:
            return None
        return keyring
    except Exception:  # no backend, broken D-Bus...: the file fallback takes over
        return None


class SecretStore:
    """Get and set secrets by name.

    ``backend``: ``"auto"`` (keyring if usable, else file), ``"keyring"`` or
    ``"file"``. Keyring entries are namespaced by the config folder so two
    configurations (e.g. demo mode) never share secrets.
    """

    def __init__(self, config_dir: Path, backend: str = "auto") -> None:
        self._file = Path(config_dir) / "secrets.json"
        self._service = "SoulSync:" + hashlib.sha1(str(Path(config_dir).resolve()).encode()).hexdigest()[:12]
        self._lock = threading.Lock()
        """Guards the cache and the file; never held around a keyring call."""
        self._write_lock = threading.Lock()
        """One keyring or file write at a time."""
        self._keyring: Any = None
        if backend in ("auto", "keyring"):
            self._keyring = _usable_keyring()
            if self._keyring is None and backend == "keyring":
                raise RuntimeError("No usable OS keyring backend")
        self.backend_name = "keyring" if self._keyring else "file"
        self._cache: dict[str, str] = {}
        """Every secret as last read or written: reads never wait on the keyring (a D-Bus call that can
        take long, or an unlock prompt) once the store is open, so the GUI thread may ask for them."""
        self._file_stamp: tuple[int, int, int] | None = None
        self.notices: list[str] = []
        """A damaged secrets file found (kept aside; what could be read was kept), in words for the app."""
        self.reload()

    @property
    def file_path(self) -> Path:
        return self._file

    def reload(self) -> None:
        """Read every secret again (keyring or file), e.g. after another process (the headless sync
        renewing a token) changed one. Calls the keyring: run it in a worker. A name whose read fails
        keeps the value it had."""
        if self._keyring is None:
            with self._lock:
                data = self._read_file()
                self._cache = {n: data.get(n, "") for n in SECRET_NAMES}
            values = dict(self._cache)
        else:
            values = {}
            for name in SECRET_NAMES:
                value = self._peek(name)
                if value is not None:
                    values[name] = value
            with self._lock:
                self._cache.update(values)
        for value in values.values():
            if value:
                register_secret(value)

    def _read_file(self) -> dict[str, str]:
        """The fallback file's secrets. A damaged file is never written over: it is kept aside under a new
        number, the secrets that can still be read from it are written back, and :attr:`notices` says so."""
        self._file_stamp = self._stamp()
        try:
            text = self._file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("its top level is not an object")
        except (ValueError, RecursionError) as exc:
            return self._damaged(text, exc)
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def _damaged(self, text: str, exc: BaseException) -> dict[str, str]:
        kept = salvage(text)
        aside = keep_aside(self._file, "secrets")
        if aside is None:  # not even moved: leave it alone rather than write over it
            self.notices.append(f"The secrets file {self._file} is damaged and could not be kept aside; "
                                "SoulSync does not write over it. Move it away and enter the passwords again.")
            return kept
        names = ", ".join(sorted(kept)) or "none"
        log.error("Secrets file damaged (%s); kept aside as %s; secrets still readable: %s",
                  type(exc).__name__, aside.name, names)
        self.notices.append(f"The secrets file was damaged: it is kept as {aside.name} (readable only by you). "
                            f"Secrets that could still be read were kept ({names}); enter the others again in "
                            "Settings.")
        atomic_write_text(self._file, json.dumps(kept, indent=1), mode=0o600)
        self._file_stamp = self._stamp()
        return kept

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self._file.stat()
            return st.st_mtime_ns, st.st_size, st.st_ino
        except OSError:
            return None

    def _peek(self, name: str) -> str | None:
        """The keyring's value ("" when unset), or None when the keyring could not be read."""
        try:
            return self._keyring.get_password(self._service, name) or ""
        except Exception as exc:
            log.warning("Keyring read failed for %s: %s", name, type(exc).__name__)
            return None

    def get(self, name: str) -> str:
        """The secret's value ("" when unset), from memory: never a keyring call. The fallback file is
        read again only when another process changed it (a stat per call)."""
        with self._lock:
            if self._keyring is None and self._stamp() != self._file_stamp:
                data = self._read_file()
                self._cache = {n: data.get(n, "") for n in SECRET_NAMES}
            value = self._cache.get(name, "")
        if value:
            register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        """Store a secret ("" deletes it). Calls the keyring: run it in a worker. Readers are never
        kept waiting by a slow write; they see the new value once it is stored."""
        if name not in SECRET_NAMES:
            raise KeyError(f"unknown secret {name!r}")
        value = value or ""
        if value:
            register_secret(value)
        with self._write_lock:
            if self._keyring is not None:
                if value:
                    self._keyring.set_password(self._service, name, value)
                else:
                    try:
                        self._keyring.delete_password(self._service, name)
                    except Exception:
                        pass
                with self._lock:
                    self._cache[name] = value
                return
            with self._lock:
                data = self._read_file()
                if value:
                    data[name] = value
                else:
                    data.pop(name, None)
                atomic_write_text(self._file, json.dumps(data, indent=1), mode=0o600)
                os.chmod(self._file, 0o600)
                self._file_stamp = self._stamp()
                self._cache = {n: data.get(n, "") for n in SECRET_NAMES}

    def delete(self, name: str) -> None:
        self.set(name, "")

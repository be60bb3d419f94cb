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
import threading
from pathlib import Path

from soulsync.config import atomic_write_text
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


def _usable_keyring():
    """The keyring module when a real backend is available, else None."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or "chainer" in type(backend).__module__ and not backend.backends:
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
        self._keyring = None
        if backend in ("auto", "keyring"):
            self._keyring = _usable_keyring()
            if self._keyring is None and backend == "keyring":
                raise RuntimeError("No usable OS keyring backend")
        self.backend_name = "keyring" if self._keyring else "file"
        self._cache: dict[str, str] = {}
        """Every secret as last read or written: reads never wait on the keyring (a D-Bus call that can
        take long) once the store is open, so the GUI thread may ask for them."""
        self._file_stamp: tuple[int, int] | None = None
        for name in SECRET_NAMES:
            value = self._peek(name)
            self._cache[name] = value
            if value:
                register_secret(value)

    @property
    def file_path(self) -> Path:
        return self._file

    def _read_file(self) -> dict[str, str]:
        self._file_stamp = self._stamp()
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
            return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        except (OSError, ValueError, AttributeError):
            return {}

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self._file.stat()
            return st.st_mtime_ns, st.st_size
        except OSError:
            return None

    def _peek(self, name: str) -> str:
        if self._keyring is not None:
            try:
                return self._keyring.get_password(self._service, name) or ""
            except Exception as exc:
                log.warning("Keyring read failed for %s: %s", name, type(exc).__name__)
                return ""
        return self._read_file().get(name, "")

    def get(self, name: str) -> str:
        """The secret's value ("" when unset), from memory; the fallback file is read again only when
        another process (the headless sync renewing a token) changed it."""
        with self._lock:
            if self._keyring is None and self._stamp() != self._file_stamp:
                data = self._read_file()
                self._cache = {n: data.get(n, "") for n in SECRET_NAMES}
            value = self._cache.get(name, "")
        if value:
            register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        if name not in SECRET_NAMES:
            raise KeyError(f"unknown secret {name!r}")
        value = value or ""
        if value:
            register_secret(value)
        with self._lock:
            if self._keyring is not None:
                if value:
                    self._keyring.set_password(self._service, name, value)
                else:
                    try:
                        self._keyring.delete_password(self._service, name)
                    except Exception:
                        pass
                self._cache[name] = value
                return
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

"""One owner per config folder: a lock that dies with its process, and the running window brought forward.

Two processes on one config folder (two app windows, or the app and ``soulsync sync``) would
download the same file twice and revert each other's settings. :class:`FolderLock` takes an
exclusive lock on ``<config>/.lock`` (``flock`` on Linux and macOS, ``msvcrt.locking`` on Windows):
the operating system drops it when the process ends, however it ends, so a crash never leaves a
stale lock. A second app start asks the running one to show its window (:func:`ask_to_show`,
over a ``QLocalServer`` named after the folder, see :class:`ShowRequests`) and exits; the
command line stops with its own exit status (:data:`soulsync.cli.EXIT_BUSY`).
"""
from __future__ import annotations

import getpass
import hashlib
import os
import sys
from pathlib import Path

LOCK_NAME = ".lock"


class FolderInUse(Exception):
    """Another process owns the config folder; the message says which one, in words."""

    def __init__(self, folder: Path, owner: str) -> None:
        self.folder = folder
        self.owner = owner
        super().__init__(f"the config folder {folder} is in use by {owner}")


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; False when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


_OWNER_AT = 1 if sys.platform == "win32" else 0
"""Where the owner's description starts in the lock file (on Windows byte 0 is the locked one)."""


def _read_owner(fd: int) -> str:
    """Who holds the lock, as its owner wrote it ("" when unknown)."""
    try:
        os.lseek(fd, _OWNER_AT, os.SEEK_SET)
        return os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        return ""


class FolderLock:
    """The exclusive ownership of one config folder, held until :meth:`release` or the process ends."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, folder: Path, role: str) -> "FolderLock":
        """Own ``folder`` as ``role`` (``"the app"`` or ``"soulsync sync"``...); raises :class:`FolderInUse`
        when another process owns it, and ``OSError`` when the lock file cannot be made."""
        folder = Path(folder)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            owner = _read_owner(fd)
            os.close(fd)
            raise FolderInUse(folder, owner or "another SoulSync process")
        text = f"{role} (process {os.getpid()})".encode()
        if sys.platform != "win32":
            os.ftruncate(fd, 0)
        os.lseek(fd, _OWNER_AT, os.SEEK_SET)
        os.write(fd, text)
        return cls(folder, fd)

    def release(self) -> None:
        """Give the folder up (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def server_name(folder: Path) -> str:
    """The local socket name of the app owning ``folder`` (per user and folder)."""
    owner = f"{getpass.getuser()}\0{Path(folder).resolve()}"
    return "soulsync-" + hashlib.sha1(owner.encode("utf-8", "surrogateescape")).hexdigest()[:20]


SHOW = b"show\n"


def ask_to_show(folder: Path, timeout_ms: int = 10_000) -> bool:
    """Ask the app owning ``folder`` to bring its window to the front; False when it did not answer.

    Runs before any window exists (the second start), so waiting here blocks no GUI."""
    from PyQt6.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    socket.connectToServer(server_name(folder))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(SHOW)
    ok = socket.waitForBytesWritten(timeout_ms) and socket.waitForReadyRead(timeout_ms)
    answer = bytes(socket.readAll().data()) if ok else b""
    socket.disconnectFromServer()
    return answer.startswith(b"ok")


class ShowRequests:
    """The running app's side: a ``QLocalServer`` that calls ``show()`` when a second start asks."""

    def __init__(self, folder: Path, show) -> None:
        from PyQt6.QtNetwork import QLocalServer

        self._show = show
        self.server = QLocalServer()
        name = server_name(folder)
        QLocalServer.removeServer(name)  # a socket file left by a crashed owner (we hold the folder's lock)
        self.listening = self.server.listen(name)
        self.server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW.strip()):
            self._show()
            socket.write(b"ok\n")
            socket.flush()

    def close(self) -> None:
        """Stop listening."""
        self.server.close()


def bring_to_front(window) -> None:
    """Show ``window`` (restored if minimised), raised above others and focused."""
    from PyQt6.QtCore import Qt

    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()

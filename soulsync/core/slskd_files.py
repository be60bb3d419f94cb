"""What slskd does with a download outside its transfer list: where it files the finished file, and
whether a failed transfer is final or will be tried again.

Both depend on slskd's version and settings (``../shared/reference/service-apis.md`` sections 1.4, 1.6
and 1.7), which :class:`DownloadRules` holds as read from ``GET /api/v0/options``:

* up to 0.25 a finished file lands in ``<downloads>/<last remote folder>/<file>`` (a share root such as
  ``@@abcde`` counts as a folder) and a failed transfer is final;
* from 0.26 the folder is ``transfers.download.destination.subdirectory`` (default
  ``${SOURCE_DIRECTORY}``) with the remote share root stripped first, and a ``TimedOut`` or ``Errored``
  transfer is tried again up to ``transfers.download.retry.attempts`` times.

slskd replaces the characters its host OS forbids in each local name segment with ``_`` (Linux: NUL and
``/``; Windows: ``"<>|:*?\\/``, NUL and control characters) and treats both ``\\`` and ``/`` as
separators. The API does not say which OS slskd runs on, so both forms are looked for. Remote names
come from peers and are untrusted: a candidate that would leave the downloads folder is never used.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from soulsync.core.models import Transfer, TransferState

DEFAULT_DESTINATION = "${SOURCE_DIRECTORY}"
"""slskd 0.26's default ``transfers.download.destination.subdirectory``."""
DEFAULT_RETRY_ATTEMPTS = 3
"""slskd 0.26's default ``transfers.download.retry.attempts``."""

_INVALID = {
    "linux": re.compile(r"[\x00/]"),
    "windows": re.compile(r'[\x00-\x1f"<>|:*?\\/]'),
}
"""Characters each host OS forbids in a file name (slskd replaces them with ``_``)."""
_SEPARATORS = re.compile(r"[\\/]")
_SHARE_ROOT = re.compile(r"@@[A-Za-z0-9]{5,}\Z")
_DRIVE_ROOT = re.compile(r"[A-Za-z]:\Z")
_TOKEN = re.compile(r"\$\{([A-Za-z_]+)\}")
_PLACEHOLDERS = {"BATCH_ID": "unknown_batch_id", "BATCH_EXTERNAL_ID": "unknown_batch_external_id",
                 "SEARCH_ID": "unknown_search_id", "SEARCH_TEXT": "unknown_search_text"}
"""Tokens a plain enqueue leaves unfilled (slskd writes placeholders for them)."""
_RETRIED = frozenset({TransferState.TIMED_OUT, TransferState.ERRORED})
"""Failures slskd 0.26 tries again; cancellation, rejection and size mismatches (aborted) are final."""


class LocateError(Exception):
    """A finished download could not be found or used; ``reason`` says why in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeRemotePath(LocateError):
    """A peer's path would resolve outside the downloads folder."""


@dataclass(frozen=True, slots=True)
class DownloadRules:
    """slskd's download settings that decide where files land and whether failures are final.

    The defaults are those of slskd 0.24 and 0.25 (no destination pattern, no retries); ``known`` is
    False while the options could not be read, and then both the old rule and 0.26's default pattern
    are tried when looking for a file.
    """

    destination: str | None = None
    """``transfers.download.destination.subdirectory`` (0.26+); None: the last remote folder (<= 0.25)."""
    retry_attempts: int = 1
    """``transfers.download.retry.attempts``: tries per download, the first included (1: never retried)."""
    retry_delay_s: float = 5.0
    retry_max_delay_s: float = 60.0
    connect_timeout_s: float = 10.0
    """``soulseek.connection.timeout.connect``: how long slskd may take to reach a peer."""
    known: bool = True

    @property
    def destinations(self) -> tuple[str | None, ...]:
        """The folder rules to look for a finished file under."""
        return (self.destination,) if self.known else (None, DEFAULT_DESTINATION)

    @property
    def retry_window_s(self) -> float:
        """How long slskd may leave a failed attempt unchanged before it retries (``maxDelay`` + ``delay``)."""
        return self.retry_max_delay_s + self.retry_delay_s

    @property
    def enqueue_timeout_s(self) -> float:
        """How long an enqueue may take: slskd answers only after reaching the peer, which takes up to the
        connect timeout and can take longer (the address lookup, direct and indirect connection attempts;
        not measured), so twice the connect timeout plus 5 s."""
        return 2 * self.connect_timeout_s + 5.0

    def will_retry(self, transfer: Transfer) -> bool:
        """Whether slskd will try this failed transfer again (attempts left, and a failure it retries)."""
        attempts = transfer.attempts
        return (transfer.state in _RETRIED and attempts is not None and attempts >= 1
                and attempts < self.retry_attempts)


UNKNOWN_RULES = DownloadRules(retry_attempts=DEFAULT_RETRY_ATTEMPTS, known=False)
"""What to assume while slskd's options cannot be read: both folder rules, and 0.26's default of three
attempts (only 0.26+ reports ``attempts``, so for older versions a failure stays final)."""


def _segments(path: str, host: str) -> list[str]:
    """A remote path as the local name segments slskd on ``host`` makes of it."""
    invalid = _INVALID[host]
    return [invalid.sub("_", part) for part in _SEPARATORS.split(path) if part]


def _without_root(remote: str, segments: list[str]) -> list[str]:
    """The segments after a share root (``@@abcde``), a drive (``C:``) or a UNC server (``\\\\nas``)."""
    if segments and (remote.startswith("\\\\") or _SHARE_ROOT.match(segments[0]) or _DRIVE_ROOT.match(segments[0])):
        return segments[1:]
    return segments


def _folder(destination: str | None, username: str, remote: str, host: str) -> list[str]:
    segments = _segments(remote, host)
    if destination is None:
        return segments[-2:-1]
    if destination.strip() == "{}":
        return []
    folders = _without_root(remote, segments)[:-1]
    values = {"SOURCE_USERNAME": _INVALID[host].sub("_", username), "SOURCE_PATH": "/".join(folders),
              "SOURCE_DIRECTORY": folders[-1] if folders else "", **_PLACEHOLDERS}
    filled = _TOKEN.sub(lambda m: values.get(m.group(1).upper(), m.group(0)), destination)
    return [part for part in _SEPARATORS.split(filled) if part]


def local_names(username: str, remote_filename: str, rules: DownloadRules) -> list[tuple[str, ...]]:
    """The relative paths (segments) under which slskd may have filed this download, most likely first:
    each folder rule of ``rules`` with the Linux and the Windows file-name rules, without repeats.
    A remote name ending in a separator names no file: then there are none."""
    found: list[tuple[str, ...]] = []
    if _SEPARATORS.match(remote_filename[-1:]):
        return found
    for destination in rules.destinations:
        for host in ("linux", "windows"):
            segments = _segments(remote_filename, host)
            if not segments:
                continue
            parts = (*_folder(destination, username, remote_filename, host), segments[-1])
            if parts not in found:
                found.append(parts)
    return found


def file_name(remote_filename: str) -> str:
    """The file name part of a remote path (either separator), for messages."""
    parts = [p for p in _SEPARATORS.split(remote_filename) if p]
    return parts[-1] if parts else remote_filename


def _inside(path: str, root: str) -> bool:
    return path != root and os.path.commonpath([path, root]) == root


def expected_local_paths(downloads_dir: str | os.PathLike, username: str, remote_filename: str,
                         rules: DownloadRules) -> list[Path]:
    """Where slskd may have put a finished download (see :func:`local_names`), resolved.

    A candidate that would lead outside ``downloads_dir`` (``..``, a symlink) is dropped; when none is
    left, :class:`UnsafeRemotePath` is raised.
    """
    root = os.path.realpath(downloads_dir)
    paths: list[Path] = []
    for parts in local_names(username, remote_filename, rules):
        if ".." in parts or parts[-1] == ".":
            continue
        target = os.path.realpath(os.path.join(root, *parts))
        if _inside(target, root) and Path(target) not in paths:
            paths.append(Path(target))
    if not paths:
        raise UnsafeRemotePath(f"the remote path {remote_filename[-80:]!r} would lead outside the downloads folder "
                               "or has no usable file name")
    return paths


def locate_download(downloads_dir: str | os.PathLike, username: str, remote_filename: str, size: int,
                    rules: DownloadRules) -> Path:
    """The local file of a finished download.

    Looks in every candidate place (:func:`expected_local_paths`) for the expected name and for the
    ``<stem>_<ticks><ext>`` variants slskd writes on a name clash, keeps those of the announced ``size``
    (any size when it is 0) and returns the newest. Raises :class:`LocateError`.
    """
    targets = expected_local_paths(downloads_dir, username, remote_filename, rules)
    root = os.path.realpath(downloads_dir)
    found: list[tuple[float, int, str, int]] = []
    unreadable: list[str] = []
    for target in targets:
        stem, ext = os.path.splitext(target.name)
        variant = re.compile(re.escape(stem) + r"_(\d+)" + re.escape(ext) + r"\Z")
        try:
            with os.scandir(target.parent) as entries:
                for entry in entries:
                    match = None if entry.name == target.name else variant.match(entry.name)
                    if entry.name != target.name and match is None:
                        continue
                    real = os.path.realpath(entry.path)
                    if not _inside(real, root) or not os.path.isfile(real):
                        continue
                    stat = os.stat(real)
                    found.append((stat.st_mtime, int(match.group(1)) if match else 0, real, stat.st_size))
        except FileNotFoundError:
            continue
        except OSError as exc:
            unreadable.append(f"the folder {target.parent} cannot be read ({exc.strerror or exc})")
    if not found:
        raise LocateError(unreadable[0] if unreadable else f"{targets[0]} does not exist"
                          + (f" (nor {len(targets) - 1} other place(s) slskd may use)" if len(targets) > 1 else ""))
    fitting = [f for f in found if size <= 0 or f[3] == size]
    if not fitting:
        _, _, path, actual = max(found)
        raise LocateError(f"{Path(path).name} is {actual:,} bytes but {size:,} were announced (download incomplete?)")
    return Path(max(fitting)[2])


def incomplete_names(username: str, remote_filename: str) -> list[tuple[str, ...]]:
    """Where slskd may write a running download, below its incomplete folder, most likely first:
    ``<last remote folder>/<file>`` (<= 0.25), ``<username>/<remote folders without the root>/<file>``
    (0.26+), and ``<file>``; with both hosts' file-name rules."""
    found: list[tuple[str, ...]] = []
    for host in ("linux", "windows"):
        segments = _segments(remote_filename, host)
        if not segments:
            continue
        user = _INVALID[host].sub("_", username)
        for parts in ((*segments[-2:-1], segments[-1]),
                      (user, *_without_root(remote_filename, segments)[:-1], segments[-1]),
                      (segments[-1],)):
            if parts not in found:
                found.append(parts)
    return found

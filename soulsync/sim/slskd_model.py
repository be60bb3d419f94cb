"""Records and wire formats of the slskd simulation: simulated time, .NET date and time
formats, remote paths, searches, transfers and transfer fault rules.

Kept apart from the HTTP server (:mod:`soulsync.sim.slskd`) so the data slskd keeps and
the way it writes them on the wire can be read on their own.
"""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from soulsync.sim.catalog import strip_accents
from soulsync.sim.peers import Peer, SharedFile

CONCURRENCY_MESSAGE = "Only one concurrent operation is permitted. Wait until the previous request completes"
CANCELLED_MESSAGE = "The operation was canceled."
PEER_TIMEOUT_MS = 15000
"""Soulseek.NET's default peer inactivity timeout."""

SEARCH_DEFAULTS = {"searchTimeout": 15000, "responseLimit": 250, "fileLimit": 25000, "filterResponses": True,
                   "maximumPeerQueueLength": 2**31 - 1, "minimumPeerUploadSpeed": 0, "minimumResponseFileCount": 1}
"""Soulseek.NET's SearchOptions defaults for fields a request leaves out."""

TRANSFER_OUTCOMES = ("stall", "rejected", "timed_out", "errored", "aborted")
GUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_WORD = re.compile(r"[^\W_]+")
_TICKS_AT_UNIX_EPOCH = 621355968000000000


# ---------------------------------------------------------------------------
# time and wire formatting
# ---------------------------------------------------------------------------

class SimClock:
    """Simulated time: real monotonic time multiplied by ``time_scale`` (changeable at run time)."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._lock = threading.Lock()
        self._scale = float(time_scale)
        self._real0 = time.monotonic()
        self._sim0 = 0.0
        self._epoch = datetime.now(timezone.utc)

    @property
    def time_scale(self) -> float:
        return self._scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        if value <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            now = time.monotonic()
            self._sim0 += (now - self._real0) * self._scale
            self._real0 = now
            self._scale = float(value)

    def now(self) -> float:
        """Simulated seconds since the clock was made."""
        with self._lock:
            return self._sim0 + (time.monotonic() - self._real0) * self._scale

    def utc(self, at: float | None = None) -> datetime:
        """The simulated wall-clock time (UTC) of ``at`` (default: now)."""
        return self._epoch + timedelta(seconds=self.now() if at is None else at)


def dotnet_datetime(value: datetime, utc_suffix: bool) -> str:
    """System.Text.Json's DateTime form: up to 7 fraction digits, trailing zeros dropped."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{value.microsecond:06d}0".rstrip("0")
    return text + (f".{fraction}" if fraction else "") + ("Z" if utc_suffix else "")


def dotnet_timespan(seconds: float) -> str:
    """.NET TimeSpan "c" format, e.g. ``00:00:11.0750000`` or ``1.02:03:04``."""
    ticks = max(0, round(seconds * 10_000_000))
    total_seconds, fraction = divmod(ticks, 10_000_000)
    minutes, secs = divmod(total_seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    text = f"{days}." if days else ""
    text += f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return text + (f".{fraction:07d}" if fraction else "")


def dotnet_ticks(value: datetime) -> int:
    """``DateTime.Ticks`` of a UTC time (100 ns units since 0001-01-01)."""
    delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return _TICKS_AT_UNIX_EPOCH + (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def parse_bool(value: Any) -> bool:
    """Request booleans, case-insensitively (``True``, ``true``, ``1``)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def fold_words(text: str) -> list[str]:
    """Lower-case, accent-free words of a path or a query."""
    return _WORD.findall(strip_accents(text).lower())


def directory_name(filename: str) -> str:
    """slskd's ``DirectoryName()``: everything before the last separator ('/' if present, else '\\')."""
    separator = "/" if "/" in filename else "\\"
    return filename.rsplit(separator, 1)[0] if separator in filename else ""


# ---------------------------------------------------------------------------
# local file names (service-apis.md section 1.7)
# ---------------------------------------------------------------------------

HOST_OSES = ("linux", "windows")
_INVALID_NAME_CHARS = {
    # .NET Path.GetInvalidFileNameChars() on Unix (<= 0.25, CommonExtensions.ReplaceInvalidFileNameCharacters);
    # 0.26+ FileSafety.InvalidFileNameCharactersOnUnix: the same set
    "linux": frozenset("\0/"),
    # Path.GetInvalidFileNameChars() on Windows; 0.26+ FileSafety.InvalidFileNameCharactersOnWindows
    "windows": frozenset('"<>|:*?\\/') | frozenset(chr(code) for code in range(32)),
}
_SHARE_ROOT = re.compile(r"^@@[A-Za-z0-9]{5,}$")
"""A SoulseekQt share root (FileSafety.StripPathRoot, 0.26+)."""
_DRIVE_ROOT = re.compile(r"^[A-Za-z]:$")
DESTINATION_PLACEHOLDERS = {"BATCH_ID": "unknown_batch_id", "BATCH_EXTERNAL_ID": "unknown_batch_external_id",
                            "SEARCH_ID": "unknown_search_id", "SEARCH_TEXT": "unknown_search_text"}
"""What DownloadService.DeriveDestination writes for tokens a plain (non-batch) enqueue does not fill;
only ``unknown_batch_id`` is quoted by the reference, the other three follow its pattern [unverified]."""
_TOKEN = re.compile(r"\$\{([A-Za-z_]+)\}")


def local_segment(part: str, host_os: str) -> str:
    """One local name segment with the host's invalid file-name characters replaced by ``_``."""
    invalid = _INVALID_NAME_CHARS[host_os]
    return "".join("_" if ch in invalid else ch for ch in part)


def local_segments(path: str, host_os: str) -> list[str]:
    """A remote path as local name segments: both ``\\`` and ``/`` separate (<= 0.25
    CommonExtensions.LocalizePath, 0.26+ FileSafety.LocalizePath), empty segments dropped, each sanitised."""
    return [local_segment(p, host_os) for p in re.split(r"[\\/]", path) if p]


def _strip_root(filename: str, segments: list[str]) -> list[str]:
    """FileSafety.StripPathRoot (0.26+): drop an ``@@xxxxx`` share root, a ``C:`` drive or a ``\\\\server`` UNC root.
    It runs on sanitised segments, so on Windows a drive's ``:`` is already ``_`` and the root stays."""
    if not segments:
        return segments
    if filename.startswith("\\\\") or _SHARE_ROOT.match(segments[0]) or _DRIVE_ROOT.match(segments[0]):
        return segments[1:]
    return segments


def legacy_folder(filename: str, host_os: str) -> list[str]:
    """<= 0.25 (CommonExtensions.ToLocalRelativeFilename): the last remote directory, a share root included."""
    segments = local_segments(filename, host_os)
    return segments[-2:-1]


def destination_folder(pattern: str, username: str, filename: str, host_os: str) -> list[str]:
    """0.26+ DownloadService.DeriveDestination: ``transfers.download.destination.subdirectory`` with its
    tokens filled from the remote path (root stripped) and the user, each value sanitised; ``{}`` is the
    downloads root. Returns the folder's segments below the downloads directory."""
    folders = _strip_root(filename, local_segments(filename, host_os))[:-1]
    values = {"SOURCE_USERNAME": local_segment(username, host_os),
              "SOURCE_PATH": "/".join(folders),
              "SOURCE_DIRECTORY": folders[-1] if folders else "", **DESTINATION_PLACEHOLDERS}
    if pattern.strip() == "{}":
        return []
    filled = _TOKEN.sub(lambda m: values.get(m.group(1).upper(), m.group(0)), pattern)
    return [p for p in re.split(r"[\\/]", filled) if p]


def incomplete_folder(username: str, filename: str, host_os: str, version: tuple[int, ...]) -> list[str]:
    """Where a running download grows, below the incomplete directory: <= 0.25 the last remote directory;
    0.26+ ``<username>/<remote directory path without its root>`` (DownloadService, FileSafety)."""
    if version < (0, 26):
        return legacy_folder(filename, host_os)
    folders = _strip_root(filename, local_segments(filename, host_os))[:-1]
    return [local_segment(username, host_os), *folders]


def local_file_name(filename: str, host_os: str) -> str:
    """The file name slskd writes (the remote name's last segment, sanitised); empty when there is none."""
    segments = local_segments(filename, host_os)
    return segments[-1] if segments else ""


@dataclass
class RetryOptions:
    """``transfers.download.retry`` (0.26+, src/slskd/Core/Options.cs)."""

    attempts: int = 3
    delay_ms: int = 5000
    max_delay_ms: int = 60000
    partial: str = "resume"

    def backoff_s(self, attempt: int, jitter: float) -> float:
        """Seconds to wait before ``attempt`` (>= 2): Compute.ExponentialBackoffDelay,
        ``floor((2^(n-1) - 1) / 2) * delay`` capped at maxDelay, plus ``jitter`` (0..1) of a delay."""
        base = min(((2 ** (attempt - 1) - 1) // 2) * self.delay_ms, self.max_delay_ms)
        return (base + jitter * self.delay_ms) / 1000.0

    def as_json(self) -> dict:
        return {"attempts": self.attempts, "delay": self.delay_ms, "maxDelay": self.max_delay_ms,
                "partial": self.partial}


# ---------------------------------------------------------------------------
# searches
# ---------------------------------------------------------------------------

@dataclass
class PendingResponse:
    due: float
    peer: Peer
    files: list[SharedFile]
    locked: list[SharedFile]


@dataclass
class SimSearch:
    """A search record and its Soulseek-side progress.

    Life cycle as slskd 0.24.5-0.26 shows it (``src/slskd/Search/SearchService.cs`` ``StartAsync``,
    Soulseek.NET ``src/SearchInternal.cs``): ``Queued`` until one of Soulseek.NET's two search slots
    is free, ``InProgress`` (only then does ``searchTimeout`` start), ``Completed, <reason>`` with
    final counts but no ``endedAt`` and no responses (the state callback's write), and only after the
    completion window (:attr:`finalize_at`) ``endedAt`` and the responses together (the second write).
    """

    id: str
    text: str
    """The stored ``searchText`` (normalised by Soulseek.NET's ``SearchQuery.ToString()``)."""
    network_text: str
    """What goes to the Soulseek network: the terms longer than one character and the exclusions."""
    token: int
    started: float
    """Simulated time of the POST (``startedAt``)."""
    started_utc: datetime
    timeout_s: float
    response_limit: int
    file_limit: int
    filters: dict[str, Any]
    state: str = "Queued"
    pending: list[PendingResponse] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    response_count: int = 0
    file_count: int = 0
    locked_file_count: int = 0
    last_activity: float = 0.0
    """Simulated time of the last response (or of ``InProgress``): the timeout counts from here."""
    ended_utc: datetime | None = None
    finalize_at: float | None = None
    """When the second write (``endedAt`` and responses) lands; None until ``Completed`` is set."""
    cancel_requested: bool = False
    deleted: bool = False
    """DELETE removed the record; the network search goes on (slskd never cancels it on delete)."""

    @property
    def complete(self) -> bool:
        """``Completed`` is set (``isComplete``); the responses may not be stored yet."""
        return self.state.startswith("Completed")

    @property
    def ended(self) -> bool:
        """``endedAt`` is set: the responses are stored and readable."""
        return self.ended_utc is not None

    @property
    def running(self) -> bool:
        return self.state == "InProgress"

    def as_json(self, include_responses: bool = False) -> dict:
        body = {
            "fileCount": self.file_count, "id": self.id, "isComplete": self.complete,
            "lockedFileCount": self.locked_file_count, "responseCount": self.response_count,
            "responses": list(self.received) if include_responses and self.ended else [],
            "searchText": self.text, "startedAt": dotnet_datetime(self.started_utc, True),
            "state": self.state, "token": self.token,
        }
        if self.ended_utc is not None:
            body["endedAt"] = dotnet_datetime(self.ended_utc, True)
        return body


@dataclass(frozen=True)
class SearchQuery:
    """A search text split as Soulseek.NET's ``SearchQuery`` does (``src/SearchQuery.cs``).

    The text is split on the space character only (no trimming, so two spaces make an empty
    term); a token starting with ``-`` and longer than one character is an exclusion (``-``
    stripped, duplicates dropped); every other token is a term, a lone ``-`` included.
    """

    terms: tuple[str, ...]
    exclusions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "SearchQuery":
        terms: list[str] = []
        exclusions: list[str] = []
        for token in text.split(" "):
            if token.startswith("-") and len(token) > 1:
                if token[1:] not in exclusions:
                    exclusions.append(token[1:])
            else:
                terms.append(token)
        return cls(tuple(terms), tuple(exclusions))

    def stored_text(self) -> str:
        """``SearchQuery.ToString()``: the terms (one-character ones too) joined by single spaces,
        then `` -<exclusion>`` for each exclusion (``"a -b c"`` is stored as ``"a c -b"``)."""
        text = " ".join(t for t in self.terms if t)
        return text + "".join(f" -{e}" for e in self.exclusions)

    def network_terms(self) -> tuple[str, ...]:
        """The terms sent to the network: ``removeSingleCharacterSearchTerms`` (always on in slskd,
        whose ``SearchRequest.ToSearchOptions`` never passes it) drops every term whose C#
        ``string.Length`` (UTF-16 code units) is one or less."""
        return tuple(t for t in self.terms if utf16_length(t) > 1)

    def network_text(self) -> str:
        return " ".join(self.network_terms()) + "".join(f" -{e}" for e in self.exclusions)


def utf16_length(text: str) -> int:
    """C#'s ``string.Length``: UTF-16 code units (a character outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------------------
# transfers
# ---------------------------------------------------------------------------

@dataclass
class TransferFault:
    """A run-time transfer fault: transfers whose user and filename match end the way ``outcome`` says.

    ``stall``: progress stops at fraction ``at`` while the rule exists (the transfer stays
    ``InProgress``); ``errored``: the connection closes at fraction ``at``; ``rejected``,
    ``timed_out``, ``aborted``: the peer denies, never answers, or reports another size when the
    transfer is requested. ``user`` is an exact username, ``match`` a regex searched in the
    remote filename; ``count`` limits how many transfers it hits. ``message`` overrides the
    peer's reason for ``rejected``.
    """

    outcome: str
    user: str | None = None
    match: str = ""
    at: float = 0.5
    count: int | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in TRANSFER_OUTCOMES:
            raise ValueError(f"unknown transfer outcome {self.outcome!r}; expected one of {TRANSFER_OUTCOMES}")
        if not 0.0 <= self.at <= 1.0:
            raise ValueError("at must be a fraction within 0..1")
        self._pattern = re.compile(self.match) if self.match else None

    def matches(self, username: str, filename: str) -> bool:
        if self.user is not None and self.user != username:
            return False
        return self._pattern is None or bool(self._pattern.search(filename))

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class TransferFaults:
    """The run-time transfer fault rules; a rule picked for a transfer sticks to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[TransferFault] = []

    def add(self, outcome: str, **kwargs: Any) -> TransferFault:
        rule = TransferFault(outcome, **kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: TransferFault) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[TransferFault]:
        with self._lock:
            return list(self._rules)

    def active(self, rule: TransferFault) -> bool:
        with self._lock:
            return any(r is rule for r in self._rules)

    def take(self, username: str, filename: str, outcomes: tuple[str, ...]) -> TransferFault | None:
        """The first rule for this transfer among ``outcomes``, consuming one of its counts."""
        with self._lock:
            for rule in self._rules:
                if rule.outcome in outcomes and rule.matches(username, filename):
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    return rule
        return None


@dataclass
class SimTransfer:
    """One download record plus the simulation's private progress."""

    id: str
    username: str
    filename: str
    size: int
    requested_at: datetime
    state: str = "Queued, Locally"
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    bytes_transferred: int = 0
    average_speed: float = 0.0
    place_in_queue: int | None = None
    exception: str | None = None
    removed: bool = False
    attempts: int = 1
    """Which attempt this is (0.26+ retries failed downloads; see :class:`RetryOptions`)."""
    # simulation internals
    sequence: int = 0
    due: float = 0.0
    started: float = 0.0
    wait_places: int = 0
    next_queue_step: float = 0.0
    cancel_requested: bool = False
    fault: TransferFault | None = None
    source: Future | None = None
    incomplete_path: Path | None = None
    local_path: Path | None = None
    """Where the finished file landed (set on success)."""
    retry_due: float | None = None
    """0.26+: a failed attempt that slskd will retry; at this simulated time it turns ``Queued, Locally``."""
    history: list[str] = field(default_factory=lambda: ["Queued, Locally"])
    """Every state it went through, in order (for tests and tools; not part of the API)."""

    def move(self, state: str) -> None:
        self.state = state
        self.history.append(state)

    @property
    def complete(self) -> bool:
        return self.state.startswith("Completed")

    @property
    def active(self) -> bool:
        """Not finished for good: running, or failed with a retry to come."""
        return not self.complete or self.retry_due is not None

    def as_json(self, now_utc: datetime, version: tuple[int, ...]) -> dict:
        body: dict[str, Any] = {
            "id": self.id, "username": self.username, "direction": "Download", "filename": self.filename,
            "size": self.size, "state": self.state,
            "requestedAt": dotnet_datetime(self.requested_at, False),
        }
        if version < (0, 26):
            body["startOffset"] = 0  # Transfer.cs up to 0.25; removed in 0.26
        if (0, 24) <= version < (0, 26):
            body["stateDescription"] = self.state
        if self.enqueued_at is not None:
            body["enqueuedAt"] = dotnet_datetime(self.enqueued_at, False)
        if self.started_at is not None:
            body["startedAt"] = dotnet_datetime(self.started_at, True)
        if self.ended_at is not None:
            body["endedAt"] = dotnet_datetime(self.ended_at, True)
        body["bytesTransferred"] = self.bytes_transferred
        body["averageSpeed"] = self.average_speed
        if self.place_in_queue is not None:
            body["placeInQueue"] = self.place_in_queue
        if self.exception is not None:
            body["exception"] = self.exception
        remaining = self.size - self.bytes_transferred
        body["bytesRemaining"] = remaining
        if self.started_at is not None:
            body["elapsedTime"] = dotnet_timespan(((self.ended_at or now_utc) - self.started_at).total_seconds())
        body["percentComplete"] = (self.bytes_transferred / self.size) * 100 if self.size else 0.0
        if self.average_speed:
            body["remainingTime"] = dotnet_timespan(remaining / self.average_speed)
        if (0, 25) <= version < (0, 26):
            body["attempts"] = 0  # 0.25 added the column but nothing sets it (Transfer.cs, DownloadService.cs)
        if version >= (0, 26):
            body["attempts"] = self.attempts  # 1 for the first attempt, counting retries (DownloadService.DownloadAsync)
            body["removed"] = self.removed  # [JsonIgnore] up to 0.25 (Transfer.cs)
        return body

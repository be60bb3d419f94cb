"""Domain types shared by every layer.

Plain dataclasses: no Qt, no network. Services convert wire data into these;
the UI displays them; the core workflows compute on them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(slots=True)
class Track:
    """One recording as a service, a file or a user describes it.

    ``artists`` lists every credited artist, main artist first. Durations are
    in milliseconds. Every field but ``title`` and ``artists`` is optional
    because every source knows a different subset.
    """

    title: str
    artists: list[str]
    album: str = ""
    duration_ms: int | None = None
    isrc: str | None = None
    album_artist: str = ""
    track_number: int | None = None
    disc_number: int | None = None
    track_total: int | None = None
    disc_total: int | None = None
    year: int | None = None
    genre: str = ""
    spotify_id: str | None = None
    spotify_album_id: str | None = None
    spotify_artist_ids: list[str] = field(default_factory=list)
    plex_rating_key: str | None = None
    path: str | None = None
    """Local file path (library file, downloaded file) when there is one."""
    added_at: int | None = None
    """When a library server added it (unix seconds; Plex ``addedAt``)."""
    updated_at: int | None = None
    """When a library server last changed it (unix seconds; Plex ``updatedAt``)."""
    cover_url: str | None = None
    """The album's cover image (from Spotify), for tagging."""

    @property
    def artist(self) -> str:
        """The main (first credited) artist, or an empty string."""
        return self.artists[0] if self.artists else ""

    def display(self) -> str:
        """``Artist - Title`` for messages and logs."""
        return f"{', '.join(self.artists)} - {self.title}" if self.artists else self.title


@dataclass(slots=True)
class Artist:
    name: str
    spotify_id: str | None = None
    plex_rating_key: str | None = None
    genres: list[str] = field(default_factory=list)
    image_url: str | None = None
    album_count: int = 0
    track_count: int = 0


class AlbumType(str, enum.Enum):
    ALBUM = "album"
    SINGLE = "single"
    COMPILATION = "compilation"
    APPEARS_ON = "appears_on"


@dataclass(slots=True)
class Album:
    title: str
    artists: list[str]
    year: int | None = None
    release_date: str = ""
    album_type: AlbumType = AlbumType.ALBUM
    total_tracks: int = 0
    disc_total: int = 1
    tracks: list[Track] = field(default_factory=list)
    spotify_id: str | None = None
    plex_rating_key: str | None = None
    image_url: str | None = None
    genres: list[str] = field(default_factory=list)
    label: str = ""
    upc: str | None = None

    @property
    def artist(self) -> str:
        return self.artists[0] if self.artists else ""


@dataclass(slots=True)
class Playlist:
    id: str
    name: str
    owner: str = ""
    track_count: int | None = 0
    """Entries as the source counts them; None when it did not say (unknown, not empty)."""
    snapshot_id: str = ""
    image_url: str | None = None
    description: str = ""
    collaborative: bool = False
    public: bool | None = None
    source: str = "spotify"
    """Where it came from: ``spotify``, ``liked``, ``csv``, ``m3u``."""
    unreadable: str = ""
    """Why its tracks cannot be read and what the person can do, in words; empty when they can be."""
    tracks: list[Track] = field(default_factory=list)


@dataclass(slots=True)
class SearchFile:
    """One file of an slskd search response, as the peer announced it."""

    username: str
    filename: str
    """Full remote path exactly as received (backslash separators usually)."""
    size: int = 0
    extension: str = ""
    bitrate: int | None = None
    """kbps"""
    bit_depth: int | None = None
    sample_rate: int | None = None
    length: int | None = None
    """seconds (slskd's ``length``)"""
    is_vbr: bool | None = None
    locked: bool = False
    # peer facts, copied from the response
    has_free_slot: bool = False
    upload_speed: int = 0
    """bytes per second"""
    queue_length: int = 0


class SearchFileFacts:
    """Read-only access to the facts of a wrapped :class:`SearchFile` (``self.file``).

    Shared by grouped search results and ranked download candidates, which
    both wrap one peer's file.
    """

    __slots__ = ()
    file: SearchFile

    @property
    def username(self) -> str:
        return self.file.username

    @property
    def filename(self) -> str:
        return self.file.filename

    @property
    def size(self) -> int:
        return self.file.size

    @property
    def extension(self) -> str:
        return self.file.extension

    @property
    def bitrate(self) -> int | None:
        return self.file.bitrate

    @property
    def bit_depth(self) -> int | None:
        return self.file.bit_depth

    @property
    def sample_rate(self) -> int | None:
        return self.file.sample_rate

    @property
    def length(self) -> int | None:
        return self.file.length

    @property
    def is_vbr(self) -> bool | None:
        return self.file.is_vbr

    @property
    def has_free_slot(self) -> bool:
        return self.file.has_free_slot

    @property
    def upload_speed(self) -> int:
        return self.file.upload_speed

    @property
    def queue_length(self) -> int:
        return self.file.queue_length


class TransferState(str, enum.Enum):
    """Our view of a download, mapped from slskd's exact state strings."""

    QUEUED_LOCALLY = "queued_locally"
    REQUESTED = "requested"
    QUEUED_REMOTELY = "queued_remotely"
    INITIALIZING = "initializing"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    ERRORED = "errored"
    REJECTED = "rejected"
    ABORTED = "aborted"
    UNKNOWN = "unknown"

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED

    @property
    def label(self) -> str:
        """The state in words."""
        return _TRANSFER_WORDS[self]

    @property
    def is_failure(self) -> bool:
        return self in _FINISHED and self is not TransferState.SUCCEEDED


_FINISHED = {
    TransferState.SUCCEEDED,
    TransferState.CANCELLED,
    TransferState.TIMED_OUT,
    TransferState.ERRORED,
    TransferState.REJECTED,
    TransferState.ABORTED,
}

_TRANSFER_WORDS = {
    TransferState.QUEUED_LOCALLY: "Queued (locally)", TransferState.REQUESTED: "Requested",
    TransferState.QUEUED_REMOTELY: "Queued at peer", TransferState.INITIALIZING: "Connecting",
    TransferState.IN_PROGRESS: "Downloading", TransferState.SUCCEEDED: "Done", TransferState.CANCELLED: "Cancelled",
    TransferState.TIMED_OUT: "Timed out", TransferState.ERRORED: "Failed", TransferState.REJECTED: "Rejected by peer",
    TransferState.ABORTED: "Aborted", TransferState.UNKNOWN: "Unknown",
}

_SLSKD_STATES = {
    "requested": TransferState.REQUESTED,
    "queued, locally": TransferState.QUEUED_LOCALLY,
    "queued, remotely": TransferState.QUEUED_REMOTELY,
    "queued": TransferState.QUEUED_REMOTELY,
    "initializing": TransferState.INITIALIZING,
    "inprogress": TransferState.IN_PROGRESS,
    "completed, succeeded": TransferState.SUCCEEDED,
    "completed, cancelled": TransferState.CANCELLED,
    "completed, timedout": TransferState.TIMED_OUT,
    "completed, errored": TransferState.ERRORED,
    "completed, rejected": TransferState.REJECTED,
    "completed, aborted": TransferState.ABORTED,
}


def transfer_state_from_slskd(state: object) -> TransferState:
    """Map slskd's flag-string (``"Completed, Succeeded"``...) exactly.

    Anything unrecognised is UNKNOWN; a bare ``Completed`` with no outcome is
    treated as an error, never as a success.
    """
    if not isinstance(state, str):
        return TransferState.UNKNOWN
    key = ", ".join(p.strip().lower() for p in state.split(",") if p.strip())
    if key in _SLSKD_STATES:
        return _SLSKD_STATES[key]
    if key.startswith("completed"):
        return TransferState.ERRORED
    return TransferState.UNKNOWN


@dataclass(slots=True)
class Transfer:
    """One slskd download as reported by ``transfers/downloads``."""

    id: str
    username: str
    filename: str
    size: int = 0
    state: TransferState = TransferState.UNKNOWN
    raw_state: str = ""
    bytes_transferred: int = 0
    average_speed: float = 0.0
    percent_complete: float = 0.0
    place_in_queue: int | None = None
    exception: str | None = None
    requested_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    attempts: int | None = None
    """slskd's attempt number (0.26+: 1 for the first, counting its own retries); None when not reported
    (before 0.25) or meaningless (0.25 always reports 0)."""

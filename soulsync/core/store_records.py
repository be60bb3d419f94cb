"""The records the store keeps and hands out: queue items (:class:`QueueItem`, :class:`QueueMeta`), Plex
playlists SoulSync made (:class:`PlexPlaylistRecord`), tracks as JSON, and a wanted track's identity
(:func:`wanted_key`)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from soulsync.core.models import Track


def track_to_json(track: Track) -> str:
    return json.dumps(dataclasses.asdict(track), ensure_ascii=False)


def track_from_json(text: str | None) -> Track | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        names = {f.name for f in dataclasses.fields(Track)}
        return Track(**{k: v for k, v in data.items() if k in names})
    except (ValueError, TypeError):
        return None


def wanted_key(track: Track) -> str:
    """A stable identity for a wanted track: its Spotify id, else ISRC, else artist and title."""
    if track.spotify_id:
        return f"spotify:{track.spotify_id}"
    if track.isrc:
        return f"isrc:{track.isrc.upper()}"
    return "text:" + "|".join([", ".join(a.lower() for a in track.artists), track.title.lower(),
                               str(round((track.duration_ms or 0) / 1000))])


Source = tuple[str, str, str]
"""``(username, filename, why)``: a source given up on, and the reason."""


@dataclass(frozen=True)
class QueueMeta:
    """What a queue item carries besides its transfer: the release facts post-processing writes into
    the file, and the sources given up on before its current attempt."""

    cover_url: str | None = None
    """The release's cover art, fetched when the file is tagged."""
    release_date: str = ""
    spotify_album_id: str | None = None
    """The Spotify album the file was queued for (album and matched downloads)."""
    refused: tuple[Source, ...] = ()
    """Sources post-processing refused as fakes, oldest first."""
    earlier_attempts: tuple[Source, ...] = ()
    """Sources of the attempts the user replaced with another file (kept when an item is replaced)."""

    def as_json(self) -> dict[str, Any]:
        """The stored form (the queue's ``meta`` column): the fields that are set."""
        data: dict[str, Any] = {"cover_url": self.cover_url, "release_date": self.release_date,
                                "spotify_album_id": self.spotify_album_id,
                                "refused": [list(s) for s in self.refused],
                                "earlier_attempts": [list(s) for s in self.earlier_attempts]}
        return {k: v for k, v in data.items() if v}

    @classmethod
    def from_json(cls, data: object) -> QueueMeta:
        """Read the stored form; keys nothing reads any more (older rows' ``playlists``, ``query``,
        ``album_folder``) and values of the wrong kind are left out."""
        if not isinstance(data, dict):
            return cls()

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(cover_url=text("cover_url"), release_date=text("release_date") or "",
                   spotify_album_id=text("spotify_album_id"), refused=_sources(data.get("refused"), 3),
                   earlier_attempts=_sources(data.get("earlier_attempts"), 2))


def _sources(entries: object, least: int) -> tuple[Source, ...]:
    """The well-formed ``[username, filename, why]`` entries of a stored list: at least ``least`` parts,
    a user and a file name (a missing or unreadable reason is empty)."""
    out = []
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, list) and len(entry) >= least and all(isinstance(x, str) for x in entry[:2]):
            why = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
            out.append((entry[0], entry[1], why))
    return tuple(out)


@dataclass
class QueueItem:
    """One wanted download and its current attempt."""

    id: str
    state: str
    username: str
    filename: str
    size: int = 0
    wanted: Track | None = None
    slskd_id: str | None = None
    attempt: int = 1
    reason: str = ""
    bytes_done: int = 0
    percent: float = 0.0
    speed: float = 0.0
    place_in_queue: int | None = None
    last_progress_at: float | None = None
    local_path: str | None = None
    final_path: str | None = None
    source: str = "manual"
    group_id: str | None = None
    candidates: list[dict] = field(default_factory=list)
    tried: list[list] = field(default_factory=list)
    meta: QueueMeta = QueueMeta()
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class PlexPlaylistRecord:
    """A playlist SoulSync created on a Plex server, as the store remembers it."""

    server_id: str
    playlist_id: str
    rating_key: str
    guid: str
    title: str
    marked: bool = True
    """Whether the server kept the marker SoulSync wrote into the playlist's summary."""



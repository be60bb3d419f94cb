"""An artist's discography compared with the library: owned, partial or missing, per release and track.

Qt-free and network-free: it is handed a Spotify client (anything with
``search_artists``, ``artist_albums`` and ``album``) and a
:class:`~soulsync.core.library_index.LibraryIndex`.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from soulsync.core.library_index import LibraryIndex, Match
from soulsync.core.models import Album, AlbumType, Artist, Track
from soulsync.core.normalize import fold, normalize_artist

GROUP_ORDER = (AlbumType.ALBUM, AlbumType.SINGLE, AlbumType.COMPILATION, AlbumType.APPEARS_ON)
GROUP_LABELS = {AlbumType.ALBUM: "Albums", AlbumType.SINGLE: "Singles and EPs",
                AlbumType.COMPILATION: "Compilations", AlbumType.APPEARS_ON: "Appears on"}


class ReleaseStatus(str, enum.Enum):
    """How much of a release the library holds."""

    OWNED = "owned"
    PARTIAL = "partial"
    MISSING = "missing"

    @property
    def label(self) -> str:
        """The status in words (the Artists page adds the counts to "Partial")."""
        return self.value.capitalize()


@dataclass
class TrackState:
    track: Track
    match: Match | None

    @property
    def owned(self) -> bool:
        return self.match is not None


@dataclass
class ReleaseState:
    album: Album
    tracks: list[TrackState] = field(default_factory=list)

    @property
    def owned_count(self) -> int:
        return sum(1 for t in self.tracks if t.owned)

    @property
    def total(self) -> int:
        return len(self.tracks)

    @property
    def status(self) -> ReleaseStatus:
        owned = self.owned_count
        if self.total and owned == self.total:
            return ReleaseStatus.OWNED
        return ReleaseStatus.PARTIAL if owned else ReleaseStatus.MISSING

    @property
    def missing_tracks(self) -> list[Track]:
        return [t.track for t in self.tracks if not t.owned]


@dataclass
class Discography:
    artist: Artist
    releases: list[ReleaseState]

    def group(self, kind: AlbumType) -> list[ReleaseState]:
        return [r for r in self.releases if r.album.album_type == kind]

    @property
    def missing_tracks(self) -> list[Track]:
        return [t for r in self.releases for t in r.missing_tracks]


def pick_artist(candidates: list[Artist], name: str) -> Artist | None:
    """The search result that is this artist: an exact folded name first, else the first result."""
    wanted = normalize_artist(name)
    for artist in candidates:
        if normalize_artist(artist.name) == wanted:
            return artist
    return candidates[0] if candidates else None


def compare_release(album: Album, index: LibraryIndex) -> ReleaseState:
    state = ReleaseState(album)
    for track in album.tracks:
        if not track.album:
            track.album = album.title
        state.tracks.append(TrackState(track, index.find(track)))
    return state


def load_discography(spotify: Any, index: LibraryIndex, artist_name: str, include_appears_on: bool = False,
                     progress: Callable[[int, int], None] | None = None,
                     cancelled: Callable[[], bool] = lambda: False) -> Discography | None:
    """Fetch the artist's releases from Spotify and compare each with the library.

    Returns None when Spotify knows no such artist. Releases are ordered by
    group, then newest first.
    """
    artist = pick_artist(spotify.search_artists(artist_name, limit=10), artist_name)
    if artist is None:
        return None
    groups = [g.value for g in GROUP_ORDER if include_appears_on or g is not AlbumType.APPEARS_ON]
    albums = spotify.artist_albums(artist.spotify_id, include_groups=tuple(groups))
    releases: list[ReleaseState] = []
    seen: set[tuple[str, int]] = set()
    for done, summary in enumerate(albums):
        if cancelled():
            break
        key = (fold(summary.title), summary.total_tracks)
        if key in seen:  # the same release listed twice (markets, editions with equal content)
            continue
        seen.add(key)
        album = summary if summary.tracks else spotify.album(summary.spotify_id)
        album.album_type = summary.album_type
        releases.append(compare_release(album, index))
        if progress:
            progress(done + 1, len(albums))
    rank = {kind: i for i, kind in enumerate(GROUP_ORDER)}
    releases.sort(key=lambda r: (rank.get(r.album.album_type, 9), -(r.album.year or 0), r.album.title))
    return Discography(artist, releases)

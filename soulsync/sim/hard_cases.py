"""Names real slskd cannot search as they are, added to a demo world on purpose.

Soulseek.NET drops every search term one character long and slskd refuses a
search with nothing left (``../shared/reference/service-apis.md`` 1.5). A
library tool meets such names daily: ``R.E.M.`` (cleaned to ``R E M``),
one-character CJK titles, ``X`` with a song called ``7``. This module adds a
small release of each to a built catalog, a playlist of the user's holding
them next to an ordinary track, and copies of the searchable ones to a few
peers, so demo mode and tests exercise the path where a search is rewritten or
cannot be made at all.
"""
from __future__ import annotations

from dataclasses import dataclass

from soulsync.core.models import Album, AlbumType, Artist, Playlist, Track
from soulsync.sim.catalog import IMAGE_PATH, Catalog
from soulsync.sim.peers import ENCODINGS, Peer, SharedFile, voice_of

PLAYLIST_NAME = "Hard to Search"
PLAYLIST_ID = "5HardToSearchPl4ylist01"


@dataclass(frozen=True)
class _Release:
    artist: str
    album: str
    year: int
    titles: tuple[str, ...]
    shared: bool
    """Whether peers share it (only names Soulseek can find at all)."""


_RELEASES = (
    _Release("R.E.M.", "Automatic Tones", 1992, ("Drive Slow", "Everybody Waits"), True),
    _Release("光", "愛", 2004, ("愛", "空"), False),
    _Release("X", "7", 1999, ("7",), False),
)


def _sid(kind: str, n: int) -> str:
    """A stable 22-character base-62 id for the added objects."""
    return f"{kind}HardCase{n:02d}".ljust(22, "0")[:22]


def add_hard_cases(catalog: Catalog, peers: list[Peer]) -> Playlist:
    """Add the releases, a playlist of the user's holding their first tracks and one ordinary
    track, and copies of the searchable releases to four peers. Returns the playlist."""
    picked: list[Track] = []
    for n, release in enumerate(_RELEASES, 1):
        artist = Artist(release.artist, spotify_id=_sid("ar", n), genres=["alternative"])
        album = Album(release.album, [release.artist], year=release.year, release_date=str(release.year),
                      album_type=AlbumType.ALBUM if len(release.titles) > 1 else AlbumType.SINGLE,
                      spotify_id=_sid("al", n), image_url=IMAGE_PATH.format(id=_sid("al", n)))
        for number, title in enumerate(release.titles, 1):
            album.tracks.append(Track(
                title=title, artists=[release.artist], album=release.album, duration_ms=180_000 + 7_000 * number,
                isrc=f"QZHC{release.year % 100:02d}{n:03d}{number:02d}", album_artist=release.artist,
                track_number=number, disc_number=1, track_total=len(release.titles), disc_total=1,
                year=release.year, genre="Alternative", spotify_id=_sid(f"t{n}", number),
                spotify_album_id=album.spotify_id, spotify_artist_ids=[artist.spotify_id or ""]))
        album.total_tracks = len(album.tracks)
        artist.album_count, artist.track_count = 1, len(album.tracks)
        catalog.artists.append(artist)
        catalog.albums.append(album)
        catalog.tracks.extend(album.tracks)
        picked.append(album.tracks[0])
        if release.shared:
            _share(album, peers)
    ordinary = next((t for t in catalog.tracks if t not in picked and t.title.isascii() and len(t.title) > 4), None)
    tracks = [*picked, *([ordinary] if ordinary is not None else [])]
    playlist = Playlist(id=PLAYLIST_ID, name=PLAYLIST_NAME, owner=catalog.user_id, track_count=len(tracks),
                        snapshot_id="MSxoYXJkY2FzZXM=", image_url=IMAGE_PATH.format(id=PLAYLIST_ID),
                        description="Names Soulseek cannot search as they are.", public=False, tracks=tracks)
    catalog.playlists.append(playlist)
    return playlist


def _share(album: Album, peers: list[Peer]) -> None:
    """Four peers share the release as FLAC, the way most folders name it (``R.E.M.`` kept)."""
    encoding = ENCODINGS["flac"]
    sharing = [p for p in peers if p.kind == "fast" and not p.offline][:4] or peers[:4]
    for n, peer in enumerate(sharing):
        folder = f"@@hardc{n}\\Music\\{album.artist}\\{album.title} ({album.year})"
        for track in album.tracks:
            tags = (("title", track.title), ("artist", track.artist), ("album", track.album),
                    ("albumartist", track.album_artist), ("tracknumber", str(track.track_number)),
                    ("date", str(track.year)))
            spec = encoding.spec(round((track.duration_ms or 0) / 1000), voice_of(track), tags)
            peer.files.append(SharedFile(f"{folder}\\{track.track_number:02d} - {track.title}.flac", spec, track))

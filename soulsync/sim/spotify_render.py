"""The simulated Spotify Web API's JSON: paging objects and the artist, album, track, user,
playlist and playlist-entry objects, as development mode or an extended-quota app gets them.

Wire facts follow ``reference/service-apis.md`` section 2 (absolute ``next`` URLs back at this
server); the development-mode differences are cited where they are made (February 2026 Web API
changelog and its migration guide, the March 2026 revert; reference 2.4 and 2.5). Catalog
``image_url`` values are relative (``/images/<id>.jpg``) and are prefixed with the server's URL here.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from soulsync.core.models import Album, Artist, Track
from soulsync.sim.spotify_world import Entry, PlaylistState, SpotifyWorld, stable_int

_MARKETS = ("US", "GB", "DE", "SE", "JP")
_VARIOUS_ARTISTS_ID = "0LyfQWJT6nXafLPZqxe9Of"


class SpotifyRenderer:
    """Renders the world's objects as the Web API does; ``base_url`` gives the server's URL."""

    def __init__(self, world: SpotifyWorld, base_url: Callable[[], str]) -> None:
        self.world = world
        self._base_url = base_url

    @property
    def url(self) -> str:
        return self._base_url()

    @property
    def development(self) -> bool:
        return self.world.development

    @property
    def contents_key(self) -> str:
        """A playlist's contents are ``items`` in development mode, ``tracks`` before (renamed, February 2026
        changelog; ``tracks`` observed missing from me/playlists entries by Marinara-Engine PR #681)."""
        return "items" if self.development else "tracks"

    def page(self, path: str, items: list[Any], total: int, offset: int, limit: int,
             extra: dict[str, str] | None = None) -> dict[str, Any]:
        """A Paging object whose ``next``/``previous`` are absolute URLs back at this server."""
        def link(off: int) -> str:
            query = {"offset": str(off), "limit": str(limit), **(extra or {})}
            return f"{self.url}/v1/{path}?{urlencode(query)}"
        return {
            "href": link(offset), "items": items, "limit": limit,
            "next": link(offset + limit) if limit and offset + limit < total else None,
            "offset": offset, "previous": link(max(0, offset - limit)) if offset > 0 and limit else None,
            "total": total,
        }

    # ------------------------------------------------------------ catalog objects
    def images(self, image_url: str | None, sizes: tuple[int, ...] = (640, 300, 64)) -> list[dict[str, Any]]:
        if not image_url:
            return []
        base = f"{self.url}{image_url}"
        return [{"url": base if size == 640 else f"{base}?size={size}", "height": size, "width": size}
                for size in sizes]

    def artist_ref(self, artist_id: str, name: str) -> dict[str, Any]:
        return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
                "href": f"{self.url}/v1/artists/{artist_id}", "id": artist_id, "name": name,
                "type": "artist", "uri": f"spotify:artist:{artist_id}"}

    def artist_full(self, artist: Artist) -> dict[str, Any]:
        aid = artist.spotify_id or ""
        out: dict[str, Any] = {**self.artist_ref(aid, artist.name), "genres": list(artist.genres),
                               "images": self.images(artist.image_url)}
        if not self.development:  # followers, popularity removed for development mode (February 2026 changelog)
            out.update(followers={"href": None, "total": stable_int(aid, 2_000_000)},
                       popularity=stable_int(aid, 90) + 5)
        return out

    def _album_artists(self, album: Album) -> list[dict[str, Any]]:
        first = album.tracks[0] if album.tracks else None
        if first is not None and album.artists[0] == first.artists[0]:
            return [self.artist_ref(first.spotify_artist_ids[0], first.artists[0])]
        return [self.artist_ref(_VARIOUS_ARTISTS_ID, album.artists[0])]

    def album_simple(self, album: Album) -> dict[str, Any]:
        aid = album.spotify_id or ""
        precision = {4: "year", 7: "month"}.get(len(album.release_date), "day")
        out: dict[str, Any] = {"album_type": album.album_type.value, "total_tracks": album.total_tracks,
                               "external_urls": {"spotify": f"https://open.spotify.com/album/{aid}"},
                               "href": f"{self.url}/v1/albums/{aid}", "id": aid,
                               "images": self.images(album.image_url), "name": album.title,
                               "release_date": album.release_date, "release_date_precision": precision,
                               "type": "album", "uri": f"spotify:album:{aid}", "artists": self._album_artists(album)}
        if not self.development:  # available_markets removed for development mode (February 2026 changelog)
            out["available_markets"] = list(_MARKETS)
        return out

    def album_full(self, album: Album) -> dict[str, Any]:
        aid = album.spotify_id or ""
        tracks = [self.track_simple(t) for t in album.tracks[:50]]
        out: dict[str, Any] = {**self.album_simple(album),
                               "tracks": self.page(f"albums/{aid}/tracks", tracks, len(album.tracks), 0, 50),
                               "copyrights": [{"text": f"© {album.year} {album.label}", "type": "C"},
                                              {"text": f"℗ {album.year} {album.label}", "type": "P"}],
                               "external_ids": {"upc": album.upc}, "genres": []}  # upc kept (March 2026 revert)
        if not self.development:  # label, popularity removed for development mode (February 2026 changelog)
            out.update(label=album.label, popularity=stable_int(aid, 80) + 10)
        return out

    def track_simple(self, t: Track) -> dict[str, Any]:
        tid = t.spotify_id or ""
        artists = [self.artist_ref(aid, name) for aid, name in zip(t.spotify_artist_ids, t.artists)]
        out: dict[str, Any] = {"artists": artists, "disc_number": t.disc_number or 1,
                               "duration_ms": t.duration_ms, "explicit": stable_int(tid, 9) == 0,
                               "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"},
                               "href": f"{self.url}/v1/tracks/{tid}", "id": tid, "is_local": False,
                               "is_playable": True, "name": t.title, "preview_url": None,
                               "track_number": t.track_number or 1, "type": "track", "uri": f"spotify:track:{tid}"}
        if not self.development:  # available_markets removed for development mode (February 2026 changelog)
            out["available_markets"] = list(_MARKETS)
        return out

    def track_full(self, t: Track) -> dict[str, Any]:
        album = self.world.albums.get(t.spotify_album_id)
        # external_ids (ISRC) stays: removed in February, reverted in the March 2026 changelog
        out: dict[str, Any] = {**self.track_simple(t), "album": self.album_simple(album) if album else None,
                               "external_ids": {"isrc": t.isrc} if t.isrc else {}}
        if not self.development:  # popularity removed for development mode (February 2026 changelog)
            out["popularity"] = stable_int(t.spotify_id or "", 95)
        return out

    # ------------------------------------------------------------ users and playlists
    def user_ref(self, user_id: str) -> dict[str, Any]:
        return {"external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
                "href": f"{self.url}/v1/users/{user_id}", "id": user_id, "type": "user",
                "uri": f"spotify:user:{user_id}"}

    def owner(self, user_id: str) -> dict[str, Any]:
        return {**self.user_ref(user_id), "display_name": self.world.catalog.owners.get(user_id, user_id)}

    def _playlist_images(self, state: PlaylistState) -> list[dict[str, Any]] | None:
        if not state.entries:
            return None  # Spotify answers null, not [], for a playlist without a cover
        if stable_int(state.meta.id, 2):
            return [{"url": f"{self.url}{state.meta.image_url}", "height": None, "width": None}]
        return self.images(state.meta.image_url, (640, 300, 60))

    def playlist_simple(self, state: PlaylistState) -> dict[str, Any]:
        p = state.meta
        key = self.contents_key
        ref = {"href": f"{self.url}/v1/playlists/{p.id}/{key}", "total": len(state.entries)}
        return {"collaborative": p.collaborative, "description": html.escape(p.description, quote=False),
                "external_urls": {"spotify": f"https://open.spotify.com/playlist/{p.id}"},
                "href": f"{self.url}/v1/playlists/{p.id}", "id": p.id, "images": self._playlist_images(state),
                "name": p.name, "owner": self.owner(p.owner), "primary_color": None, "public": p.public,
                "snapshot_id": p.snapshot_id, key: ref, "type": "playlist", "uri": f"spotify:playlist:{p.id}"}

    def entry(self, entry: Entry, playlist_id: str) -> dict[str, Any]:
        item: dict[str, Any] | None
        if entry.kind == "track" and entry.track is not None:
            item = self.track_full(entry.track)
        elif entry.kind == "local":
            item = self._local_item()
        elif entry.kind == "episode":
            item = self._episode_item(playlist_id)
        else:
            item = None
        # The entry's object is "item" in development mode, "track" before (renamed, February 2026 changelog);
        # never both, so a client reading only one name fails here as it would live.
        return {"added_at": entry.added_at, "added_by": self.user_ref(entry.added_by),
                "is_local": entry.kind == "local", "primary_color": None,
                "item" if self.development else "track": item, "video_thumbnail": {"url": None}}

    def _local_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "album": {"album_type": None, "artists": [], "external_urls": {},
                      "href": None, "id": None, "images": [], "name": "Home Tapes", "release_date": None,
                      "release_date_precision": None, "type": "album", "uri": None},
            "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Kitchen Band",
                         "type": "artist", "uri": None}],
            "disc_number": 0, "duration_ms": 215000, "explicit": False,
            "external_ids": {}, "external_urls": {}, "href": None, "id": None, "is_local": True,
            "name": "Voice Memo 3", "preview_url": None, "track_number": 0,
            "type": "track", "uri": "spotify:local:Kitchen+Band:Home+Tapes:Voice+Memo+3:215"}
        if not self.development:
            item.update(available_markets=[], popularity=0)
            item["album"]["available_markets"] = []
        return item

    def _episode_item(self, playlist_id: str) -> dict[str, Any]:
        eid = f"5Ep{playlist_id[3:]}"[:22]
        return {"audio_preview_url": None, "description": "An invented talk show.", "duration_ms": 1_934_000,
                "explicit": False, "external_urls": {"spotify": f"https://open.spotify.com/episode/{eid}"},
                "href": f"{self.url}/v1/episodes/{eid}", "id": eid, "images": [], "is_playable": True,
                "name": "Episode 12: Tape Hiss", "release_date": "2023-04-01",
                "release_date_precision": "day", "type": "episode", "uri": f"spotify:episode:{eid}",
                "show": {"id": "4Sh0w000000000000000000"[:22], "name": "Loud Quiet Loud", "type": "show"}}

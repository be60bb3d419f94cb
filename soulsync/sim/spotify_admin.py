"""Admin endpoints of the Spotify simulation: the world changing at run time, over HTTP.

Outside the real API's paths (under ``/__sim/``, which faults never touch) and answered for
loopback clients only, so the demo, ``soulsync sim`` users and tests in another process can
make Spotify change under the app the way it does for a real user:

``POST /__sim/releases``
    ``{"artist_id", "title", "tracks": [titles], "kind": "album"|"ep"|"single"|"compilation",
    "release_date": "YYYY-MM-DD"}`` (only ``artist_id`` and ``title`` required): a new release
    (:meth:`SpotifyWorld.publish_release`). Answers 201 with ``{"album": <Web API album object>,
    "tracks": [<plain track fields>]}``; the plain fields are what the slskd simulation's
    ``POST /__sim/shares`` takes to put the release's files on peers.
``POST /__sim/playlists/<id>/tracks``
    ``{"ids": [track ids], "position": n}``: tracks added (by the playlist's owner).
``DELETE /__sim/playlists/<id>/tracks``
    ``{"ids": [track ids]}``: every occurrence removed.
    Both answer ``{"snapshot_id": ...}`` (the playlist's new snapshot).
``GET /__sim/tracks/<id>``
    ``{"track": <plain track fields>}`` of a catalog track (what the slskd simulation's
    ``POST /__sim/shares`` takes to make it available on a peer; its ``isrc`` is what
    ``DELETE /__sim/shares`` takes to make the recording unavailable).
"""
from __future__ import annotations

import re
from typing import Any

from soulsync.sim.base import Request, Response
from soulsync.sim.catalog import track_fields
from soulsync.sim.spotify_render import SpotifyRenderer
from soulsync.sim.spotify_world import ApiError, SpotifyWorld

_PLAYLIST_TRACKS = re.compile(r"^/__sim/playlists/(?P<id>[0-9A-Za-z]+)/tracks/?$")
_TRACK = re.compile(r"^/__sim/tracks/(?P<id>[0-9A-Za-z]+)/?$")

def admin_control(world: SpotifyWorld, render: SpotifyRenderer, req: Request) -> Response | None:
    """The answer of an admin endpoint, or None when ``req`` is for none of them."""
    found = _PLAYLIST_TRACKS.match(req.path)
    track = _TRACK.match(req.path)
    if req.path.rstrip("/") != "/__sim/releases" and found is None and track is None:
        return None
    if not req.from_loopback:
        return Response.json({"error": "admin endpoints answer loopback clients only"}, 403)
    if track is not None:
        known = world.tracks.get(track.group("id"))
        if known is None:
            return Response.json({"error": "no such track"}, 404)
        return Response.json({"track": track_fields(known)})
    try:
        body = req.json() or {}
        if not isinstance(body, dict):
            raise ValueError("give a JSON object")
        if found is None:
            return _publish(world, render, req, body)
        return _change_playlist(world, req, found.group("id"), body)
    except (ValueError, TypeError) as exc:
        return Response.json({"error": str(exc)}, 400)
    except KeyError as exc:
        return Response.json({"error": f"not found: {exc}"}, 404)
    except ApiError as exc:
        return Response.json({"error": exc.message}, exc.status)


def _publish(world: SpotifyWorld, render: SpotifyRenderer, req: Request, body: dict[str, Any]) -> Response:
    if req.method != "POST":
        return Response.json({"error": "POST a release"}, 405)
    if not body.get("artist_id") or not body.get("title"):
        raise ValueError("give at least artist_id and title")
    album = world.publish_release(str(body["artist_id"]), str(body["title"]),
                                  [str(t) for t in body.get("tracks") or ()], kind=str(body.get("kind") or "single"),
                                  release_date=body.get("release_date"))
    return Response.json({"album": render.album_full(album), "tracks": [track_fields(t) for t in album.tracks]}, 201)


def _change_playlist(world: SpotifyWorld, req: Request, playlist_id: str, body: dict[str, Any]) -> Response:
    ids = [str(i) for i in body.get("ids") or ()]
    if req.method == "POST":
        position = body.get("position")
        snapshot = world.add_tracks(playlist_id, ids, None if position is None else int(position))
    elif req.method == "DELETE":
        snapshot = world.remove_tracks(playlist_id, ids)
    else:
        return Response.json({"error": "POST or DELETE tracks"}, 405)
    return Response.json({"snapshot_id": snapshot})

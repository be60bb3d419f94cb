"""Updating an artist's metadata from Spotify: genres, image and a summary into the app, onto Plex when allowed.

The Artists page's "Update metadata" runs :func:`update_artist_metadata` in a
worker; it makes network calls and writes SQLite, so never on the GUI thread.
"""
from __future__ import annotations

from typing import Any, Callable

from soulsync.core.discography import pick_artist
from soulsync.core.normalize import fold
from soulsync.core.store import Store
from soulsync.services.images import fetch_image


def update_artist_metadata(name: str, spotify: Any, store: Store, keep_image: Callable[[bytes], None],
                           plex: Any | None = None, section: str = "Music") -> str:
    """Look ``name`` up on Spotify, store its genres, image address and a summary, and say what happened.

    The artist's image, when Spotify has one, goes to ``keep_image``. With a
    ``plex`` client the genres and summary are written onto the Plex artist of
    exactly that name in ``section`` (one by another name is left alone).
    Service errors propagate.
    """
    found = pick_artist(spotify.search_artists(name, limit=10), name)
    if found is None:
        return f"Spotify does not know an artist called “{name}”."
    artist = spotify.artist(found.spotify_id) if found.spotify_id else found
    summary = f"Genres on Spotify: {', '.join(artist.genres)}." if artist.genres else ""
    store.save_artist_meta(fold(name), name, artist.spotify_id, list(artist.genres), artist.image_url,
                           None, summary)
    if artist.image_url:
        data = fetch_image(artist.image_url)
        if data:
            keep_image(data)
    done = f"Updated from Spotify: {', '.join(artist.genres) or 'no genres listed'}."
    if plex is not None:
        target = plex.find_artist(section, name)
        if target is None:
            return done + " Plex has no artist by that exact name, so it was left alone."
        plex.edit_artist(section, target.rating_key, list(artist.genres), summary)
        done += " Written to Plex too."
    return done

"""Updating an artist's metadata from the Spotify simulation into the app and onto the Plex simulation."""
from __future__ import annotations

from pathlib import Path

import pytest

from soulsync.core.normalize import fold
from soulsync.core.store import Store
from soulsync.services.artist_metadata import update_artist_metadata
from soulsync.services.plex import PlexClient
from soulsync.services.spotify import SpotifyClient


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite3")


@pytest.fixture
def spotify(spotify_sim) -> SpotifyClient:
    return SpotifyClient(access_token=spotify_sim.issue_token(), api_base=spotify_sim.api_url, timeout=5.0)


def _artist_on_plex(catalog_3k, plex_sim):
    on_plex = {t.artist for t in plex_sim.tracks()}
    return next(a for a in catalog_3k.artists if a.genres and a.name.isascii() and a.name in on_plex)


def test_genres_image_and_summary_go_into_the_app_and_onto_plex(catalog_3k, spotify, plex_sim, store) -> None:
    artist = _artist_on_plex(catalog_3k, plex_sim)
    images: list[bytes] = []
    text = update_artist_metadata(artist.name, spotify, store, images.append,
                                  PlexClient(plex_sim.url, plex_sim.token, timeout=5.0), "Music")
    assert text == f"Updated from Spotify: {', '.join(artist.genres)}. Written to Plex too."
    meta = store.artist_meta(fold(artist.name))
    assert meta is not None and meta["genres"] == list(artist.genres)
    assert len(images) == 1 and images[0]
    plex_artist = next(a for a in plex_sim._artists.values() if a.name == artist.name)
    assert plex_artist.genres == list(artist.genres) and "Genres on Spotify" in plex_artist.summary


def test_without_plex_only_the_app_is_updated(catalog_3k, spotify, plex_sim, store) -> None:
    artist = _artist_on_plex(catalog_3k, plex_sim)
    text = update_artist_metadata(artist.name, spotify, store, lambda data: None)
    assert text.startswith("Updated from Spotify: ") and "Plex" not in text
    assert store.artist_meta(fold(artist.name)) is not None


def test_an_artist_unknown_to_spotify_changes_nothing(spotify, store) -> None:
    text = update_artist_metadata("Qwzx Nobody Plays This", spotify, store, lambda data: None)
    assert text == "Spotify does not know an artist called “Qwzx Nobody Plays This”."
    assert store.artist_meta(fold("Qwzx Nobody Plays This")) is None

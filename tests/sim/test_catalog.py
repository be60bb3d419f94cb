"""The seeded catalog: deterministic, big enough, and as varied as real music data."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from soulsync.core.models import AlbumType
from soulsync.sim.catalog import (FIRST_TRACK_RATING_KEY, USER_ID, VARIOUS_ARTISTS, build_catalog, safe_path_part,
                                  strip_accents)

BASE62_22 = re.compile(r"^[0-9A-Za-z]{22}$")
ISRC = re.compile(r"^[A-Z]{2}[0-9A-Z]{3}[0-9]{7}$")


@pytest.fixture(scope="module")
def world():
    return build_catalog(seed=1)


def _fingerprint(cat) -> list:
    return ([(a.name, a.spotify_id, tuple(a.genres)) for a in cat.artists]
            + [(b.title, b.spotify_id, b.album_type, b.release_date) for b in cat.albums]
            + [(t.title, tuple(t.artists), t.spotify_id, t.isrc, t.duration_ms) for t in cat.tracks]
            + [(p.id, p.name, p.snapshot_id, tuple(t.spotify_id for t in p.tracks)) for p in cat.playlists]
            + [t.spotify_id for t in cat.liked]
            + [(t.title, tuple(t.artists), t.path, t.plex_rating_key, t.duration_ms) for t in cat.library])


def test_same_seed_same_world_other_seed_other_world(world):
    assert _fingerprint(build_catalog(seed=1)) == _fingerprint(world)
    other = build_catalog(seed=2)
    assert [t.spotify_id for t in other.tracks[:50]] != [t.spotify_id for t in world.tracks[:50]]


def test_sizes_at_default(world):
    assert len(world.tracks) == 3000
    assert len(world.artists) >= 60
    assert len(world.albums) >= 250
    assert sum(len(a.tracks) for a in world.albums) == 3000
    assert [t for a in world.albums for t in a.tracks] == world.tracks
    assert len(world.playlists) >= 8
    assert max(len(p.tracks) for p in world.playlists) >= 600


@pytest.mark.parametrize("n", [50, 777, 12_000])
def test_exact_track_count_at_other_sizes(n):
    cat = build_catalog(seed=3, n_tracks=n)
    assert len(cat.tracks) == n
    assert all(a.tracks and a.total_tracks == len(a.tracks) for a in cat.albums)
    assert all(1 <= (t.track_number or 0) <= (t.track_total or 0) for t in cat.tracks)


def test_ids_and_isrcs_are_well_formed_and_unique(world):
    ids = [a.spotify_id for a in world.artists] + [b.spotify_id for b in world.albums]
    ids += [t.spotify_id for t in world.tracks] + [p.id for p in world.playlists]
    assert all(BASE62_22.match(i or "") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(ISRC.match(t.isrc or "") for t in world.tracks)
    album_ids = {b.spotify_id for b in world.albums}
    artist_ids = {a.spotify_id for a in world.artists}
    for t in world.tracks:
        assert t.spotify_album_id in album_ids
        assert set(t.spotify_artist_ids) <= artist_ids
        assert len(t.spotify_artist_ids) == len(t.artists)
    for a in world.artists + world.albums:
        assert a.image_url == f"/images/{a.spotify_id}.jpg"


def test_track_fields_filled(world):
    for album in world.albums:
        for t in album.tracks:
            assert t.album == album.title and t.album_artist == album.artists[0]
            assert t.year == album.year and t.genre is not None
            assert 1 <= (t.disc_number or 0) <= (t.disc_total or 0) == album.disc_total
            assert 1 <= (t.track_number or 0) <= (t.track_total or 0)
            assert 60_000 < (t.duration_ms or 0) < 700_000


def test_realistic_variety(world):
    titles = [t.title for t in world.tracks]
    names = [a.name for a in world.artists]
    everything = " ".join(titles + names)
    for sample in ("ø", "å", "ß", "é"):
        assert sample in everything, sample
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", everything), "Japanese"
    assert re.search(r"[\u0400-\u04ff]", everything), "Cyrillic"
    assert sum(" (feat. " in t for t in titles) >= 30
    assert sum(re.search(r" - (Remastered \d{4}|\d{4} Remaster)$", t) is not None for t in titles) >= 30
    assert sum(t.endswith(" - Live") for t in titles) >= 20
    assert sum(t.endswith(" Remix") for t in titles) >= 10
    assert sum(n.startswith("The ") for n in names) >= 5
    kinds = Counter(a.album_type for a in world.albums)
    assert kinds[AlbumType.ALBUM] and kinds[AlbumType.SINGLE] and kinds[AlbumType.COMPILATION]
    assert any(a.disc_total >= 2 for a in world.albums)
    assert any(a.artists == [VARIOUS_ARTISTS] for a in world.albums)
    # the same title by different main artists
    by_title: dict[str, set[str]] = {}
    for t in world.tracks:
        by_title.setdefault(t.title, set()).add(t.artist)
    assert sum(len(v) > 1 for v in by_title.values()) >= 10
    # compilations reuse recordings: same ISRC under a different track id
    isrcs = Counter(t.isrc for t in world.tracks)
    assert sum(c > 1 for c in isrcs.values()) >= 20


def test_playlists(world):
    owners = {p.owner for p in world.playlists}
    assert USER_ID in owners and len(owners) >= 2
    assert any(p.collaborative for p in world.playlists)
    assert any(p.public for p in world.playlists) and any(p.public is False for p in world.playlists)
    assert all(p.snapshot_id for p in world.playlists)
    assert any(any(ord(c) > 127 for c in p.name) for p in world.playlists)
    for p in world.playlists:
        assert p.track_count == len(p.tracks)
        assert len({t.spotify_id for t in p.tracks}) == len(p.tracks)
    assert 50 <= len(world.liked) <= len(world.tracks)


def _norm(name: str) -> str:
    name = strip_accents(name).lower()
    return name[4:] if name.startswith("the ") else name


def test_library_holds_about_70_percent_of_playlist_tracks(world):
    index: dict[tuple, list] = {}
    for t in world.library:
        index.setdefault((_norm(t.album_artist), t.year, t.disc_number), []).append(t)

    def owned(t) -> bool:
        return any(abs((c.duration_ms or 0) - (t.duration_ms or 0)) <= 1500
                   and c.track_number in (t.track_number, None)
                   for c in index.get((_norm(t.album_artist), t.year, t.disc_number), []))

    wanted = list({t.spotify_id: t for p in world.playlists for t in p.tracks}.values())
    share = sum(owned(t) for t in wanted) / len(wanted)
    assert 0.64 < share < 0.78
    assert 0.6 < len(world.library) / len(world.tracks) < 0.85


def test_library_entries_are_plex_like(world):
    keys = [int(t.plex_rating_key or 0) for t in world.library]
    assert keys == list(range(FIRST_TRACK_RATING_KEY, FIRST_TRACK_RATING_KEY + len(keys)))
    paths = [t.path or "" for t in world.library]
    assert all(re.match(r"^[^/]+/[^/]+ \(\d{4}\)/(\d-)?\d\d - .+\.(flac|mp3|m4a)$", p) for p in paths), \
        [p for p in paths if not re.match(r"^[^/]+/[^/]+ \(\d{4}\)/(\d-)?\d\d - .+\.(flac|mp3|m4a)$", p)][:3]
    assert len(set(paths)) > 0.95 * len(paths)
    assert all(t.spotify_id is None for t in world.library)


def test_library_variations_present(world):
    """Every kind of tag drift real libraries have shows up somewhere."""
    spotify_titles = {t.title for t in world.tracks}
    lib_titles = [t.title for t in world.library]
    lib_artists = {a for t in world.library for a in t.artists}
    catalog_artists = {a.name for a in world.artists}
    changed = [t for t in lib_titles if t not in spotify_titles]
    assert len(changed) > 0.1 * len(lib_titles)
    assert any("(Live)" in t for t in lib_titles)
    remasters_kept = sum("Remaster" in t for t in lib_titles)
    remasters_spotify = sum("Remaster" in t.title for t in world.tracks)
    assert remasters_kept < remasters_spotify * 0.74  # dropped from many
    assert any("’" in t for t in lib_titles)
    assert any(a not in catalog_artists and "The " + a in catalog_artists for a in lib_artists), "The dropped"
    stripped = {strip_accents(n) for n in catalog_artists if strip_accents(n) != n}
    assert stripped & lib_artists, "accents stripped"
    lib_feat = sum("(feat." in t for t in lib_titles)
    spot_feat_owned = sum("(feat." in t.title for t in world.tracks) * len(world.library) / len(world.tracks)
    assert lib_feat < spot_feat_owned * 0.8, "feat. missing from many"


def test_helpers():
    assert strip_accents("Søren Åberg Weiß Zoë") == "Soren Aberg Weiss Zoe"
    assert strip_accents("夜空") == "夜空"
    assert safe_path_part('Where Did the Sun Go?') == "Where Did the Sun Go_"
    assert safe_path_part("AC/DC: Live...") == "AC_DC_ Live"

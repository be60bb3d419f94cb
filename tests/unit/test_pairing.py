"""Pairing an album's files with Spotify tracks, and ranking Spotify proposals for a search result."""
from __future__ import annotations

import random

import pytest

from soulsync.core.models import Album, AlbumType, Artist, Track
from soulsync.core.pairing import (
    AlbumFile,
    AlbumGuess,
    SearchCancelled,
    album_file_from_path,
    album_file_from_result,
    album_guess_from_result,
    album_queries,
    find_albums,
    find_isrcs,
    find_tracks,
    matched_tracks,
    merge_isrcs,
    pair_album,
    rank_albums,
    rank_artists,
    rank_tracks,
    wanted_from_result,
)
from soulsync.core.search_grouping import group_results

ARTIST = "The Velvet Sparrows"


def album(titles: list[str], discs: list[int] | None = None, lengths: list[int] | None = None,
          title: str = "Oceans", artist: str = ARTIST, year: int = 1993, sid: str = "alb1",
          numbers: list[int] | None = None) -> Album:
    """A Spotify album; track numbers restart on every disc unless given."""
    discs = discs or [1] * len(titles)
    lengths = lengths or [200 + 17 * i for i in range(len(titles))]
    tracks = []
    seen: dict[int, int] = {}
    for i, (name, disc, seconds) in enumerate(zip(titles, discs, lengths)):
        seen[disc] = seen.get(disc, 0) + 1
        tracks.append(Track(name, [artist], album=title, duration_ms=seconds * 1000 + 400,
                            track_number=numbers[i] if numbers else seen[disc], disc_number=disc,
                            spotify_id=f"{sid}-t{i}", spotify_album_id=sid, spotify_artist_ids=["art1"],
                            album_artist=artist, track_total=len(titles)))
    return Album(title, [artist], year=year, release_date=f"{year}-05-01", total_tracks=len(titles),
                 disc_total=max(discs), tracks=tracks, spotify_id=sid, image_url=f"http://img/{sid}.jpg")


def files_for(paths: list[str], lengths: list[int | None]) -> list[AlbumFile]:
    return [album_file_from_path(p, duration_ms=s * 1000 if s else None) for p, s in zip(paths, lengths)]


def pairs_by_name(pairing) -> dict[str, str]:
    return {p.file.name: p.track.spotify_id for p in pairing.pairs}


TITLES = ["Sacred Winter", "Neon Harbor", "Midnight Sun", "Paper Kites", "Ballad of Grace", "Cold Light",
          "Running Home", "Glass Garden"]


# ----------------------------------------------------------------------------- pairing


def test_numbered_files_pair_in_album_order():
    a = album(TITLES)
    lengths = [t.duration_ms // 1000 for t in a.tracks]
    paths = [f"Oceans\\{n + 1:02d} - {t}.flac" for n, t in enumerate(TITLES)]
    pairing = pair_album(files_for(paths, lengths), a.tracks)
    assert pairing.complete
    assert [p.track.spotify_id for p in pairing.pairs] == [t.spotify_id for t in a.tracks]
    assert all(p.score > 0.95 for p in pairing.pairs)
    assert pairing.pairs[2].reason.startswith("track 3, title 1.00")
    assert pairing.fit == pytest.approx(sum(p.score for p in pairing.pairs) / len(TITLES))


def test_files_without_numbers_pair_by_title_whatever_their_order():
    a = album(TITLES)
    order = list(range(len(TITLES)))
    random.Random(3).shuffle(order)
    paths = [f"{ARTIST} - {TITLES[i]}.mp3" for i in order]
    pairing = pair_album(files_for(paths, [None] * len(order)), a.tracks)
    assert pairing.complete
    for p in pairing.pairs:
        assert p.file.title == p.track.title
        assert "no track number" in p.reason


def test_wrong_track_numbers_still_pair_by_title():
    """Another edition's running order: every number disagrees, the titles decide."""
    a = album(TITLES)
    paths = [f"{len(TITLES) - n:02d} - {t}.flac" for n, t in enumerate(TITLES)]
    lengths = [t.duration_ms // 1000 for t in a.tracks]
    pairing = pair_album(files_for(paths, lengths), a.tracks)
    assert pairing.complete
    assert all(p.file.title == p.track.title for p in pairing.pairs)
    assert "≠" in pairing.pairs[0].reason


def test_disc_folders_keep_repeated_titles_on_their_own_disc():
    titles = ["Intro", "Neon Harbor", "Midnight Sun", "Intro", "Paper Kites", "Cold Light"]
    discs = [1, 1, 1, 2, 2, 2]
    a = album(titles, discs, lengths=[90, 200, 210, 91, 230, 240])
    paths = [f"Oceans\\CD{d}\\{n:02d} - {t}.flac" for (t, d), n in zip(zip(titles, discs), [1, 2, 3, 1, 2, 3])]
    pairing = pair_album(files_for(paths, [90, 200, 210, 91, 230, 240]), a.tracks)
    assert pairing.complete
    for p in pairing.pairs:
        assert p.file.disc_number == p.track.disc_number
        assert p.file.track_number == p.track.track_number


def test_numbering_that_runs_on_over_the_discs():
    titles = ["Sacred Winter", "Neon Harbor", "Midnight Sun", "Paper Kites"]
    a = album(titles, [1, 1, 2, 2])
    paths = ["X\\Disc 1\\01 - Sacred Winter.flac", "X\\Disc 1\\02 - Neon Harbor.flac",
             "X\\Disc 2\\03 - Midnight Sun.flac", "X\\Disc 2\\04 - Paper Kites.flac"]
    pairing = pair_album(files_for(paths, [None] * 4), a.tracks)
    assert pairing.complete
    assert [p.file.name for p in pairing.pairs] == [p.split("\\")[-1] for p in paths]
    assert pairing.pairs[2].reason.startswith("track 3,")


def test_two_discs_without_disc_folders_pair_by_title_and_length():
    titles = ["Intro", "Neon Harbor", "Intro", "Paper Kites"]
    a = album(titles, [1, 1, 2, 2], lengths=[60, 200, 180, 230])
    # both discs numbered 01, 02 in one folder: the numbers alone cannot tell the discs apart
    paths = ["X\\01 - Intro.flac", "X\\02 - Neon Harbor.flac", "X\\01 - Intro (2).flac", "X\\02 - Paper Kites.flac"]
    pairing = pair_album(files_for(paths, [181, 200, 61, 230]), a.tracks)
    assert pairing.complete
    got = pairs_by_name(pairing)
    assert got["01 - Intro.flac"] == a.tracks[2].spotify_id  # 181 s: disc 2's intro
    assert got["01 - Intro (2).flac"] == a.tracks[0].spotify_id


def test_duration_breaks_a_tie_between_equal_titles():
    a = album(["Reprise", "Neon Harbor", "Reprise"], lengths=[120, 200, 300])
    paths = ["X\\Reprise.flac", "X\\Reprise (1).flac", "X\\Neon Harbor.flac"]
    pairing = pair_album(files_for(paths, [299, 121, 200]), a.tracks)
    got = pairs_by_name(pairing)
    assert got["Reprise.flac"] == a.tracks[2].spotify_id
    assert got["Reprise (1).flac"] == a.tracks[0].spotify_id
    assert got["Neon Harbor.flac"] == a.tracks[1].spotify_id


def test_bonus_files_and_missing_tracks_are_reported_unpaired():
    a = album(TITLES[:6] + ["Bonus From Spotify"])
    lengths = [t.duration_ms // 1000 for t in a.tracks]
    paths = [f"X\\{n + 1:02d} - {t}.flac" for n, t in enumerate(TITLES[:5])]
    paths += ["X\\07 - Demo Session Jam (Bonus Track).flac", "X\\08 - Hidden Noise.flac"]
    pairing = pair_album(files_for(paths, lengths[:5] + [412, 33]), a.tracks)
    assert len(pairing.pairs) == 5
    assert [f.name for f in pairing.unpaired_files] == ["07 - Demo Session Jam (Bonus Track).flac",
                                                        "08 - Hidden Noise.flac"]
    assert [t.title for t in pairing.unpaired_tracks] == ["Cold Light", "Bonus From Spotify"]
    assert not pairing.complete
    assert pairing.fit < 0.75


def test_same_number_with_another_title_and_length_is_not_a_pair():
    a = album(["Sacred Winter", "Neon Harbor"], lengths=[200, 240])
    pairing = pair_album(files_for(["X\\01 - Something Else Entirely.flac"], [420]), a.tracks)
    assert not pairing.pairs
    assert len(pairing.unpaired_files) == 1 and len(pairing.unpaired_tracks) == 2


def test_files_named_only_by_number_pair_by_number_and_length():
    a = album(["ひかり", "月光", "花火"], lengths=[200, 210, 230])
    files = files_for(["X\\01.ogg", "X\\02.ogg", "X\\03.ogg"], [200, 211, 229])
    assert [f.track_number for f in files] == [1, 2, 3]
    pairing = pair_album(files, a.tracks)
    assert pairing.complete
    assert [p.track.title for p in pairing.pairs] == ["ひかり", "月光", "花火"]
    # a length that contradicts the number is not enough
    assert not pair_album(files_for(["X\\01.ogg"], [400]), a.tracks).pairs


def test_name_pieces_the_path_guesser_misreads_still_pair():
    a = album(["Fall Me Down - Live", "Lucky Feather - Acoustic"], lengths=[200, 220])
    files = files_for(["Live\\12 - Fall Me Down - Live.flac",
                       "Live\\4 The Velvet Sparrows - Lucky Feather - Acoustic.flac"], [200, 220])
    pairing = pair_album(files, a.tracks)
    assert pairing.complete
    assert pairs_by_name(pairing)["12 - Fall Me Down - Live.flac"] == a.tracks[0].spotify_id


def test_live_file_does_not_pair_with_studio_track():
    a = album(["Midnight Sun"], lengths=[200])
    pairing = pair_album(files_for(["X\\Midnight Sun (Live).flac"], [260]), a.tracks)
    assert not pairing.pairs


def test_pairing_a_grouped_search_result():
    files = [{"filename": f"@@share\\Music\\{ARTIST}\\1993 - Oceans [FLAC]\\CD{d}\\{n:02d} - {t}.flac",
              "size": 30_000_000, "length": 200 + i} for i, (d, n, t) in
             enumerate([(1, 1, "Sacred Winter"), (1, 2, "Neon Harbor"), (2, 1, "Midnight Sun"), (2, 2, "Paper Kites")])]
    files.append({"filename": f"@@share\\Music\\{ARTIST}\\1993 - Oceans [FLAC]\\cover.jpg", "size": 9000})
    results = group_results([{"username": "peer", "files": files}])
    (result,) = results.albums
    guess = album_guess_from_result(result)
    assert (guess.artist, guess.album, guess.year, guess.track_count) == (ARTIST, "Oceans", 1993, 4)
    a = album(["Sacred Winter", "Neon Harbor", "Midnight Sun", "Paper Kites"], [1, 1, 2, 2],
              lengths=[200, 201, 202, 203])
    pairing = pair_album([album_file_from_result(t) for t in result.tracks], a.tracks)
    assert pairing.complete
    assert all(p.file.ref.file.filename.endswith(f"{p.track.title}.flac") for p in pairing.pairs)
    single = wanted_from_result(result.tracks[2])
    assert (single.title, single.artists, single.album, single.duration_ms) == (
        "Midnight Sun", [ARTIST], "Oceans", 202_000)


def test_a_big_album_pairs_quickly_enough_for_a_worker():
    titles = [f"Song Number {n} of the Box" for n in range(60)]
    a = album(titles, [1 + n // 20 for n in range(60)])
    paths = [f"Box\\CD{1 + n // 20}\\{n % 20 + 1:02d} - {t}.flac" for n, t in enumerate(titles)]
    pairing = pair_album(files_for(paths, [t.duration_ms // 1000 for t in a.tracks]), a.tracks)
    assert pairing.complete
    assert [p.track.spotify_id for p in pairing.pairs] == [t.spotify_id for t in a.tracks]


# ----------------------------------------------------------------------------- proposals


def test_rank_albums_prefers_the_named_album_of_the_named_artist():
    guess = AlbumGuess(ARTIST, "Oceans", 1993, 8)
    right = album(TITLES, sid="right")
    live = album(TITLES, title="Oceans (Live)", sid="live")
    other_artist = album(TITLES, artist="Someone Else", sid="other")
    reissue = album(TITLES + ["Bonus 1", "Bonus 2", "Bonus 3", "Bonus 4"], title="Oceans", year=2013, sid="reissue")
    ranked = rank_albums(guess, [other_artist, live, reissue, right, right])
    assert [p.album.spotify_id for p in ranked][:2] == ["right", "reissue"]
    assert {p.album.spotify_id for p in ranked[2:]} == {"other", "live"}
    assert ranked[0].score > 0.95 and ranked[1].score > 0.6 and all(p.score < 0.5 for p in ranked[2:])
    assert "same year" in ranked[0].reason and "8 tracks for 8 files" in ranked[0].reason


def test_various_artists_guess_is_not_an_artist():
    guess = AlbumGuess("Various Artists", "Now That's Silence! 36", 2023, 3)
    comp = Album("Now That's Silence! 36", ["Various Artists"], year=2023, total_tracks=3, spotify_id="c",
                 album_type=AlbumType.COMPILATION)
    assert rank_albums(guess, [comp])[0].score > 0.8
    assert album_queries("Various Artists", "Now That's Silence! 36") == ['album:"Now That\'s Silence! 36"']
    assert album_queries(ARTIST, 'A "quoted" name')[0] == f'album:"A  quoted  name" artist:"{ARTIST}"'


def test_rank_artists_and_tracks():
    artists = [Artist("Velvet Sparrow", "a2"), Artist("Velvet Sparrows, The", "a1"), Artist("Sparrows", "a3")]
    ranked = rank_artists(ARTIST, artists)
    assert ranked[0][0].spotify_id == "a1" and ranked[0][1] == 1.0
    assert ranked[1][0].spotify_id == "a2"
    a = album(TITLES)
    wanted = Track("Midnight Sun", [ARTIST], duration_ms=a.tracks[2].duration_ms)
    top, score = rank_tracks(wanted, list(reversed(a.tracks)))[0]
    assert top.title == "Midnight Sun" and score > 0.95


def test_matched_tracks_fill_album_metadata_with_per_disc_totals():
    a = album(["A1", "A2", "A3", "B1", "B2"], [1, 1, 1, 2, 2], title="Oceans", year=1993)
    a.genres = ["dream pop"]
    for t in a.tracks:
        t.album_artist, t.year, t.track_total = "", None, 5
    tracks = matched_tracks(a)
    assert [(t.disc_number, t.track_number, t.track_total, t.disc_total) for t in tracks] == [
        (1, 1, 3, 2), (1, 2, 3, 2), (1, 3, 3, 2), (2, 1, 2, 2), (2, 2, 2, 2)]
    assert {(t.album, t.album_artist, t.year, t.spotify_album_id, t.genre) for t in tracks} == {
        ("Oceans", ARTIST, 1993, "alb1", "dream pop")}
    assert matched_tracks(a, [a.tracks[4]])[0].track_total == 2
    assert a.tracks[0].album_artist == ""  # the album's own tracks are not changed


def test_merge_isrcs_by_spotify_id():
    a = album(["A1", "A2"])
    full = [Track("A2", [ARTIST], spotify_id="alb1-t1", isrc="GBAAA9300002"), Track("X", ["Y"], isrc="GBAAA0000001")]
    merged = merge_isrcs(a.tracks, full)
    assert [t.isrc for t in merged] == [None, "GBAAA9300002"]


# ----------------------------------------------------------------------------- searching (fake Spotify)


class FakeSpotify:
    """Answers like the Spotify client, from a fixed catalogue; records every request."""

    def __init__(self, albums: list[Album], artists: list[Artist] = (), artist_albums: dict | None = None) -> None:
        self.albums = {a.spotify_id: a for a in albums}
        self.artists = list(artists)
        self.by_artist = artist_albums or {}
        self.calls: list[tuple] = []

    def search_albums(self, query, limit=10, offset=0):
        self.calls.append(("albums", query))
        words = query.lower().replace('"', " ").replace("album:", " ").replace("artist:", " ").split()
        found = [a for a in self.albums.values() if all(w in f"{a.title} {a.artist}".lower() for w in words)]
        return [Album(a.title, a.artists, a.year, a.release_date, total_tracks=a.total_tracks,
                      spotify_id=a.spotify_id, image_url=a.image_url) for a in found[offset:offset + limit]]

    def search_artists(self, query, limit=10, offset=0):
        self.calls.append(("artists", query))
        return self.artists[offset:offset + limit]

    def artist_albums(self, artist_id):
        self.calls.append(("artist_albums", artist_id))
        return [Album(a.title, a.artists, a.year, spotify_id=a.spotify_id, total_tracks=a.total_tracks)
                for a in self.by_artist.get(artist_id, [])]

    def album(self, album_id):
        self.calls.append(("album", album_id))
        return self.albums[album_id]

    def search_tracks(self, query, limit=10, offset=0):
        self.calls.append(("tracks", query, offset))
        tracks = [t for a in self.albums.values() for t in a.tracks]
        if "track:" in query:
            name = query.split('track:"', 1)[1].split('"', 1)[0]
            tracks = [t for t in tracks if t.title == name]
        with_isrc = [Track(t.title, t.artists, t.album, t.duration_ms, isrc=f"ISRC{t.spotify_id}",
                           spotify_id=t.spotify_id, spotify_album_id=t.spotify_album_id) for t in tracks]
        return with_isrc[offset:offset + limit]


def _files(a: Album) -> list[AlbumFile]:
    return [AlbumFile(ref=i, name=f"{t.track_number:02d} - {t.title}.flac", title=t.title,
                      track_number=t.track_number, duration_ms=t.duration_ms) for i, t in enumerate(a.tracks)]


def test_find_albums_reads_and_pairs_the_best_and_stops_when_strong():
    right = album(TITLES, sid="right")
    deluxe = album(TITLES + ["Extra 1", "Extra 2", "Extra 3"], title="Oceans (Deluxe Edition)", sid="deluxe")
    client = FakeSpotify([deluxe, right])
    proposals = find_albums(client, AlbumGuess(ARTIST, "Oceans", 1993, len(TITLES)), _files(right))
    assert [p.album.spotify_id for p in proposals] == ["right", "deluxe"]
    assert proposals[0].pairing is not None and proposals[0].pairing.complete
    assert len(proposals[1].pairing.unpaired_tracks) == 3
    assert proposals[0].score > proposals[1].score
    assert [c[0] for c in client.calls].count("albums") == 1  # the first, field-filtered query was enough


def test_find_albums_falls_back_to_the_artists_releases():
    right = album(TITLES, title="Oceans of Glass", sid="right")
    artist = Artist(ARTIST, "art1")
    client = FakeSpotify([right], [Artist("Someone", "x"), artist], {"art1": [right]})
    client.search_albums = lambda query, limit=10, offset=0: client.calls.append(("albums", query)) or []
    proposals = find_albums(client, AlbumGuess(ARTIST, "Oceans Of Glass (Remaster)", 1993, 8), _files(right))
    assert proposals and proposals[0].album.spotify_id == "right"
    assert ("artist_albums", "art1") in client.calls


def test_find_albums_can_be_cancelled_between_requests():
    client = FakeSpotify([album(TITLES)])
    with pytest.raises(SearchCancelled):
        find_albums(client, AlbumGuess(ARTIST, "Oceans"), [], cancel=lambda: True)
    assert client.calls == []


def test_find_isrcs_pages_through_the_album_then_looks_up_the_rest():
    a = album([f"Song {n}" for n in range(23)], sid="big")
    client = FakeSpotify([a])
    filled = find_isrcs(client, a, matched_tracks(a))
    assert all(t.isrc == f"ISRC{t.spotify_id}" for t in filled)
    assert [c[2] for c in client.calls if c[0] == "tracks"] == [0, 10, 20]
    # a track the album search does not return is looked up by its title
    client = FakeSpotify([a])
    original = client.search_tracks

    def search_tracks(q, limit=10, offset=0):
        found = original(q, limit, offset)
        return found if "track:" in q else [t for t in found if t.title != "Song 4"]

    client.search_tracks = search_tracks
    filled = find_isrcs(client, a, matched_tracks(a))
    assert filled[4].isrc == "ISRCbig-t4"
    assert any(c[0] == "tracks" and 'track:"Song 4"' in c[1] for c in client.calls)


def test_find_tracks_ranks_by_the_matching_engine():
    a = album(TITLES)
    client = FakeSpotify([a])
    found = find_tracks(client, Track("Midnight Sun", [ARTIST], duration_ms=a.tracks[2].duration_ms))
    assert found[0].track.spotify_id == a.tracks[2].spotify_id
    assert found[0].score > 0.95 and "title 1.00" in found[0].reason

"""rank_search_results: judging raw slskd responses by remote path, length, version, quality and peer."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soulsync.core.matching import STRONG_MATCH
from soulsync.core.models import Track
from soulsync.core.quality import QualityPrefs
from soulsync.core.result_ranking import Candidate, rank_search_results, search_files_from_responses


def T(title: str, artists: str | list[str], album: str = "", seconds: float | None = None) -> Track:
    return Track(title=title, artists=[artists] if isinstance(artists, str) else artists, album=album,
                 duration_ms=None if seconds is None else int(seconds * 1000))


def file(filename: str, length: int | None = None, ext: str = "", **extra: object) -> dict:
    entry: dict = {"filename": filename, "size": 9_000_000, "code": 1, "extension": ext, "isLocked": False}
    if length is not None:
        entry["length"] = length
    entry.update(extra)
    return entry


def response(username: str, files: list[dict], free: bool = True, speed: int = 1_048_576, queue: int = 0) -> dict:
    return {"username": username, "files": files, "fileCount": len(files), "hasFreeUploadSlot": free,
            "uploadSpeed": speed, "queueLength": queue, "lockedFileCount": 0, "lockedFiles": [], "token": 1}


def names(cands: list[Candidate]) -> list[str]:
    return [c.filename.replace("\\", "/").rsplit("/", 1)[-1] for c in cands]


SUPERNOVA = T("Champagne Supernova", "Oasis", "(What's the Story) Morning Glory?", 451)
ALBUM_DIR = "@@oasisfan\\Music\\Oasis\\1995 - (What's the Story) Morning Glory [FLAC]"


# ----------------------------------------------------------------------------- acceptance


def test_realistic_result_set_keeps_only_the_recording() -> None:
    responses = [
        response("alice", [
            file(f"{ALBUM_DIR}\\12 - Champagne Supernova.flac", 451, "flac", bitDepth=16, sampleRate=44100),
            file(f"{ALBUM_DIR}\\03 - Wonderwall.flac", 258, "flac"),
            file(f"{ALBUM_DIR}\\folder.jpg", None, "jpg"),
            file(f"{ALBUM_DIR}\\album.cue", None, "cue"),
            file("@@oasisfan\\Music\\Oasis\\Familiar to Millions (Live)\\Champagne Supernova.flac", 480, "flac"),
            file("@@oasisfan\\Music\\Oasis\\Singles\\Oasis - Champagne Supernova (Radio Edit).mp3", 300,
                 bitRate=320),
            file("@@oasisfan\\Music\\Oasis\\Rarities\\Champagne Supernova (Acoustic).mp3", 451, bitRate=320),
            file("@@oasisfan\\Music\\Oasis\\Rarities\\Champagne Supernova (Demo).mp3", 449, bitRate=320),
            file("@@oasisfan\\Music\\Karaoke Hits\\Champagne Supernova (In the Style of Oasis).mp3", 451,
                 bitRate=320),
            file("@@oasisfan\\Music\\Oasis\\B-Sides\\Champagne.mp3", 451, bitRate=320),
            file("@@oasisfan\\Music\\Covers\\Tribute Band - Champagne Supernova.mp3", 451, bitRate=320),
        ]),
        response("bob", [
            file("@@bob\\mp3\\Oasis - Champagne Supernova.mp3", 452, bitRate=320),
            file("@@bob\\mp3\\Oasis - Champagne Supernova (Live at Knebworth).mp3", 455, bitRate=320),
            file("@@bob\\mp3\\Oasis - Champagne Supernova (Sped Up).mp3", 380, bitRate=320),
            file("@@bob\\mp3\\Oasis - Champagne Supernova (Lyrics).mp3", 452, bitRate=192),
        ], free=False, speed=40_000, queue=12),
    ]
    ranked = rank_search_results(SUPERNOVA, responses)
    assert names(ranked) == [
        "12 - Champagne Supernova.flac",
        "Oasis - Champagne Supernova.mp3",
        "Oasis - Champagne Supernova (Lyrics).mp3",
    ]
    assert all(c.score >= STRONG_MATCH for c in ranked)


@pytest.mark.parametrize("path", [
    "@@u\\Music\\Oasis\\(What's the Story) Morning Glory\\12 - Champagne Supernova.flac",
    "@@u\\Music\\Oasis\\(What's the Story) Morning Glory\\12. Champagne Supernova.flac",
    "@@u\\Music\\Oasis\\(What's the Story) Morning Glory\\12 Champagne Supernova.flac",
    "@@u\\Music\\Oasis\\(What's the Story) Morning Glory\\1-12 Champagne Supernova.flac",
    "@@u\\Music\\Oasis\\(What's the Story) Morning Glory\\CD1\\12 - Champagne Supernova.flac",
    "@@u\\Music\\Oasis\\Morning Glory (Vinyl)\\B6 - Champagne Supernova.flac",
    "@@u\\Music\\Oasis - Morning Glory\\Oasis - Champagne Supernova.flac",
    "@@u\\Music\\Oasis - (What's the Story) Morning Glory - 12 - Champagne Supernova.flac",
    "@@u\\Music\\Britpop\\Oasis - (What's The Story) Morning Glory - 12 - Champagne Supernova.flac",
    "@@u\\Music\\Britpop\\12 - Oasis - Champagne Supernova.flac",
    "@@u\\Music\\Britpop\\Champagne Supernova - Oasis.flac",
    "@@u\\Music\\Britpop\\12_-_oasis_-_champagne_supernova.flac",
    "@@u\\Music\\Britpop\\oasis champagne supernova.flac",
    "@@u\\Music\\Britpop\\OASIS - CHAMPAGNE SUPERNOVA [FLAC 16-44].flac",
    "@@u\\Music\\Oasis\\Champagne Supernova (Remastered).flac",
    "@@u\\Music\\Oasis\\Champagne Supernova - 2014 Remaster.flac",
    "@@u\\Music\\Oasis\\Champagne Supernova (Official Audio).flac",
    "@@u/Music/Oasis/Morning Glory/12 - Champagne Supernova.flac",
    "Oasis - Champagne Supernova.flac",
])
def test_accepted_path_shapes(path: str) -> None:
    ranked = rank_search_results(SUPERNOVA, [response("u", [file(path, 451)])])
    assert len(ranked) == 1, path
    assert ranked[0].filename == path


@pytest.mark.parametrize("path, length", [
    ("@@u\\Music\\Oasis\\Morning Glory\\12 - Champagne Supernova (Live).flac", 451),
    ("@@u\\Music\\Oasis\\Live at Knebworth\\12 - Champagne Supernova.flac", 451),
    ("@@u\\Music\\Oasis - Familiar to Millions (Live)\\Champagne Supernova.flac", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova - Live.flac", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova (Instrumental).flac", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova (Remix).flac", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova (Slowed + Reverb).flac", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova (Cover).flac", 451),
    ("@@u\\Music\\Oasis\\MTV Unplugged\\Champagne Supernova.flac", 451),
    ("@@u\\Music\\Oasis\\Champagne.flac", 451),                          # a different, shorter title
    ("@@u\\Music\\Oasis\\Supernova.flac", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova.flac", 400),                 # 51 s short
    ("@@u\\Music\\Oasis\\Champagne Supernova.flac", 465),                 # 14 s long
    ("@@u\\Music\\Other Band\\Other Band - Champagne Supernova.flac", 451),
    ("@@u\\Music\\Unsorted\\Champagne Supernova.flac", None),             # nothing confirms anything
    ("@@u\\Music\\Oasis\\Champagne Supernova.flac.torrent", 451),
    ("@@u\\Music\\Oasis\\Champagne Supernova.txt", 451),
])
def test_rejected_files(path: str, length: int | None) -> None:
    assert rank_search_results(SUPERNOVA, [response("u", [file(path, length)])]) == []


def test_artist_not_in_path_needs_the_length_and_ranks_after_strong_matches() -> None:
    weak = "@@u\\Music\\(What's the Story) Morning Glory\\12 - Champagne Supernova.flac"
    strong = "@@v\\Music\\Oasis\\Champagne Supernova.mp3"
    ranked = rank_search_results(SUPERNOVA, [response("u", [file(weak, 451)]),
                                             response("v", [file(strong, 451, bitRate=320)])])
    assert [c.filename for c in ranked] == [strong, weak]     # MP3 first despite FLAC: certainty first
    assert ranked[1].score < STRONG_MATCH
    assert rank_search_results(SUPERNOVA, [response("u", [file(weak, None)])]) == []


@pytest.mark.parametrize("path, accepted", [
    ("@@u\\Downloads\\Champagne Supernova.mp3", True),                    # nothing contradicts
    ("@@u\\Music\\Unsorted\\champagne_supernova.mp3", True),
    ("@@u\\Champagne Supernova.mp3", True),
    ("@@u\\Music\\O\\Champagne Supernova.mp3", True),
    ("@@u\\Music\\Some Tribute Band\\Greatest Hits\\Champagne Supernova.mp3", False),   # someone else's
    ("@@u\\Music\\Britpop Anthems\\Champagne Supernova.mp3", False),
])
def test_artist_not_in_path_is_accepted_only_where_no_folder_names_someone_else(path: str,
                                                                                accepted: bool) -> None:
    ranked = rank_search_results(SUPERNOVA, [response("u", [file(path, 451, bitRate=320)])])
    assert bool(ranked) is accepted
    if ranked:
        assert ranked[0].score < STRONG_MATCH and "artist not in path" in ranked[0].reason


@pytest.mark.parametrize("delta, accepted", [(0, True), (3, True), (-5, True), (7, True), (14, False),
                                             (-20, False)])
def test_length_within_a_few_seconds(delta: int, accepted: bool) -> None:
    ranked = rank_search_results(SUPERNOVA, [response("u", [file(f"{ALBUM_DIR}\\12 - Champagne Supernova.flac",
                                                                 451 + delta)])])
    assert bool(ranked) is accepted


def test_length_confidence_declines_smoothly() -> None:
    wanted = T("Song", "Band", "Album", 200)
    scores = []
    for delta in range(0, 12):
        ranked = rank_search_results(wanted, [response("u", [file("@@u\\Band\\Album\\01 - Song.flac",
                                                                  200 + delta)])])
        scores.append(ranked[0].score if ranked else 0.0)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(1.0) and scores[-1] == 0.0
    accepted = [s for s in scores if s > 0]
    assert len(accepted) >= 6                                      # 0..5 s apart all pass
    assert max(a - b for a, b in zip(accepted, accepted[1:])) < 0.15
    assert accepted[-1] < 0.97                                     # confidence fell before the cut


def test_unknown_length_is_accepted_when_the_path_is_clear() -> None:
    ranked = rank_search_results(SUPERNOVA, [response("u", [file(f"{ALBUM_DIR}\\12 - Champagne Supernova.flac")])])
    assert len(ranked) == 1 and ranked[0].length is None


# ----------------------------------------------------------------------------- wanted versions


def test_wanted_live_version_takes_only_live_files() -> None:
    wanted = T("Hotel California - Live On MTV, 1994", "Eagles", "Hell Freezes Over", 433)
    files = [
        file("@@u\\Eagles\\Hell Freezes Over\\06 - Hotel California.flac", 434),
        file("@@u\\Eagles\\Singles\\Eagles - Hotel California (Live).mp3", 433, bitRate=320),
        file("@@u\\Eagles\\Hotel California (1976)\\01 - Hotel California.flac", 391),
        file("@@u\\Eagles\\Hotel California (1976)\\01 - Hotel California.mp3", 433),   # studio, mislabeled length
    ]
    ranked = rank_search_results(wanted, [response("u", files)])
    assert names(ranked) == ["06 - Hotel California.flac", "Eagles - Hotel California (Live).mp3"]


def test_wanted_remix_takes_only_that_remixer() -> None:
    wanted = T("Titanium - Alesso Remix", ["David Guetta", "Sia"], "", 366)
    files = [
        file("@@u\\David Guetta\\Titanium (Alesso Remix).mp3", 366, bitRate=320),
        file("@@u\\David Guetta\\Titanium (feat. Sia) [Alesso Remix].mp3", 367, bitRate=320),
        file("@@u\\David Guetta\\Titanium (Nicky Romero Remix).mp3", 366, bitRate=320),
        file("@@u\\David Guetta\\Titanium.mp3", 245, bitRate=320),
        file("@@u\\David Guetta\\Titanium (Alesso Extended Remix).mp3", 366, bitRate=320),
    ]
    ranked = rank_search_results(wanted, [response("u", files)])
    assert sorted(names(ranked)) == ["Titanium (Alesso Remix).mp3", "Titanium (feat. Sia) [Alesso Remix].mp3"]


def test_titles_starting_with_numbers() -> None:
    for title, path in [("99 Problems", "@@u\\Jay-Z\\The Black Album\\01 - 99 Problems.mp3"),
                        ("7 rings", "@@u\\Ariana Grande\\thank u, next\\05 7 rings.mp3"),
                        ("1979", "@@u\\The Smashing Pumpkins\\1979.mp3"),
                        ("22", "@@u\\Taylor Swift\\Red\\06 - 22.mp3")]:
        artist = path.split("\\")[1]
        ranked = rank_search_results(T(title, artist, "", 200), [response("u", [file(path, 200)])])
        assert len(ranked) == 1, path


def test_featured_and_second_artists() -> None:
    wanted = T("SICKO MODE", ["Travis Scott", "Drake"], "ASTROWORLD", 312)
    ranked = rank_search_results(wanted, [response("u", [
        file("@@u\\Rap\\Travis Scott - SICKO MODE (feat. Drake).mp3", 312, bitRate=320),
        file("@@u\\Rap\\Drake - SICKO MODE.mp3", 312, bitRate=320),
    ])])
    assert len(ranked) == 2
    one_kiss = T("One Kiss", ["Calvin Harris", "Dua Lipa"], "One Kiss", 214)
    ranked = rank_search_results(one_kiss, [response("u", [file("@@u\\Dua Lipa\\One Kiss.mp3", 214)])])
    assert len(ranked) == 1


def test_uncredited_featured_guest_ranks_below_the_plain_file() -> None:
    wanted = T("Song", "Band", "", 200)
    ranked = rank_search_results(wanted, [response("u", [
        file("@@u\\Band\\Band - Song (feat. Stranger).mp3", 200, bitRate=320),
        file("@@v\\Band\\Band - Song.mp3", 200, bitRate=320),
    ])])
    assert names(ranked) == ["Band - Song.mp3", "Band - Song (feat. Stranger).mp3"]


def test_non_latin_paths() -> None:
    wanted = T("夜に駆ける", "YOASOBI", "THE BOOK", 261)
    ranked = rank_search_results(wanted, [response("u", [
        file("@@u\\音楽\\YOASOBI\\THE BOOK\\01 夜に駆ける.flac", 261),
        file("@@u\\音楽\\YOASOBI\\THE BOOK\\02 群青.flac", 249),
        file("@@u\\音楽\\YOASOBI\\THE BOOK\\01 夜に駆ける (Instrumental).flac", 261),
    ])])
    assert names(ranked) == ["01 夜に駆ける.flac"]
    wanted = T("Группа крови", "Кино", "Группа крови", 286)
    ranked = rank_search_results(wanted, [response("u", [
        file("@@u\\Музыка\\Кино\\1988 - Группа крови\\01 - Группа крови.mp3", 287, bitRate=320),
        file("@@u\\Музыка\\Кино\\1988 - Группа крови\\02 - Закрой за мной дверь, я ухожу.mp3", 260),
    ])])
    assert names(ranked) == ["01 - Группа крови.mp3"]


def test_accents_and_the_in_paths() -> None:
    wanted = T("Déjà Vu", ["Beyoncé", "JAY-Z"], "B'Day", 240)
    ranked = rank_search_results(wanted, [response("u", [
        file("@@u\\Beyonce\\B'Day\\02 - Deja Vu (feat. Jay-Z).mp3", 240, bitRate=320)])])
    assert len(ranked) == 1
    wanted = T("Hey Jude", "The Beatles", "Hey Jude", 431)
    ranked = rank_search_results(wanted, [response("u", [file("@@u\\Beatles\\Hey Jude.flac", 431)])])
    assert len(ranked) == 1


# ----------------------------------------------------------------------------- ordering


def _same_song(user: str, ext: str, free: bool = True, speed: int = 1_048_576, queue: int = 0,
               **extra: object) -> dict:
    return response(user, [file(f"@@{user}\\Oasis\\Morning Glory\\12 - Champagne Supernova.{ext}", 451, ext,
                                **extra)], free=free, speed=speed, queue=queue)


def test_quality_order_then_peer() -> None:
    responses = [
        _same_song("mp3_192", "mp3", bitRate=192),
        _same_song("mp3_320_slow", "mp3", speed=20_000, bitRate=320),
        _same_song("mp3_320_fast", "mp3", speed=5_000_000, bitRate=320),
        _same_song("flac_busy", "flac", free=False, queue=40),
        _same_song("flac_free", "flac", speed=100_000),
        _same_song("flac_24", "flac", speed=100_000, bitDepth=24, sampleRate=96000),
        _same_song("v0", "mp3", bitRate=245, isVariableBitRate=True),
    ]
    ranked = rank_search_results(SUPERNOVA, responses)
    assert [c.username for c in ranked] == ["flac_24", "flac_free", "flac_busy", "mp3_320_fast", "mp3_320_slow",
                                            "v0", "mp3_192"]


def test_peer_order_by_estimated_time_to_finish() -> None:
    """A free slot on a 10 KB/s line (15 minutes for 9 MB) comes after every fast peer, queued or not;
    estimates within ~40 % of each other tie and the shorter queue decides."""
    responses = [
        _same_song("queued_fast", "flac", free=False, speed=9_000_000, queue=5),
        _same_song("free_slow", "flac", speed=10_000),
        _same_song("free_fast", "flac", speed=9_000_000),
        _same_song("queued_slow_short", "flac", free=False, speed=2_000_000, queue=0),
        _same_song("queued_fast_short", "flac", free=False, speed=8_500_000, queue=0),
    ]
    assert [c.username for c in rank_search_results(SUPERNOVA, responses)] == [
        "free_fast", "queued_fast_short", "queued_slow_short", "queued_fast", "free_slow"]


def test_quality_prefs_filter_and_order() -> None:
    responses = [_same_song("flac", "flac"), _same_song("mp3_320", "mp3", bitRate=320),
                 _same_song("mp3_128", "mp3", bitRate=128), _same_song("ogg", "ogg", bitRate=160)]
    lossless = rank_search_results(SUPERNOVA, responses, QualityPrefs(lossless_only=True))
    assert [c.username for c in lossless] == ["flac"]
    min_br = rank_search_results(SUPERNOVA, responses, QualityPrefs(min_bitrate=256))
    assert [c.username for c in min_br] == ["flac", "mp3_320"]
    mp3_first = rank_search_results(SUPERNOVA, responses, QualityPrefs(order=["mp3_320", "flac", "other"]))
    assert [c.username for c in mp3_first][:2] == ["mp3_320", "flac"]


# ----------------------------------------------------------------------------- candidate contents


def test_candidate_carries_file_and_peer_facts() -> None:
    entry = file(f"{ALBUM_DIR}\\12 - Champagne Supernova.flac", 451, "", size=52_000_000, bitDepth=24,
                 sampleRate=96000)
    (c,) = rank_search_results(SUPERNOVA, [response("alice", [entry], free=False, speed=123_456, queue=3)])
    assert (c.username, c.filename, c.size, c.extension) == ("alice", entry["filename"], 52_000_000, "flac")
    assert (c.length, c.bit_depth, c.sample_rate, c.bitrate) == (451, 24, 96000, None)
    assert (c.has_free_slot, c.upload_speed, c.queue_length) == (False, 123_456, 3)
    assert c.quality == "FLAC 24/96"
    assert "artist in path" in c.reason and "album in path" in c.reason and "FLAC" in c.reason
    assert 0.0 <= c.score <= 1.0
    assert c.file.filename == entry["filename"]


def test_locked_and_duplicate_files_are_left_out() -> None:
    path = f"{ALBUM_DIR}\\12 - Champagne Supernova.flac"
    resp = response("u", [file(path, 451, isLocked=True)])
    resp["lockedFiles"] = [file(path, 451)]
    assert rank_search_results(SUPERNOVA, [resp]) == []
    dup = response("u", [file(path, 451), file(path, 451)])
    assert len(rank_search_results(SUPERNOVA, [dup])) == 1


# ----------------------------------------------------------------------------- untrusted input


MALFORMED: list[object] = [
    None, 5, "text", [], [None], [1, "x", []], [{}], [{"username": "u"}], [{"username": "u", "files": None}],
    [{"username": "", "files": [file(f"{ALBUM_DIR}\\12 - Champagne Supernova.flac", 451)]}],
    [{"username": 7, "files": [file(f"{ALBUM_DIR}\\12 - Champagne Supernova.flac", 451)]}],
    [{"username": "u", "files": {"a": 1}}],
    [{"username": "u", "files": [None, 3, "s", [], {"filename": None}, {"filename": ""}, {"filename": 12},
                                 {"size": 5}]}],
]


@pytest.mark.parametrize("responses", MALFORMED)
def test_malformed_responses_never_raise(responses: object) -> None:
    assert rank_search_results(SUPERNOVA, responses) == []  # type: ignore[arg-type]


def test_malformed_fields_are_treated_as_unknown() -> None:
    entry = {"filename": f"{ALBUM_DIR}\\12 - Champagne Supernova.mp3", "size": "huge", "bitRate": "320",
             "length": float("nan"), "sampleRate": -1, "bitDepth": True, "isVariableBitRate": "no",
             "extension": None}
    resp = {"username": "u", "files": [entry], "hasFreeUploadSlot": "yes", "uploadSpeed": "fast",
            "queueLength": -4}
    (c,) = rank_search_results(SUPERNOVA, [resp])
    assert (c.size, c.bitrate, c.length, c.sample_rate, c.bit_depth, c.is_vbr) == (0, None, None, None, None, None)
    assert (c.has_free_slot, c.upload_speed, c.queue_length, c.extension) == (False, 0, 0, "mp3")


def test_search_files_from_responses_counts_what_it_skips() -> None:
    good = response("u", [file("@@u\\a.flac", 1), {"filename": None}, "junk"])
    files, skipped = search_files_from_responses([good, None, {"username": "x"}, {"username": "y", "files": "no"}])
    assert [f.filename for f in files] == ["@@u\\a.flac"]
    # None, the files that are not files, and the response whose files are not a list; a response without
    # files shares nothing (the one reader of responses, core.slskd_responses, says so for grouping too)
    assert skipped == 4


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                      st.text(max_size=30))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
file_dict = st.fixed_dictionaries({"filename": st.one_of(st.text(max_size=80), json_value)}, optional={
    "size": json_value, "extension": json_value, "bitRate": json_value, "length": json_value,
    "sampleRate": json_value, "bitDepth": json_value, "isVariableBitRate": json_value, "isLocked": json_value})
response_dict = st.fixed_dictionaries({"username": st.one_of(st.text(max_size=10), json_value),
                                       "files": st.one_of(st.lists(st.one_of(file_dict, json_value), max_size=5),
                                                          json_value)},
                                      optional={"hasFreeUploadSlot": json_value, "uploadSpeed": json_value,
                                                "queueLength": json_value})


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.one_of(response_dict, json_value), max_size=4), json_value))
def test_arbitrary_json_never_raises(responses: object) -> None:
    ranked = rank_search_results(SUPERNOVA, responses)  # type: ignore[arg-type]
    for c in ranked:
        assert isinstance(c.filename, str) and c.filename
        assert 0.0 <= c.score <= 1.0 and not math.isnan(c.score)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=40), st.integers(min_value=1, max_value=2000))
def test_arbitrary_wanted_and_paths_never_raise(title: str, path: str, length: int) -> None:
    wanted = T(title, title[:5], title[5:], length)
    rank_search_results(wanted, [response("u", [file(path + ".mp3", length), file(path, None)])])

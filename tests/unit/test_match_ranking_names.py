"""rank_search_results on scene-style names, cover acts, part numbers, clean edits and peer choice."""
from __future__ import annotations

import pytest

from soulsync.core.models import Track
from soulsync.core.peers import finish_class, finish_seconds
from soulsync.core.quality import QualityPrefs
from soulsync.core.result_ranking import rank_search_results


def T(title: str, artists: str, album: str = "", seconds: float | None = None) -> Track:
    return Track(title=title, artists=[artists], album=album,
                 duration_ms=None if seconds is None else int(seconds * 1000))


def response(user: str, paths: list[str], length: int | None = 258, ext: str = "flac", free: bool = True,
             speed: int = 2_000_000, queue: int = 0, size: int = 30_000_000, **extra: object) -> dict:
    files = []
    for path in paths:
        entry: dict = {"filename": path, "size": size, "extension": ext, "length": length, **extra}
        files.append(entry)
    return {"username": user, "files": files, "hasFreeUploadSlot": free, "uploadSpeed": speed,
            "queueLength": queue}


def ranked_paths(wanted: Track, responses: list[dict], prefs: QualityPrefs | None = None) -> list[str]:
    return [c.filename for c in rank_search_results(wanted, responses, prefs)]


WONDERWALL = T("Wonderwall", "Oasis", "(What's the Story) Morning Glory?", 258)

# ----------------------------------------------------------------------------- 6. scene and (Artist) names

SCENE_KEPT = [
    "@@u\\incoming\\Oasis-Morning_Glory-1995-GRP\\02-oasis-wonderwall-grp.flac",
    "@@u\\scene\\02-oasis-wonderwall-grp.flac",
    "@@u\\scene\\oasis_-_wonderwall.flac",
    "@@u\\scene\\oasis-wonderwall-2014-fLaC.flac",
    "@@u\\Music\\(Oasis) Wonderwall.flac",
    "@@u\\Music\\[Oasis] 02 - Wonderwall.flac",
]
SCENE_LEFT_OUT = [
    "@@u\\scene\\02-oasis-champagne_supernova-grp.flac",
    "@@u\\scene\\02-oasis-wonderwall_live-grp.flac",
    "@@u\\scene\\02-blur-song_2-grp.flac",
    "@@u\\Music\\(Blur) Wonderwall.flac",
    "@@u\\scene\\02-oasis-wonderwall_acoustic-grp.flac",
]


@pytest.mark.parametrize("path", SCENE_KEPT)
def test_scene_and_bracketed_artist_names_are_understood(path: str) -> None:
    assert ranked_paths(WONDERWALL, [response("u", [path])]) == [path]


@pytest.mark.parametrize("path", SCENE_LEFT_OUT)
def test_scene_names_of_other_recordings_stay_out(path: str) -> None:
    assert ranked_paths(WONDERWALL, [response("u", [path])]) == []


# ----------------------------------------------------------------------------- 7. cover acts

COVER_PATHS = [
    "@@fast\\Music\\Oasis Tribute Band\\Oasis Tribute Band - Wonderwall.flac",
    "@@fast\\Music\\Vitamin String Quartet Performs Oasis\\02 - Wonderwall.flac",
    "@@fast\\Music\\The Karaoke Channel\\Oasis - Wonderwall.flac",
    "@@fast\\Music\\Oasis Covers\\Oasis - Wonderwall.flac",
    "@@fast\\Music\\Rockabye Baby! Lullaby Renditions of Oasis\\Wonderwall.flac",
]


@pytest.mark.parametrize("cover", COVER_PATHS)
def test_cover_act_with_perfect_tags_never_outranks_the_artist(cover: str) -> None:
    real = "@@slow\\Oasis\\(What's the Story) Morning Glory\\02 - Wonderwall.mp3"
    responses = [response("fast", [cover], speed=9_000_000),
                 response("slow", [real], ext="mp3", bitRate=320, free=False, queue=40, speed=30_000)]
    assert ranked_paths(WONDERWALL, responses) == [real]


def test_the_artists_own_album_of_covers_is_not_a_cover_act() -> None:
    wanted = T("Wonderwall", "Oasis", "Oasis Covers", 258)
    path = "@@u\\Oasis\\Oasis Covers\\02 - Wonderwall.flac"
    assert ranked_paths(wanted, [response("u", [path])]) == [path]


# ----------------------------------------------------------------------------- 8. part numbers

PARTS = T("Another Brick in the Wall, Pt. 2", "Pink Floyd", "The Wall", 239)


@pytest.mark.parametrize("name", [
    "Another Brick in the Wall (Part II)", "Another Brick in the Wall, Part 2", "Another Brick In The Wall Pt2",
    "Another Brick in the Wall - Part Two", "Another Brick in the Wall Pt. II",
])
def test_part_numbers_in_any_form_keep_the_lossless_file_first(name: str) -> None:
    lossless = f"@@a\\Pink Floyd\\The Wall\\05 - {name}.flac"
    lossy = "@@b\\Pink Floyd\\The Wall\\05 - Another Brick in the Wall, Pt. 2.mp3"
    responses = [response("a", [lossless], length=239), response("b", [lossy], length=239, ext="mp3", bitRate=192)]
    assert ranked_paths(PARTS, responses) == [lossless, lossy]


@pytest.mark.parametrize("name", [
    "Another Brick in the Wall (Part I)", "Another Brick in the Wall, Pt. 3", "Another Brick in the Wall Pts. 1-3",
    "Another Brick in the Wall Part1", "Another Brick in the Wall - Part Three",
])
def test_other_part_numbers_stay_out(name: str) -> None:
    path = f"@@a\\Pink Floyd\\The Wall\\{name}.flac"
    assert ranked_paths(PARTS, [response("a", [path], length=239)]) == []


# ----------------------------------------------------------------------------- 9. clean versions

HUMBLE = T("HUMBLE.", "Kendrick Lamar", "DAMN.", 177)
CLEAN = "@@fast\\Kendrick Lamar\\DAMN. (Clean)\\08 - HUMBLE..flac"
CLEAN_TAGGED = "@@fast2\\Kendrick Lamar\\DAMN\\08 - HUMBLE. (Clean).flac"
EXPLICIT = "@@slow\\Kendrick Lamar\\DAMN\\08 - HUMBLE. (Explicit).mp3"
PLAIN = "@@slow2\\Kendrick Lamar\\DAMN\\08 - HUMBLE..mp3"


def _humble_responses() -> list[dict]:
    return [response("fast", [CLEAN], length=177, speed=9_000_000),
            response("fast2", [CLEAN_TAGGED], length=177, speed=9_000_000),
            response("slow", [EXPLICIT], length=177, ext="mp3", bitRate=320, free=False, queue=3, speed=100_000),
            response("slow2", [PLAIN], length=177, ext="mp3", bitRate=320, free=False, queue=3, speed=100_000)]


def test_clean_version_is_never_first_while_another_exists() -> None:
    ranked = ranked_paths(HUMBLE, _humble_responses())
    assert set(ranked[:2]) == {EXPLICIT, PLAIN} and set(ranked[2:]) == {CLEAN, CLEAN_TAGGED}


def test_clean_version_first_when_the_user_prefers_it() -> None:
    ranked = ranked_paths(HUMBLE, _humble_responses(), QualityPrefs(prefer_clean=True))
    assert set(ranked[:2]) == {CLEAN, CLEAN_TAGGED} and ranked[2:] == [PLAIN, EXPLICIT]


def test_clean_version_first_when_the_wanted_track_is_clean() -> None:
    ranked = ranked_paths(T("HUMBLE. (Clean)", "Kendrick Lamar", "DAMN.", 177), _humble_responses())
    assert set(ranked[:2]) == {CLEAN, CLEAN_TAGGED}


def test_only_clean_versions_are_still_offered() -> None:
    responses = [response("fast", [CLEAN], length=177)]
    assert ranked_paths(HUMBLE, responses) == [CLEAN]


def test_radio_edit_is_another_recording() -> None:
    path = "@@fast\\Kendrick Lamar\\DAMN\\08 - HUMBLE. (Radio Edit).flac"
    assert ranked_paths(HUMBLE, [response("fast", [path], length=170)]) == []


# ----------------------------------------------------------------------------- 10. peer choice


def test_slow_free_slot_loses_to_fast_short_queues() -> None:
    """The run in the issue: 120 MB from an 87 KB/s peer with a free slot (23 minutes) against peers
    at 2-4 MB/s with a few uploads queued (about a minute)."""
    path = "@@{u}\\Oasis\\(What's the Story) Morning Glory\\02 - Wonderwall.flac"
    responses = [response("slow", [path.format(u="slow")], size=120_000_000, speed=87_000),
                 response("queued", [path.format(u="queued")], size=120_000_000, free=False, queue=3,
                          speed=2_000_000),
                 response("fast", [path.format(u="fast")], size=120_000_000, free=False, queue=1, speed=4_000_000)]
    users = [c.username for c in rank_search_results(WONDERWALL, responses)]
    assert users == ["fast", "queued", "slow"]


def test_quality_still_comes_before_speed() -> None:
    flac = "@@slow\\Oasis\\(What's the Story) Morning Glory\\02 - Wonderwall.flac"
    mp3 = "@@fast\\Oasis\\(What's the Story) Morning Glory\\02 - Wonderwall.mp3"
    responses = [response("slow", [flac], speed=87_000), response("fast", [mp3], ext="mp3", bitRate=320,
                                                                  speed=9_000_000)]
    assert ranked_paths(WONDERWALL, responses) == [flac, mp3]


def test_finish_estimate() -> None:
    assert finish_seconds(10_000_000, 1_000_000, True, 0) == pytest.approx(10.0)
    # no free slot: at least one upload runs before ours
    assert finish_seconds(10_000_000, 1_000_000, False, 0) == pytest.approx(20.0)
    assert finish_seconds(10_000_000, 1_000_000, False, 2) == pytest.approx(40.0)
    # an unknown speed is taken as slow, an unknown size as one typical file
    assert finish_seconds(10_000_000, 0, True, 0) > finish_seconds(10_000_000, 100_000, True, 0)
    assert finish_seconds(0, 1_000_000, True, 0) == pytest.approx(10.0)


def test_finish_classes_tie_near_estimates_only() -> None:
    assert finish_class(65.0) == finish_class(80.0)
    assert finish_class(60.0) < finish_class(200.0)
    assert finish_class(0.0) == 0


def test_album_source_is_the_one_that_finishes_first() -> None:
    """Album mode: the same 4-track folder (120 MB) from a free 87 KB/s peer and a queued 3 MB/s one."""
    from soulsync.core.album_mode import choose_source
    from soulsync.core.models import Album
    from soulsync.core.search_grouping import group_results

    titles = ["Hello", "Roll With It", "Wonderwall", "Don't Look Back in Anger"]
    tracks = [Track(title=t, artists=["Oasis"], album="Morning Glory", duration_ms=(200 + n) * 1000,
                    track_number=n + 1) for n, t in enumerate(titles)]
    release = Album(title="Morning Glory", artists=["Oasis"], total_tracks=4, tracks=tracks)

    def folder(user: str, free: bool, queue: int, speed: int) -> dict:
        paths = [f"@@{user}\\Oasis\\Morning Glory\\{n + 1:02d} - {t}.flac" for n, t in enumerate(titles)]
        files = [{"filename": p, "size": 30_000_000, "extension": "flac", "length": 200 + n}
                 for n, p in enumerate(paths)]
        return {"username": user, "files": files, "hasFreeUploadSlot": free, "uploadSpeed": speed,
                "queueLength": queue}

    albums = group_results([folder("slow", True, 0, 87_000), folder("quick", False, 4, 3_000_000)]).albums
    source = choose_source(release, tracks, albums, QualityPrefs())
    assert source is not None and source.username == "quick"


# ----------------------------------------------------------------------------- scripts in file names

KINO = T("Группа крови", "Кино", "Группа крови", 286)


@pytest.mark.parametrize("path", [
    "@@u\\Music\\Kino\\Gruppa krovi\\01 - Gruppa krovi.flac",
    "@@u\\Music\\Kino - Gruppa krovi.flac",
    "@@u\\Кино\\Группа крови\\01 - Группа крови.flac",
])
def test_a_file_named_in_a_transliteration_is_the_track(path: str) -> None:
    assert ranked_paths(KINO, [response("u", [path], length=286)]) == [path]


@pytest.mark.parametrize("path", [
    "@@u\\Music\\Kino\\Zvezda po imeni Solntse\\01 - Zvezda po imeni Solntse.flac",
    "@@u\\Music\\Kino - Gruppa krovi (Live).flac",
    "@@u\\Music\\Aria - Gruppa krovi.flac",
])
def test_other_transliterated_files_stay_out(path: str) -> None:
    assert ranked_paths(KINO, [response("u", [path], length=286)]) == []

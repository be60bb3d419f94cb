"""LibraryIndex: finding owned tracks by normalised keys, runner-ups, ambiguity, no full scans."""
from __future__ import annotations

import random

import pytest

from soulsync.core import library_index
from soulsync.core.library_index import LibraryIndex, Match
from soulsync.core.matching import MATCH_THRESHOLD
from soulsync.core.models import Track


def T(title: str, artists: str | list[str], album: str = "", seconds: float | None = None,
      isrc: str | None = None) -> Track:
    return Track(title=title, artists=[artists] if isinstance(artists, str) else artists, album=album,
                 duration_ms=None if seconds is None else int(seconds * 1000), isrc=isrc)


WORDS = ("golden silver broken electric quiet wild burning hollow endless midnight velvet crystal lonely "
         "northern heart river ocean highway mirror garden thunder shadow window harbor lantern horizon "
         "summer winter echo fire rain storm island city machine ghost dream letter signal compass").split()


def filler(n: int, seed: int = 7) -> list[Track]:
    """``n`` unrelated library tracks with plausible names."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(1, 4)))
        artist = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}s {i % 997}"
        out.append(T(title, artist, f"{rng.choice(WORDS).title()} Album", rng.randint(120, 420)))
    return out


LIBRARY = [
    T("Wonderwall", "Oasis", "(What's The Story) Morning Glory", 259),
    T("Champagne Supernova", "Oasis", "(What's The Story) Morning Glory", 451),
    T("Live Forever", "Oasis", "Definitely Maybe", 277),
    T("Deja Vu (feat. Jay Z)", "Beyonce", "B'Day", 241),
    T("Scientist", "Coldplay", "A Rush of Blood to the Head", 309),
    T("Hotel California (Live)", "Eagles", "Hell Freezes Over", 434),
    T("Hotel California", "Eagles", "Hotel California", 391),
    T("夜に駆ける", "YOASOBI", "THE BOOK", 261),
    T("群青", "YOASOBI", "THE BOOK", 249),
    T("Группа крови", "Кино", "Группа крови", 287),
    T("Звезда по имени Солнце", "Кино", "Звезда по имени Солнце", 225),
    T("Nothing Else Maters", "Metalica", "Black Album", 388),
    T("Yoru ni Kakeru (English)", "Someone", "", 250, isrc="JPU902000001"),
] + filler(3000)


@pytest.fixture(scope="module")
def index() -> LibraryIndex:
    return LibraryIndex(LIBRARY)


@pytest.mark.parametrize("wanted, expected", [
    (T("Wonderwall - Remastered", "Oasis", "(What's the Story) Morning Glory?", 258), "Wonderwall"),
    (T("Déjà Vu", ["Beyoncé", "JAY-Z"], "B'Day", 240), "Deja Vu (feat. Jay Z)"),
    (T("The Scientist", "Coldplay", "A Rush of Blood to the Head", 309), "Scientist"),
    (T("Hotel California - Live On MTV, 1994", "Eagles", "Hell Freezes Over", 433), "Hotel California (Live)"),
    (T("Hotel California - 2013 Remaster", "Eagles", "Hotel California", 391), "Hotel California"),
    (T("夜に駆ける", "YOASOBI", "THE BOOK", 261), "夜に駆ける"),
    (T("Группа Крови", "КИНО", "", 286), "Группа крови"),
    (T("Nothing Else Matters", "Metallica", "Metallica", 388), "Nothing Else Maters"),  # both misspelt
    (T("Different Title", "Whoever", isrc="JPU902000001"), "Yoru ni Kakeru (English)"),
])
def test_find_owned_tracks(index: LibraryIndex, wanted: Track, expected: str) -> None:
    match = index.find(wanted)
    assert match is not None, index.search(wanted)
    assert match.track.title == expected
    assert match.score >= MATCH_THRESHOLD


@pytest.mark.parametrize("wanted", [
    T("Champagne", "Oasis", "", 250),                                # only "Champagne Supernova" is owned
    T("Wonderwall (Acoustic)", "Oasis", "", 258),                     # only the studio take is owned
    T("Live Forever - Live at Knebworth", "Oasis", "", 290),
    T("Wonderwall", "Ryan Adams", "Love Is Hell", 248),               # a cover by someone else
    T("Hello", "Adele", "25", 295),
    T("Группа крови (Live)", "Кино", "", 300),
    T("夜に駆ける", "Someone Else", "", 200),
])
def test_missing_tracks_are_not_found(index: LibraryIndex, wanted: Track) -> None:
    assert index.find(wanted) is None, index.search(wanted)


def test_studio_wanted_prefers_studio_over_live(index: LibraryIndex) -> None:
    match = index.find(T("Hotel California", "Eagles", "", None))
    assert match is not None
    assert match.track.title == "Hotel California"
    assert match.runner_up is not None and match.runner_up.title == "Hotel California (Live)"
    assert match.runner_up_score < MATCH_THRESHOLD
    assert not match.ambiguous


def test_two_plausible_recordings_are_flagged_ambiguous() -> None:
    lib = [T("Song", "Band", "First Album", 200), T("Song", "Band", "Second Album", 262)] + filler(200)
    match = LibraryIndex(lib).find(T("Song", "Band"))
    assert isinstance(match, Match)
    assert match.ambiguous
    assert match.runner_up is not None and match.runner_up_score >= MATCH_THRESHOLD
    assert {match.track.album, match.runner_up.album} == {"First Album", "Second Album"}


def test_evidence_resolves_what_would_be_ambiguous() -> None:
    lib = [T("Song", "Band", "First Album", 200), T("Song", "Band", "Second Album", 262)]
    match = LibraryIndex(lib).find(T("Song", "Band", "", 261))
    assert match is not None and match.track.album == "Second Album"
    assert not match.ambiguous


def test_equal_candidates_without_lengths_are_ambiguous() -> None:
    lib = [T("Song", "Band", "First Album"), T("Song", "Band", "Second Album")]
    match = LibraryIndex(lib).find(T("Song", "Band"))
    assert match is not None and match.ambiguous and match.runner_up is not None


def test_duplicate_files_of_one_recording_are_not_ambiguous() -> None:
    lib = [T("Song", "Band", "Album", 200), T("Song", "Band", "Greatest Hits", 201)]
    match = LibraryIndex(lib).find(T("Song", "Band"))
    assert match is not None and not match.ambiguous
    assert match.runner_up is None


def test_find_uses_keys_not_a_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    lib = filler(20_000, seed=3) + [T("Needle In The Haystack", "Finder", "", 200)]
    index = LibraryIndex(lib)
    calls = 0
    real = library_index._evaluate

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(library_index, "_evaluate", counting)
    assert index.find(T("Needle in the Haystack - Remastered", "Finder", "", 201)) is not None
    assert calls <= 5
    calls = 0
    assert index.find(T("Not Owned At All", "Nobody Known", "", 201)) is None
    assert calls <= 40


def test_a_very_common_title_is_narrowed_by_artist() -> None:
    lib = [T("Intro", f"Artist {i}", f"Album {i}", 60 + i % 50) for i in range(1000)]
    lib.append(T("Intro", "The xx", "xx", 127))
    match = LibraryIndex(lib).find(T("Intro", "The xx", "xx", 128))
    assert match is not None and match.track.artists == ["The xx"]


def test_find_all_keeps_order_and_min_score(index: LibraryIndex) -> None:
    wanted = [T("Wonderwall", "Oasis"), T("Champagne", "Oasis"), T("群青", "YOASOBI")]
    found = index.find_all(wanted)
    assert [m.track.title if m else None for m in found] == ["Wonderwall", None, "群青"]
    loose = index.find_all([T("Champagne", "Oasis", "", 451)], min_score=0.0)
    assert loose[0] is not None and loose[0].track.title == "Champagne Supernova"


def test_search_lists_near_misses_best_first(index: LibraryIndex) -> None:
    results = index.search(T("Hotel California", "Eagles", "", 392), limit=3)
    assert [t.title for t, _ in results[:2]] == ["Hotel California", "Hotel California (Live)"]
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)


def test_add_extends_the_index() -> None:
    index = LibraryIndex()
    assert len(index) == 0 and index.find(T("Song", "Band")) is None
    index.add(T("Song", "Band", "", 200))
    assert len(index) == 1
    assert index.find(T("Song", "Band", "", 201)) is not None


def test_tracks_added_after_the_word_index_exists_are_found_through_it() -> None:
    index = LibraryIndex([T("Nothing Else Maters", "Metalica", "", 388)])
    assert index.find(T("Nothing Else Matters", "Metallica", "", 388)) is not None   # builds the word index
    index.add(T("Enter Sandmen", "Metalica", "", 331))
    match = index.find(T("Enter Sandman", "Metallica", "", 331))
    assert match is not None and match.track.title == "Enter Sandmen"


def test_tracks_with_odd_fields_are_indexed_without_errors() -> None:
    odd = [T("", ""), T("!!!", []), T("(Live)", "X"), Track(title="Song", artists=["", "  "]),
           Track(title="Ok", artists=["A"], duration_ms=0), Track(title="Ok", artists=["A"], isrc="nope")]
    index = LibraryIndex(odd)
    assert index.find(T("", "")) is None
    assert index.find(T("(Live)", "X")) is not None


# ----------------------------------------------------------------------------- a generated library


def _variant(rng: random.Random, t: Track) -> Track:
    """The same recording as a differently-tagged library file."""
    title, artists, album = t.title, list(t.artists), t.album
    roll = rng.random()
    if roll < 0.2:
        title += rng.choice([" - Remastered 2011", " (Remastered)", " [2009 Remaster]", " (Album Version)"])
    elif roll < 0.35 and len(artists) > 1:
        title, artists = f"{title} (feat. {artists[1]})", artists[:1]
    elif roll < 0.45:
        title = title.upper()
    if rng.random() < 0.3:
        artists = [a[4:] if a.startswith("The ") else a for a in artists]
    if rng.random() < 0.3:
        album += " (Deluxe Edition)"
    seconds = (t.duration_ms or 0) / 1000 + rng.uniform(-2, 2)
    return T(title, artists, album, seconds)


def _originals(rng: random.Random, n: int) -> list[Track]:
    firsts = "Ava Ben Clara Daniel Élodie Søren Zoë Jürgen Chloé Inés Noah Mia".split()
    syllables = "ka lo mi ra te su no vi da re shi an".split()
    out = []
    titles: set[str] = set()
    for i in range(n):
        while True:  # titles are unique, as in a real catalogue most (title, artist) pairs are
            words = [w.title() for w in rng.sample(WORDS, rng.randint(0, 3))]
            words.insert(rng.randint(0, len(words)), "".join(rng.choices(syllables, k=3)).title())
            title = " ".join(words)
            if title not in titles:
                titles.add(title)
                break
        main = f"The {rng.choice(WORDS).title()}s" if rng.random() < 0.3 else f"{rng.choice(firsts)} {i % 311}"
        artists = [main] + ([f"{rng.choice(firsts)} Guest {i}"] if rng.random() < 0.2 else [])
        out.append(T(title, artists, f"{rng.choice(WORDS).title()} {i % 53}", rng.randint(120, 420)))
    return out


def test_generated_library_recall_and_precision() -> None:
    rng = random.Random(11)
    originals = _originals(rng, 3000)
    owned = originals[:2000]
    library = [_variant(rng, t) for t in owned]
    # decoys: other versions of songs that are not owned
    for t in originals[2000:2400]:
        library.append(T(t.title + rng.choice([" (Live)", " - Acoustic", " (Radio Edit)", " (Instrumental)"]),
                         t.artists, t.album, (t.duration_ms or 0) / 1000 + rng.uniform(-30, 30)))
    index = LibraryIndex(library)
    matches = index.find_all(originals)
    found_owned = sum(1 for m, t in zip(matches[:2000], owned)
                      if m is not None and m.track.artists and m.track.title.lower().startswith(
                          t.title.lower()[:3]))
    wrong = [(t.display(), m.track.display()) for m, t in zip(matches, originals)
             if m is not None and originals.index(t) >= 2000]
    assert found_owned >= 0.97 * 2000
    assert not wrong

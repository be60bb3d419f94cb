"""Library matching across scripts, credit variants, stylised spellings, odd title structure, classical.

Each table pairs realistic Spotify-side and library-side descriptions of a recording; every rule has
negative pairs beside it, because a wrong match hides a missing track from the user.
"""
from __future__ import annotations

import pytest

from soulsync.core.library_index import LibraryIndex
from soulsync.core.matching import explain_match, is_same_track
from soulsync.core.models import Track


def T(title: str, artists: str | list[str], album: str = "", seconds: float | None = None,
      number: int | None = None, isrc: str | None = None) -> Track:
    """Short constructor: duration in seconds, ``number`` is the track position."""
    return Track(title=title, artists=[artists] if isinstance(artists, str) else artists, album=album,
                 duration_ms=None if seconds is None else int(seconds * 1000), track_number=number, isrc=isrc)


# ----------------------------------------------------------------------------- 1. scripts

SCRIPTS_SAME = [
    (T("Gruppa krovi", "Kino", "Gruppa krovi", 286, 1), T("Группа крови", "Кино", "Группа крови", 287, 1),
     "library in Cyrillic, Spotify transliterated"),
    (T("Kukushka", "Kino", "", 402), T("Кукушка", "Kino", "", 402), "Cyrillic title, Latin artist"),
    (T("Kill This Love", "BLACKPINK", "KILL THIS LOVE", 189, 1),
     T("Kill This Love", "블랙핑크", "KILL THIS LOVE", 189, 1), "artist romanised vs hangul, album and length"),
    (T("Night Running", "YOASOBI", "THE BOOK", 261, 1), T("夜に駆ける", "YOASOBI", "THE BOOK", 261, 1),
     "official English title vs native title, album, length and position"),
    (T("Qing Hua Ci", "Jay Chou", "On the Run", 239, 10), T("青花瓷", "周杰倫", "On the Run", 240, 10),
     "title in pinyin vs traditional characters, the artist vouched for"),
    (T("晴天", "周杰伦"), T("晴天", "周杰倫"), "simplified vs traditional artist"),
    (T("Sarang", "Artist", "", 200, isrc="KRA381500123"), T("사랑", "가수", "", 230, isrc="KRA381500123"),
     "ISRC when both carry one"),
]

SCRIPTS_DIFFERENT = [
    (T("Gruppa krovi", "Kino", "Gruppa krovi", 286, 1), T("Закрой за мной дверь", "Кино", "Gruppa krovi", 270, 5),
     "another song of the album, other length"),
    (T("Night Running", "YOASOBI", "THE BOOK", 261, 1), T("群青", "YOASOBI", "THE BOOK", 249, 3),
     "another native title on the album"),
    (T("Night Running", "YOASOBI", "THE BOOK", 261, 1), T("ハルジオン", "YOASOBI", "THE BOOK", 261, 4),
     "same length but another track position"),
    (T("Night Running", "YOASOBI", "", 261), T("夜に駆ける", "YOASOBI", "", 261),
     "no album: nothing vouches for the other-script title"),
    (T("Kill This Love", "BLACKPINK", "KILL THIS LOVE", 189), T("Kill This Love", "블랙핑크", "Other Album", 189),
     "hangul artist on another album"),
    (T("Kill This Love", "BLACKPINK", "KILL THIS LOVE", 189), T("Kill This Love", "블랙핑크", "KILL THIS LOVE", 199),
     "hangul artist, ten seconds apart"),
    (T("Blue and White Porcelain", "Jay Chou", "On the Run", 239, 10), T("青花瓷", "周杰倫", "On the Run", 240, 10),
     "both names in doubt: album, length and position are not enough"),
    (T("Bonita Luna", "Dulce Noche", "Göteborg", 213, 6), T("最後のさくら", "空野ミサキ", "Göteborg", 213, 6),
     "another act's same-named album, same position and length"),
]

# ----------------------------------------------------------------------------- 2. credits

CREDITS_SAME = [
    (T("Proud Mary", "CCR", "Bayou Country", 187), T("Proud Mary", "Creedence Clearwater Revival", "Bayou Country", 187),
     "abbreviation"),
    (T("Enola Gay", "OMD", "Organisation", 213), T("Enola Gay", "Orchestral Manoeuvres in the Dark", "", 213),
     "abbreviation skipping little words"),
    (T("Mrs. Robinson", "Simon & Garfunkel", "Bookends", 244), T("Mrs. Robinson", "Paul Simon & Art Garfunkel", "", 244),
     "duo by surnames vs full names"),
    (T("Rich Girl", "Hall & Oates"), T("Rich Girl", "Daryl Hall & John Oates"), "duo, no lengths"),
    (T("Free Fallin'", "Tom Petty", "Full Moon Fever", 256), T("Free Fallin'", "Tom Petty and the Heartbreakers"),
     "leader vs band"),
    (T("The Tracks of My Tears", "Smokey Robinson & The Miracles"), T("Tracks of My Tears", "Smokey Robinson"),
     "band vs leader"),
    (T("I'll Be Missing You", "Diddy", "No Way Out", 303, 5), T("I'll Be Missing You", "Puff Daddy", "No Way Out", 303, 5),
     "earlier stage name, album, length and position agree"),
    (T("Song", "Band", "Now 100", 200, 7), T("Song", "Various Artists", "Now 100", 201, 7),
     "compilation credited to Various Artists"),
]

CREDITS_DIFFERENT = [
    (T("Song", "Band", "Now 100", 200), T("Song", "Various Artists", "Now 99", 201), "Various Artists, other album"),
    (T("Song", "Band", "Now 100", 200), T("Song", "Various Artists", "Now 100", 215),
     "Various Artists, other length"),
    (T("Song", "Band", "Hits", 200, 3), T("Song", "Various Artists", "Hits", 200, 9), "Various Artists, other position"),
    (T("Song", "Band"), T("Song", "Various Artists"), "Various Artists and nothing else"),
    (T("I'll Be Missing You", "Diddy", "", 303), T("I'll Be Missing You", "Puff Daddy", "", 303),
     "other name without an album"),
    (T("Proud Mary", "CR", "", 187), T("Proud Mary", "Creedence Clearwater Revival", "", 187), "not the initials"),
    (T("Song", "DP"), T("Song", "Daft Punk"), "two-letter initials are too common to trust"),
    (T("Song", "Simon & Garfunkel"), T("Song", "Paul Simon & Art Buchanan"), "one surname only"),
]

# ----------------------------------------------------------------------------- 3. spellings

SPELLING_SAME = [
    (T("Goin' Home", "Band"), T("Going Home", "Band"), "dropped g"),
    (T("Lovin You", "Band", "", 200), T("Loving You", "Band", "", 200), "dropped g without apostrophe"),
    (T("'Til Tuesday", "Band"), T("Until Tuesday", "Band"), "shortened word"),
    (T("'Cause I Love You", "Band"), T("Because I Love You", "Band"), "'cause"),
    (T("Born in the U.S.A.", "Bruce Springsteen", "", 279), T("Born in the USA", "Bruce Springsteen", "", 279),
     "dotted acronym"),
    (T("MSTRPLN", "Band", "", 200), T("Masterplan", "Band", "", 200), "vowel-less title"),
    (T("Song 2", "Blur"), T("Song Two", "Blur"), "number as a word"),
    (T("Cinco de Mayo", "Band"), T("5 de Mayo", "Band"), "Spanish number word"),
    (T("Zwei Herzen", "Band"), T("2 Herzen", "Band"), "German number word"),
    (T("Shine On You Crazy Diamond (Parts I-V)", "Pink Floyd", "", 810),
     T("Shine On You Crazy Diamond, Pts. 1-5", "Pink Floyd", "", 811), "range of parts, roman vs digits"),
    (T("Shine On You Crazy Diamond (Pts. 1 & 2)", "Pink Floyd"),
     T("Shine On You Crazy Diamond (Parts 1 and 2)", "Pink Floyd"), "range written with & and and"),
    (T("Song Part1", "Band"), T("Song Part 1", "Band"), "glued part number"),
    (T("Song PartII", "Band"), T("Song Part 2", "Band"), "glued roman part number"),
]

SPELLING_DIFFERENT = [
    (T("Thin", "Band"), T("Thing", "Band"), "a word that only looks like a dropped g"),
    (T("Song Part 1", "Band"), T("Song Part 2", "Band"), "glued numbers still differ"),
    (T("Song (Parts 1 & 2)", "Band"), T("Song (Part 1)", "Band"), "range vs one part"),
    (T("No One", "Alicia Keys"), T("No. 1", "Alicia Keys"), "no one is not number one"),
    (T("Song 2", "Blur"), T("Song Three", "Blur"), "other number word"),
    (T("MSTR", "Band"), T("Monster Master", "Band"), "vowel-less word needs a word to match"),
    (T("USA", "Band"), T("U.S.S.R.", "Band"), "other acronym"),
]

# ----------------------------------------------------------------------------- 4. title structure

STRUCTURE_SAME = [
    (T("Wonderwall", "Oasis", "", 258), T("03 - Wonderwall", "Oasis", "", 258), "track number left in the title"),
    (T("Wonderwall", "Oasis", "", 258), T("1-03. Wonderwall", "Oasis", "", 258), "disc-track number"),
    (T("Wonderwall", "Oasis", "", 258), T("Oasis - Wonderwall", "Oasis", "", 258), "artist left in the title"),
    (T("Main Title (Other Name)", "Band", "", 200), T("Other Name (Main Title)", "Band", "", 200),
     "bracketed alternative title swapped"),
    (T("My Heart Will Go On", "Celine Dion", "", 280),
     T("My Heart Will Go On - Love Theme from \"Titanic\"", "Celine Dion", "", 280), "theme subtitle"),
    (T("Song", "Band", "", 200), T("Song - The Ballad of Nobody", "Band", "", 200), "film subtitle after a dash"),
    (T("Rhubarb", "Aphex Twin", "", 470), T("Untitled (Rhubarb)", "Aphex Twin", "", 470), "untitled track by its nickname"),
    (T("Titanium (Alesso Remix)", "David Guetta", "", 366), T("Titanium Alesso Remix", "David Guetta", "", 366),
     "mix name without brackets"),
]

STRUCTURE_DIFFERENT = [
    (T("Years", "Band", "", 200), T("7 Years", "Band", "", 200), "a number that is part of the title"),
    (T("Song", "Band", "", 200), T("Song (Part 2)", "Band", "", 200), "a bracketed number is not an alternative"),
    (T("Wonderwall", "Oasis", "", 258), T("Blur - Wonderwall", "Oasis", "", 258), "someone else named at the head"),
    (T("Titanium", "David Guetta", "", 245), T("Titanium Alesso Remix", "David Guetta", "", 366),
     "original vs an unbracketed remix"),
    (T("Other Name", "Band", "", 200), T("Main Title (Another Name)", "Band", "", 200), "another alternative title"),
]

# ----------------------------------------------------------------------------- 5. classical

BEETHOVEN_5 = "Symphony No. 5 in C Minor, Op. 67: I. Allegro con brio"
MOONLIGHT = "Piano Sonata No. 14 in C-Sharp Minor, Op. 27 No. 2 \"Moonlight\": I. Adagio sostenuto"

CLASSICAL_SAME = [
    (T(BEETHOVEN_5, ["Ludwig van Beethoven", "Berliner Philharmoniker", "Herbert von Karajan"], "Beethoven: 5 & 7", 447),
     T(BEETHOVEN_5, ["Berliner Philharmoniker", "Herbert von Karajan"], "Beethoven: 5 & 7", 448), "composer left out"),
    (T(MOONLIGHT, ["Ludwig van Beethoven", "Daniel Barenboim"], "Beethoven: Piano Sonatas", 356, 1),
     T("Moonlight Sonata: I. Adagio sostenuto", ["Daniel Barenboim"], "Beethoven: Piano Sonatas", 357, 1),
     "catalogue title vs nickname, performer and album agree"),
    (T("Symphony No. 9 in E Minor, Op. 95 \"From the New World\": IV. Allegro con fuoco", ["Antonín Dvořák", "Wiener Philharmoniker"],
       "Dvořák: Symphony No. 9", 678),
     T("New World Symphony: IV. Allegro con fuoco", ["Wiener Philharmoniker"], "Dvorak: Symphony No. 9", 677),
     "nickname, catalogue number on one side"),
    (T(BEETHOVEN_5, ["Ludwig van Beethoven", "Wiener Philharmoniker", "Carlos Kleiber"]),
     T(BEETHOVEN_5, ["Beethoven", "Wiener Philharmoniker", "Carlos Kleiber"]), "composer written short"),
    (T("Cello Suite No. 1 in G Major, BWV 1007: I. Prélude", ["Johann Sebastian Bach", "Yo-Yo Ma"], "", 140),
     T("Cello Suite No. 1 in G Major, BWV 1007: I. Prelude", ["Yo-Yo Ma"], "", 141), "accent, composer left out"),
]

CLASSICAL_DIFFERENT = [
    (T(BEETHOVEN_5, ["Ludwig van Beethoven", "Berliner Philharmoniker", "Herbert von Karajan"], "Beethoven 5", 447),
     T(BEETHOVEN_5, ["Ludwig van Beethoven", "Wiener Philharmoniker", "Carlos Kleiber"], "Beethoven 5", 447),
     "same work, another orchestra and conductor"),
    (T(MOONLIGHT, ["Ludwig van Beethoven", "Daniel Barenboim"], "Piano Sonatas", 356),
     T(MOONLIGHT, ["Ludwig van Beethoven", "Wilhelm Kempff"], "Piano Sonatas", 356), "another pianist"),
    (T(MOONLIGHT, ["Ludwig van Beethoven", "Daniel Barenboim"], "Beethoven: Piano Sonatas", 356, 1),
     T("Moonlight Sonata: I. Adagio sostenuto", ["Wilhelm Kempff"], "Beethoven: Piano Sonatas", 357, 1),
     "nickname by another performer"),
    (T(MOONLIGHT, ["Ludwig van Beethoven", "Daniel Barenboim"], "Beethoven: Piano Sonatas", 356, 1),
     T("Moonlight Sonata: III. Presto agitato", ["Daniel Barenboim"], "Beethoven: Piano Sonatas", 420, 3),
     "another movement"),
    (T("Cello Suite No. 1 in G Major, BWV 1007: I. Prélude", ["Johann Sebastian Bach", "Yo-Yo Ma"]),
     T("Cello Suite No. 1 in G Major, BWV 1007: I. Prélude", ["Johann Sebastian Bach", "Mischa Maisky"]),
     "another cellist"),
]

SAME = SCRIPTS_SAME + CREDITS_SAME + SPELLING_SAME + STRUCTURE_SAME + CLASSICAL_SAME
DIFFERENT = SCRIPTS_DIFFERENT + CREDITS_DIFFERENT + SPELLING_DIFFERENT + STRUCTURE_DIFFERENT + CLASSICAL_DIFFERENT


@pytest.mark.parametrize("wanted, candidate, why", SAME, ids=[c[2] for c in SAME])
def test_same_recording_both_ways(wanted: Track, candidate: Track, why: str) -> None:
    assert is_same_track(wanted, candidate), explain_match(wanted, candidate)
    assert is_same_track(candidate, wanted), explain_match(candidate, wanted)


@pytest.mark.parametrize("wanted, candidate, why", DIFFERENT, ids=[c[2] for c in DIFFERENT])
def test_different_recording_either_way(wanted: Track, candidate: Track, why: str) -> None:
    assert not is_same_track(wanted, candidate), explain_match(wanted, candidate)
    assert not is_same_track(candidate, wanted), explain_match(candidate, wanted)


FILLER = [T(f"Track {n}", "Someone Else", f"Album {n % 7}", 150 + n, n % 12 + 1) for n in range(60)]


@pytest.mark.parametrize("wanted, candidate, why", SAME, ids=[c[2] for c in SAME])
def test_index_finds_the_same_recording(wanted: Track, candidate: Track, why: str) -> None:
    index = LibraryIndex([*FILLER, candidate])
    match = index.find(wanted)
    assert match is not None and match.track is candidate, index.search(wanted)


@pytest.mark.parametrize("wanted, candidate, why", DIFFERENT, ids=[c[2] for c in DIFFERENT])
def test_index_reports_the_different_recording_missing(wanted: Track, candidate: Track, why: str) -> None:
    assert LibraryIndex([*FILLER, candidate]).find(wanted) is None


def test_evidence_picks_the_track_at_the_right_position() -> None:
    """Two same-length tracks of one album with native titles: the track position decides."""
    first = T("夜に駆ける", "YOASOBI", "THE BOOK", 261, 1)
    fourth = T("ハルジオン", "YOASOBI", "THE BOOK", 261, 4)
    index = LibraryIndex([fourth, first])
    match = index.find(T("Night Running", "YOASOBI", "THE BOOK", 261, 1))
    assert match is not None and match.track is first


def test_explanation_says_what_vouched() -> None:
    text = explain_match(T("Kill This Love", "BLACKPINK", "KILL THIS LOVE", 189, 1),
                         T("Kill This Love", "블랙핑크", "KILL THIS LOVE", 189, 1))
    assert "artist vouched for by album, length, position" in text

"""Folding, word normalisation, qualifier classification and title/album/artist parsing."""
from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from soulsync.core.normalize import (
    artist_keys,
    compact,
    fold,
    normalize_artist,
    normalize_isrc,
    normalize_text,
    split_artists,
    transliterate,
)
from soulsync.core.titles import parse_album, parse_title, title_shape
from soulsync.core.version_tags import VersionKind, classify_qualifier

K = VersionKind


# ----------------------------------------------------------------------------- folding


@pytest.mark.parametrize("raw, folded", [
    ("Beyoncé", "beyonce"),
    ("Déjà Vu", "deja vu"),
    ("Motörhead", "motorhead"),
    ("Sigur Rós", "sigur ros"),
    ("Søren Åberg", "soren aberg"),
    ("Straße", "strasse"),
    ("Œuvre", "oeuvre"),
    ("Æther", "aether"),
    ("Łódź", "lodz"),
    ("Þóra", "thora"),
    ("ﬁnally", "finally"),            # ligature
    ("ＴＯＫＹＯ", "tokyo"),             # full-width
    ("Hà Nội", "ha noi"),              # Vietnamese stacked marks
    ("Σ' αγαπώ", "σ' αγαπω"),          # Greek tonos goes, letters stay
])
def test_fold_removes_case_and_latin_greek_accents(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize("raw", ["夜に駆ける", "がんばって", "Группа крови", "Мой рай", "שלום", "مرحبا", "नमस्ते", "사랑해"])
def test_fold_keeps_non_latin_scripts(raw: str) -> None:
    folded = fold(raw)
    assert len(folded) >= len(raw) - 1
    assert folded == fold(folded)
    # every letter survives: nothing is reduced to ASCII or emptied
    assert sum(ch.isalpha() for ch in folded) == sum(ch.isalpha() for ch in raw.casefold())


def test_fold_keeps_japanese_voicing_and_cyrillic_short_i() -> None:
    assert fold("が") != fold("か")
    assert fold("й") != fold("и")
    assert fold("Ёлка") == fold("Елка")  # ё is written as е half the time


def test_fold_half_width_katakana_becomes_full_width() -> None:
    assert fold("ｶﾀｶﾅ") == "カタカナ"


@pytest.mark.parametrize("a, b", [
    ("Don't Stop Me Now", "Dont Stop Me Now"),
    ("Don’t Stop Me Now", "Don't Stop Me Now"),
    ("Hey Ya!", "hey ya"),
    ("Mr. Brightside", "Mr Brightside"),
    ("HUMBLE.", "humble"),
    ("Rock & Roll", "rock and roll"),
    ("Rock 'n' Roll", "Rock and Roll"),
    ("Florence + the Machine", "Florence and the Machine"),
    ("Part II", "Part 2"),
    ("Pt. 2", "Part 2"),
    ("Part Two", "part 2"),
    ("Vol. 3", "Volume 3"),
    ("Chapter IV", "chapter 4"),
    ("No. 5", "Number 5"),
    ("Track 07", "track 7"),
    ("Rocky II", "Rocky 2"),
    ("Sweet Child O' Mine", "Sweet Child O Mine"),
    ("Song_Title", "song title"),
    ("「東京」", "東京"),
    ("Fire 🔥", "fire"),
    ("♫ Song ♪", "song"),
    # stylised spellings (Matching 2)
    ("Goin' Home", "Going Home"),
    ("Nothin’ Else", "Nothing Else"),
    ("'Til Tuesday", "Until Tuesday"),
    ("Ol' Man River", "Old Man River"),
    ("Born in the U.S.A.", "Born in the USA"),
    ("R.E.M.", "REM"),
    ("Song Two", "Song 2"),
    ("Zwei", "2"),
    ("Part1", "Part 1"),
    ("PartII", "Part 2"),
    ("Pts. 1 & 2", "Parts 1 and 2"),
    ("Parts I-II", "Part 1-2"),
])
def test_normalize_text_equivalences(a: str, b: str) -> None:
    assert normalize_text(a) == normalize_text(b)


@pytest.mark.parametrize("a, b", [
    ("No One", "No. 1"),      # "no" + a number word stays words
    ("I", "1"),               # a lone I is a pronoun
    ("Part 1", "Part 2"),
    ("夜に駆ける", "夜に駆けろ"),
    ("Группа крови", "Группа"),
    ("Goin Home", "Going Home"),     # without its apostrophe a word is left as written
    ("Nov", "No. 5"),                # glued roman numerals only after part/pt
    ("Actix", "Act 9"),
    ("Nothin' but a G Thang", "Nothin' but AG Thang"),  # an article and a letter are not initials
    ("Un Amor", "1 Amor"),           # articles are not numbers
    ("Parts 1 & 2", "Part 1"),
])
def test_normalize_text_keeps_differences(a: str, b: str) -> None:
    assert normalize_text(a) != normalize_text(b)


@pytest.mark.parametrize("text, latin", [
    ("Группа крови", "gruppa krovi"),
    ("사랑", "salang"),     # syllable by syllable: Revised Romanization would write sarang
    ("よるにかける", "yorunikakeru"),
    ("周杰伦", "zhoujielun"),
    ("周杰倫", "zhoujielun"),
    ("Beyoncé", ""),        # Latin with accents: nothing to transliterate
    ("Hello", ""),
])
def test_transliterate(text: str, latin: str) -> None:
    assert transliterate(text) == latin


@pytest.mark.parametrize("title, alternatives, inline", [
    ("03 - Wonderwall", ("wonderwall",), ""),
    ("1-03. Wonderwall", ("wonderwall",), ""),
    ("7 Years", (), ""),
    ("Main Title (Other Name)", ("other name",), ""),
    ("Song (Part 2)", (), ""),
    ("Song - The Ballad of Nobody", ("song",), ""),
    ("Song - Remastered 2011", (), ""),
    ("Song (Alesso Remix)", (), "song alesso remix"),
    ("Hello", (), ""),
])
def test_title_shape(title: str, alternatives: tuple[str, ...], inline: str) -> None:
    shape = title_shape(title)
    assert shape.alternatives == alternatives and shape.inline == inline


def test_title_shape_offers_an_artist_prefix_for_the_matcher_to_check() -> None:
    assert title_shape("Oasis - Wonderwall").dash_parts == ("oasis", "wonderwall")


def test_compact_joins_spelling_variants() -> None:
    assert compact(normalize_text("Jay-Z")) == compact(normalize_text("JAY Z")) == compact(normalize_text("Jayz"))
    assert compact(normalize_text("AC/DC")) == compact(normalize_text("ACDC"))


# ----------------------------------------------------------------------------- qualifiers


@pytest.mark.parametrize("text, kinds", [
    # same recording
    ("Remastered", {K.REMASTER}),
    ("Remastered 2011", {K.REMASTER}),
    ("2011 Remaster", {K.REMASTER}),
    ("2009 Digital Remaster", {K.REMASTER}),
    ("Mono", {K.MONO}),
    ("2011 Mono Remaster", {K.MONO, K.REMASTER}),
    ("Stereo Mix", {K.STEREO}),
    ("Single Version", {K.SINGLE_VERSION}),
    ("7\" Version", {K.SINGLE_VERSION}),
    ("Album Version", {K.ALBUM_VERSION}),
    ("LP Version", {K.ALBUM_VERSION}),
    ("Explicit", {K.EXPLICIT}),
    ("Clean", {K.CLEAN}),
    ("Deluxe Edition", {K.DELUXE}),
    ("Bonus Track", {K.DELUXE}),
    ("Original Mix", {K.ORIGINAL}),
    ("From \"Top Gun: Maverick\"", {K.SOUNDTRACK}),
    ("From The Motion Picture Soundtrack", {K.SOUNDTRACK}),
    # different recordings
    ("Live", {K.LIVE}),
    ("Live at Wembley Stadium, 1986", {K.LIVE}),
    ("Live On MTV, 1994", {K.LIVE}),
    ("En Vivo", {K.LIVE}),
    ("MTV Unplugged", {K.ACOUSTIC, K.LIVE}),
    ("Calvin Harris Remix", {K.REMIX}),
    ("Remix", {K.REMIX}),
    ("Club Mix", {K.REMIX}),
    ("Dub", {K.REMIX}),
    ("Re-Edit", {K.REMIX}),
    ("VIP", {K.REMIX}),
    ("Acoustic", {K.ACOUSTIC}),
    ("Acoustic Version", {K.ACOUSTIC}),
    ("Stripped", {K.ACOUSTIC}),
    ("Instrumental", {K.INSTRUMENTAL}),
    ("Off Vocal", {K.INSTRUMENTAL}),
    ("A Cappella", {K.ACAPPELLA}),
    ("Acapella", {K.ACAPPELLA}),
    ("Demo", {K.DEMO}),
    ("Radio Edit", {K.EDIT}),
    ("Radio Version", {K.EDIT}),
    ("Edit", {K.EDIT}),
    ("Extended Mix", {K.EXTENDED}),
    ("Extended Version", {K.EXTENDED}),
    ("12\" Version", {K.EXTENDED}),
    ("Karaoke Version", {K.KARAOKE}),
    ("In the Style of Oasis", {K.KARAOKE}),
    ("Originally Performed by Adele", {K.KARAOKE}),
    ("Cover", {K.COVER}),
    ("Sped Up", {K.SPEED}),
    ("Slowed + Reverb", {K.SPEED}),
    ("Nightcore", {K.SPEED}),
    ("Re-Recorded", {K.RERECORDED}),
    ("Taylor's Version", {K.RERECORDED}),
    ("Taylor’s Version", {K.RERECORDED}),
    ("Alternate Take", {K.ALTERNATE}),
    ("Take 2", {K.ALTERNATE}),
    ("BBC Session", {K.ALTERNATE}),
    ("Spanish Version", {K.LANGUAGE}),
    ("Versión en Español", {K.LANGUAGE}),
    ("Reprise", {K.PIECE}),
    ("Interlude", {K.PIECE}),
    ("Jazz Version", {K.ALTERNATE}),
    ("TikTok Version", {K.ALTERNATE}),
    ("Lo-Fi", {K.ALTERNATE}),
    ("Recorded at Spotify Studios NYC", {K.LIVE}),
])
def test_classify_qualifier_kinds(text: str, kinds: set[VersionKind]) -> None:
    q = classify_qualifier(fold(text))
    assert {t.kind for t in q.tags} == kinds


@pytest.mark.parametrize("kind", list(VersionKind))
def test_every_kind_is_either_same_or_different_recording(kind: VersionKind) -> None:
    same = {K.REMASTER, K.MONO, K.STEREO, K.SINGLE_VERSION, K.ALBUM_VERSION, K.EXPLICIT, K.CLEAN, K.DELUXE,
            K.ORIGINAL, K.SOUNDTRACK}
    assert kind.same_recording is (kind in same)


def test_remix_and_live_keep_their_detail() -> None:
    assert classify_qualifier(fold("Calvin Harris Remix")).tags[0].detail == "calvin harris"
    assert classify_qualifier(fold("Live at Wembley Stadium")).tags[0].detail == "wembley stadium"
    assert classify_qualifier(fold("Remix")).tags[0].detail == ""
    assert classify_qualifier(fold("Spanish Version")).tags[0].detail == "spanish"


@pytest.mark.parametrize("text, features", [
    ("feat. Drake", ("Drake",)),
    ("ft. Jay-Z & Kanye West", ("Jay-Z", "Kanye West")),
    ("featuring Rihanna", ("Rihanna",)),
    ("with Dua Lipa", ("Dua Lipa",)),
    ("Remix feat. Nicki Minaj", ("Nicki Minaj",)),
])
def test_classify_qualifier_features(text: str, features: tuple[str, ...]) -> None:
    q = classify_qualifier(text)
    assert tuple(f.lower() for f in q.features) == tuple(f.lower() for f in features)


@pytest.mark.parametrize("text", ["2011", "FLAC", "320 kbps", "Official Video", "Official Music Video", "HQ",
                                  "Lyrics", "24bit 96kHz", "WEB", "Vinyl Rip", "1", "Prod. by Metro Boomin"])
def test_classify_qualifier_noise(text: str) -> None:
    q = classify_qualifier(fold(text))
    assert q.noise and not q.tags


@pytest.mark.parametrize("text", ["I Can't Get No", "Part 2", "Love Theme", "Don't Fear", "Yoru ni Kakeru",
                                  "Live Forever Young"])
def test_unknown_qualifiers_stay_in_the_title(text: str) -> None:
    q = classify_qualifier(fold(text))
    if text == "Live Forever Young":
        # a bracket that says live is a live tag even if other words follow
        assert {t.kind for t in q.tags} == {K.LIVE}
    else:
        assert q.unknown


# ----------------------------------------------------------------------------- titles


def test_parse_title_plain() -> None:
    p = parse_title("Champagne Supernova")
    assert (p.core, p.full, p.tags, p.same, p.features) == ("champagne supernova", "champagne supernova", (),
                                                           (), ())


@pytest.mark.parametrize("title, core, kinds, same", [
    ("Wonderwall - Remastered", "wonderwall", set(), {K.REMASTER}),
    ("Wonderwall (Remastered 2014)", "wonderwall", set(), {K.REMASTER}),
    ("Yesterday - Remastered 2009", "yesterday", set(), {K.REMASTER}),
    ("Hotel California - Live On MTV, 1994", "hotel california", {K.LIVE}, set()),
    ("Hotel California [Live]", "hotel california", {K.LIVE}, set()),
    ("Titanium (feat. Sia) [Alesso Remix]", "titanium", {K.REMIX}, set()),
    ("Titanium - Alesso Remix", "titanium", {K.REMIX}, set()),
    ("Song (Live) - 2011 Remaster", "song", {K.LIVE}, {K.REMASTER}),
    ("Song - Live / Remastered", "song", {K.LIVE}, {K.REMASTER}),
    ("Love Story (Taylor's Version)", "love story", {K.RERECORDED}, set()),
    ("Song (Live at X (1986))", "song", {K.LIVE}, set()),
    ("Song [Radio Edit] (Explicit)", "song", {K.EDIT}, {K.EXPLICIT}),
    ("Song 【MV】", "song", set(), set()),
    ("Live Forever", "live forever", set(), set()),         # the word live in a title is not a tag
    ("Live Forever - Remastered", "live forever", set(), {K.REMASTER}),
    ("The Scientist", "scientist", set(), set()),
    ("Blue (Da Ba Dee) - Gabry Ponte Ice Pop Radio", "blue gabry ponte ice pop radio", set(), set()),
])
def test_parse_title_qualifiers(title: str, core: str, kinds: set[VersionKind], same: set[VersionKind]) -> None:
    p = parse_title(title)
    assert p.core == core
    assert set(p.kinds) == kinds
    assert set(p.same) == same


def test_parse_title_features_outside_and_inside_brackets() -> None:
    assert parse_title("SICKO MODE (feat. Drake)").features == ("drake",)
    assert parse_title("Empire State of Mind feat. Alicia Keys").features == ("alicia keys",)
    assert parse_title("Song ft. A & B").features == ("a", "b")
    assert parse_title("Song [with Dua Lipa]").features == ("dua lipa",)
    # "with" outside brackets is part of the title
    assert parse_title("Dancing With Myself").core == "dancing with myself"


def test_parse_title_keeps_unknown_bracket_words_in_full() -> None:
    p = parse_title("(I Can't Get No) Satisfaction")
    assert p.core == "satisfaction"
    assert p.full == "i cant get no satisfaction"
    p = parse_title("Song (Part 2)")
    assert (p.core, p.full) == ("song", "song part 2")


def test_parse_title_dash_tail_that_is_not_a_qualifier_stays() -> None:
    p = parse_title("Symphony No. 9 - II. Molto vivace")
    assert p.core == "symphony no 9 2 molto vivace"
    p = parse_title("Song - Part 2")
    assert p.core == "song part 2"


def test_parse_title_made_only_of_a_qualifier_keeps_words() -> None:
    assert parse_title("(Untitled)").core == "untitled"
    assert parse_title("Intro").core == "intro"
    assert parse_title("(Intro)") == parse_title("Intro")       # the whole title is not a tag
    assert parse_title("Live") == parse_title("[Live]")
    assert parse_title("").core == ""


@pytest.mark.parametrize("title", ["夜に駆ける", "Группа крови", "사랑해", "Σ' αγαπώ"])
def test_parse_title_non_latin_keeps_text(title: str) -> None:
    p = parse_title(title)
    assert p.core and p.core == p.full
    assert p.core != parse_title("Something Else").core


# ----------------------------------------------------------------------------- albums


@pytest.mark.parametrize("album, kinds", [
    ("Live at Wembley '86", {K.LIVE}),
    ("Live", {K.LIVE}),
    ("Live in Budapest", {K.LIVE}),
    ("Long Live", set()),
    ("Hell Freezes Over (Live)", {K.LIVE}),
    ("MTV Unplugged in New York", {K.ACOUSTIC, K.LIVE}),
    ("Karaoke Hits, Vol. 3", {K.KARAOKE}),
    ("A Tribute to Queen", {K.COVER}),
    ("Fearless (Taylor's Version)", {K.RERECORDED}),
    ("Instrumentals", {K.INSTRUMENTAL}),
    # studio albums
    ("Live Through This", set()),
    ("Alive", set()),
    ("Hits (Deluxe Edition)", set()),
    ("Abbey Road (Remastered 2019)", set()),
    ("Song (The Remixes)", set()),          # remix EPs carry the original too
])
def test_parse_album_tags(album: str, kinds: set[VersionKind]) -> None:
    assert {t.kind for t in parse_album(album).tags} == kinds


def test_parse_album_core_drops_edition_noise() -> None:
    assert parse_album("25 (Deluxe Edition)").core == "25"
    assert parse_album("Abbey Road (2019 Remaster)").core == "abbey road"
    assert parse_album("Live at Wembley '86").core == "live at wembley 86"


# ----------------------------------------------------------------------------- artists


@pytest.mark.parametrize("name, key", [
    ("The Beatles", "beatles"),
    ("Beatles, The", "beatles"),
    ("Beyoncé", "beyonce"),
    ("JAY-Z", "jay z"),
    ("Guns N' Roses", "guns and roses"),
    ("Simon & Garfunkel", "simon and garfunkel"),
    ("Кино", "кино"),
])
def test_normalize_artist(name: str, key: str) -> None:
    assert normalize_artist(name) == key


def test_artist_keys_whole_credit_and_parts() -> None:
    keys = artist_keys("Calvin Harris & Dua Lipa")
    assert keys[0] == "calvinharrisanddualipa"
    assert {"calvinharris", "dualipa"} <= set(keys)
    assert artist_keys("A feat. B")[1:] == ("a", "b")
    assert "simonandgarfunkel" in artist_keys("Simon and Garfunkel")
    assert artist_keys("Jay-Z") == artist_keys("JAY Z") == ("jayz",)
    assert "the" not in artist_keys("Beatles, The")


def test_artist_keys_never_empty_for_symbol_names() -> None:
    assert artist_keys("!!!")
    assert artist_keys("†‡†")
    assert artist_keys("   ") == ()


def test_split_artists() -> None:
    assert split_artists("A feat. B & C") == ["A", "B", "C"]
    assert split_artists("Earth, Wind & Fire") == ["Earth", "Wind", "Fire"]
    assert split_artists("Beatles, The") == ["Beatles"]


# ----------------------------------------------------------------------------- ISRC


@pytest.mark.parametrize("raw, value", [
    ("USUM71703861", "USUM71703861"),
    ("us-um7-17-03861", "USUM71703861"),
    (" GBAYE0601498 ", "GBAYE0601498"),
    ("", None),
    (None, None),
    ("not an isrc", None),
    ("USUM7170386", None),
    ("USUM71703861\n", "USUM71703861"),
    ("USUM71703861X", None),
])
def test_normalize_isrc(raw: str | None, value: str | None) -> None:
    assert normalize_isrc(raw) == value


# ----------------------------------------------------------------------------- properties


@given(st.text())
def test_parse_title_never_raises_and_is_idempotent_on_core(text: str) -> None:
    p = parse_title(text)
    assert isinstance(p.core, str) and isinstance(p.full, str)
    assert normalize_text(p.core) == p.core


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@example(": :")
@given(st.text())
def test_artist_keys_never_raise(text: str) -> None:
    keys = artist_keys(text)
    assert all(k and " " not in k for k in keys)


def test_artist_keys_of_a_credit_without_letters_are_compact() -> None:
    assert artist_keys(": :") == ("::",), "the fallback key of a punctuation-only credit has no spaces"
    assert artist_keys("!!!") == ("!!!",)


def test_a_live_album_passes_its_venue_and_date_on_as_the_live_detail() -> None:
    assert [(t.kind, t.detail) for t in parse_album("Live at Wembley 1986").tags] == [(K.LIVE, "wembley 1986")]
    assert [(t.kind, t.detail) for t in parse_album("Alive in Tokyo").tags] == []


@pytest.mark.parametrize("title, detail", [
    ("Song (Versión en Español)", "spanish"),
    ("Song - Versión en Español", "spanish"),
    ("Song (Versión en Inglés)", "english"),
    ("Song (Spanish Version)", "spanish"),
    ("Song (German Version)", "german"),
])
def test_a_language_version_names_its_language_in_english(title: str, detail: str) -> None:
    assert [(t.kind, t.detail) for t in parse_title(title).tags] == [(K.LANGUAGE, detail)]


@pytest.mark.parametrize("title, core, full, tags", [
    ("Song (Whatever) - Remastered 2009", "song", "song whatever", []),
    ("Song (Whatever) - Live - Mono", "song", "song whatever", [(K.LIVE, "")]),
    ("Song (Whatever) - Live at Wembley", "song", "song whatever", [(K.LIVE, "wembley")]),
    ("Song (The Thing) - Remix", "song", "song the thing", [(K.REMIX, "")]),
    ("Song (Demo Tape) - Live", "song", "song", [(K.DEMO, ""), (K.LIVE, "")]),
])
def test_dash_tails_are_cut_from_the_full_title_too(title: str, core: str, full: str, tags: list) -> None:
    """The full title keeps an unknown bracket's words but loses the dash tails that were classified."""
    parsed = parse_title(title)
    assert (parsed.core, parsed.full) == (core, full)
    assert [(t.kind, t.detail) for t in parsed.tags] == tags


@pytest.mark.parametrize("text, expected", [
    ("Part VI", "part 6"),
    ("Chapter XI", "chapter 11"),
    ("Rocky II", "rocky 2"),
    ("Vi Sitter Har", "vi sitter har"),
    ("Xi Jinping", "xi jinping"),
    ("I Will", "i will"),
    ("Symphony No. 05", "symphony no 5"),
    ("Agent 007", "agent 7"),
    ("Track 00", "track 0"),
    ("0", "0"),
])
def test_roman_numerals_and_leading_zeros_are_read_as_numbers(text: str, expected: str) -> None:
    """``vi`` and ``xi`` are words (Swedish "we", a name) unless a number is expected."""
    assert normalize_text(text) == expected

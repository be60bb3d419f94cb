"""Is this the wanted track? Track scoring, the library index, Soulseek result ranking.

Scores are confidences in [0, 1]; :data:`MATCH_THRESHOLD` separates "same
recording" from "not". A score is a product of factors, each 1.0 when its
evidence agrees and smaller when it disagrees, so one strong contradiction
(another song, another artist, a live take of a studio track) is enough to
reject. See ``docs/matching.md`` for the factors and their calibration.
"""
from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz, process

from soulsync.core.models import SearchFile, SearchFileFacts, Track
from soulsync.core.normalize import (
    VersionKind,
    VersionTag,
    artist_keys,
    classify_qualifier,
    compact,
    fold,
    has_other_script,
    kinds_of,
    normalize_artist,
    normalize_isrc,
    parse_album,
    parse_title,
    split_artists,
    title_shape,
    transliterate,
)
from soulsync.core.peers import finish_class, finish_seconds
from soulsync.core.quality import QualityPrefs, extension_of, is_audio, quality_key, quality_label

MATCH_THRESHOLD = 0.80
"""Scores at or above this mean "the same recording" (``is_same_track``, ``LibraryIndex.find``,
files kept by ``rank_search_results``). Calibrated on the pairs in ``tests/unit/test_match_score.py``:
every same-recording pair scores >= 0.88, every different pair <= 0.69 (see docs/matching.md)."""

AMBIGUITY_MARGIN = 0.05
"""A match is ambiguous when a distinct runner-up also passes the threshold within this margin."""

STRONG_MATCH = 0.92
"""Search results at or above this are ranked by quality together; weaker ones come after."""

# factor values (see docs/matching.md)
_UNKNOWN_QUALIFIER = 0.90   # one side carries a bracketed phrase the other lacks: "(I Can't Get No) Satisfaction"
_UNMATCHED_WORD = 0.60      # per title word with no counterpart: "Champagne" vs "Champagne Supernova"
_ARTIST_KNEE = 0.80         # artist similarity below this falls off steeply
_ARTIST_UNKNOWN = 0.85      # one side credits nobody
_ALBUM_DIFFERENT = 0.96     # a compilation or single instead of the album: a tie-breaker only
_ALBUM_UNKNOWN = 0.98
_DURATION_UNKNOWN = 0.99
_VERSION_MISMATCH = 0.30    # live vs studio, remix vs original...
_DETAIL_MISMATCH = 0.50     # two remixes by different remixers, two different live shows
_SAME_TAG_DIFFERENT = 0.99  # "Remastered 2011" vs plain: same recording, a hair apart
_UNCREDITED_FEATURE = 0.95  # "(feat. X)" where the other side never credits X
_ISRC_MISMATCH = 0.70       # both have ISRCs and they differ: never the same
_ISRC_FLOOR = 0.95          # equal ISRCs: the same, whatever the text says
_ALTERNATIVE_TITLE = 0.95   # one side's title is another reading of the other's ("03 - Song", "Alt (Main)")
_TRANSLITERATED = 0.98      # equal once both are in Latin letters ("Группа крови" / "Gruppa krovi")
_CREDIT_VARIANT = 0.92      # "CCR" / "Creedence Clearwater Revival", "Simon & Garfunkel" / "Paul Simon & Art..."
_CORROBORATED = 0.92        # a name that cannot be compared, vouched for by album, length and position
_PERFORMERS_DIFFER = 0.40   # each side credits performers the other lacks: another performance of the work
_NEAR_LENGTH = 2.0          # seconds: lengths this close count as evidence that two tracks are one

# durations (seconds): factor = exp(-(diff / scale) ** 4), scale growing 1 % with the track's length.
# Nearly flat for small differences, strictly falling, no step anywhere.
_TRACK_SCALE = 14.0         # 200 s track: 0.99 at 5 s apart, 0.94 at 8 s, 0.86 at 10 s, 0.56 at 14 s, 0.09 at 20 s
_FILE_SCALE = 6.0           # 200 s track: 0.98 at 3 s, 0.86 at 5 s, 0.56 at 7 s, 0.09 at 10 s ("a few seconds")
_RELATIVE_SCALE = 0.01
_CONFIRMING = 0.5           # lengths within half the scale (factor >= 0.94) confirm each other


# ----------------------------------------------------------------------------- prepared tracks


class _Prepared(NamedTuple):
    """Everything the scorer needs from one Track, computed once.

    One flat named tuple per library track: few objects for the garbage collector to walk.
    """

    core: str
    """Normalised title without qualifiers (see :class:`ParsedTitle`)."""
    full: str
    """Normalised title keeping unknown qualifiers."""
    same: tuple[VersionKind, ...]
    """Same-recording kinds of the title (remaster, mono...)."""
    artists: tuple[str, ...]
    """Compact artist keys: every credited artist (whole credit and its parts), then title features."""
    features: tuple[str, ...]
    """Compact keys of artists featured in the title."""
    album: str
    tags: tuple[VersionTag, ...]
    """Different-recording tags of the title and the album."""
    kinds: tuple[VersionKind, ...]
    """Sorted distinct kinds of ``tags``."""
    duration: float | None
    """seconds"""
    isrc: str | None
    alts: tuple[str, ...]
    """Compact alternative titles (:func:`title_shape`, the title in Latin letters, the title after an
    ``Artist - `` prefix naming a credited artist)."""
    inline: str
    """The title with its qualifiers as plain words (``song alesso remix``), ``""`` without qualifiers."""
    latin: str
    """The core title in Latin letters when it is written in another script, else ``""``."""
    performers: tuple[str, ...]
    """Compact key of each credited name (credits split into their parts), for performer conflicts."""
    named: bool
    """The credit names an artist (not blank, not ``Various Artists`` / ``Unknown Artist``)."""
    number: int | None
    """Track position on its album."""
    initials: tuple[str, ...]
    """Initials of credited names of three words or more (``ccr``, ``omd`` for ``Orchestral Manoeuvres in
    the Dark``): what an abbreviated credit is compared with."""


_NO_KEYS: tuple[str, ...] = ()
_PLACEHOLDER_ARTISTS = frozenset({"variousartists", "various", "va", "unknownartist", "unknown", "artist",
                                  "variousartist", "diverse", "divers", "verschiedene", "variosartistas"})
"""Credits that name nobody: a compilation's track artist, an untagged file."""
_CORE_AT = _Prepared._fields.index("core")
_ARTISTS_AT = _Prepared._fields.index("artists")
_ALBUM_AT = _Prepared._fields.index("album")
_DURATION_AT = _Prepared._fields.index("duration")
_NUMBER_AT = _Prepared._fields.index("number")


def _prepare(track: Track) -> _Prepared:
    """Parse one track once; tolerates wrong field types (they count as unknown)."""
    text = track.title
    title = parse_title(text if type(text) is str else "")
    credited = track.artists
    if type(credited) is list and len(credited) == 1 and type(credited[0]) is str:
        keys = artist_keys(credited[0])  # the common case; a blank name gives ()
    else:
        keys = _merged_artist_keys(credited)
    features = _NO_KEYS
    if title.features:
        features = tuple(k for f in title.features for k in artist_keys(f)[:1])
        extra = tuple(f for f in features if f not in keys)
        if extra:
            keys = keys + extra
    album_text = track.album
    album = parse_album(album_text) if album_text and type(album_text) is str else None
    tags = title.tags
    if album is not None and album.tags:
        tags = tuple(sorted(set(tags) | set(album.tags), key=lambda t: (t.kind.value, t.detail)))
    named = bool(keys) and keys[0] not in _PLACEHOLDER_ARTISTS
    performers = _performer_keys(credited) if named else _NO_KEYS
    latin_artists = _latin_keys(credited)
    if latin_artists:
        keys = keys + tuple(k for k in latin_artists if k not in keys)
    latin = transliterate(title.core) if not title.core.isascii() else ""
    inline, alts = "", _NO_KEYS
    if type(text) is str:
        shape = title_shape(text, title)
        inline = shape.inline
        found = [compact(a) for a in shape.alternatives]
        if shape.dash_parts is not None and compact(shape.dash_parts[0]) in keys:
            found.append(compact(shape.dash_parts[1]))  # "Artist - Title" left in the title
        if latin:
            found.append(compact(latin))
        if found:
            alts = tuple(dict.fromkeys(found))
    number = track.track_number
    return _Prepared(
        title.core,
        title.full,
        title.same,
        keys,
        features,
        album.core if album is not None else "",
        tags,
        kinds_of(tags),
        _seconds(track.duration_ms),
        normalize_isrc(track.isrc) if track.isrc else None,
        alts,
        inline,
        latin,
        performers,
        named,
        number if type(number) is int and number > 0 else None,
        _initials(credited) if named else _NO_KEYS,
    )


_INITIALS_SKIP = frozenset({"and", "the", "of", "in", "a", "on", "de", "la", "le", "y", "et", "und"})


def _initials(credited: object) -> tuple[str, ...]:
    """Initials of each credited name of three or more words, with and without its little words."""
    if not isinstance(credited, (list, tuple)):
        return _NO_KEYS
    if len(credited) == 1 and isinstance(credited[0], str):
        return _name_initials(credited[0])
    out: dict[str, None] = {}
    for name in credited:
        if isinstance(name, str):
            out.update(dict.fromkeys(_name_initials(name)))
    return tuple(out)


@lru_cache(maxsize=65536)
def _name_initials(name: str) -> tuple[str, ...]:
    if name.count(" ") < 2:
        return _NO_KEYS  # fewer than three words
    words = normalize_artist(name).split()
    out: list[str] = []
    for kept in (words, [w for w in words if w not in _INITIALS_SKIP]):
        if len(kept) >= 3 and all(w.isascii() for w in kept):
            letters = "".join(w[0] for w in kept)
            if letters not in out:
                out.append(letters)
    return tuple(out)


def _performer_keys(credited: object) -> tuple[str, ...]:
    """One compact key per credited name: ``["Beethoven", "Berliner Philharmoniker; Karajan"]`` gives
    three. Title features are not performers of the work."""
    if not isinstance(credited, (list, tuple)):
        return _NO_KEYS
    if len(credited) == 1 and isinstance(credited[0], str):
        keys = artist_keys(credited[0])
        return keys[1:] if len(keys) > 1 else keys
    out: dict[str, None] = {}
    for name in credited:
        if isinstance(name, str):
            keys = artist_keys(name)
            out.update(dict.fromkeys(keys[1:] if len(keys) > 1 else keys))
    return tuple(out)


def _latin_keys(credited: object) -> tuple[str, ...]:
    """Compact keys of the credited names written in another script, in Latin letters
    (``Кино`` -> ``kino``, ``블랙핑크`` -> ``beullaegpingkeu``)."""
    if not isinstance(credited, (list, tuple)):
        return _NO_KEYS
    out: dict[str, None] = {}
    for name in credited:
        if isinstance(name, str) and not name.isascii():
            out.update(dict.fromkeys(_name_latin_keys(name)))
    return tuple(out)


@lru_cache(maxsize=65536)
def _name_latin_keys(name: str) -> tuple[str, ...]:
    if not has_other_script(name):
        return _NO_KEYS
    keys = (compact(transliterate(part)) for part in [name, *split_artists(name)])
    return tuple(dict.fromkeys(k for k in keys if k))


def _merged_artist_keys(credited: object) -> tuple[str, ...]:
    """Keys of several credited artists, in order, without repeats; junk entries are skipped."""
    if not isinstance(credited, (list, tuple)):
        return _NO_KEYS
    merged: dict[str, None] = {}
    for name in credited:
        if isinstance(name, str):
            merged.update(dict.fromkeys(artist_keys(name)))
    return tuple(merged)


def _seconds(duration_ms: object) -> float | None:
    """A positive finite duration in seconds, or None."""
    if type(duration_ms) is int:
        return duration_ms / 1000.0 if duration_ms > 0 else None
    if isinstance(duration_ms, float) and math.isfinite(duration_ms) and duration_ms > 0:
        return duration_ms / 1000.0
    return None


# ----------------------------------------------------------------------------- similarity pieces


def _word_similarity(a: str, b: str) -> float:
    """Similarity of two normalised texts; every word without a counterpart costs a lot."""
    if a == b:
        return 1.0 if a else 0.0
    if not a or not b:
        return 0.0
    if compact(a) == compact(b):
        return 0.98
    if _stylised_equal(a, b):
        return 0.97
    ratio = fuzz.ratio(a, b) / 100.0
    ta, tb = a.split(), b.split()
    stylised = ratio >= _STYLISED_RATIO
    unmatched = _unmatched_words(ta, tb, stylised) + _unmatched_words(tb, ta, stylised)
    return ratio * (_UNMATCHED_WORD ** unmatched)


_STYLISED_RATIO = 0.60
"""Stylised spellings are looked for only between titles this similar (they are near by nature)."""


def _unmatched_words(words: list[str], others: list[str], stylised: bool) -> int:
    """How many of ``words`` have no equal or near-equal word in ``others``.

    Numbers must be equal. A word that only extends another (``believe`` /
    ``believer``, ``star`` / ``stars``) is a different word, not a typo.
    """
    pool = set(others)
    fuzzy_pool = [w for w in others if not w.isdigit()]
    vowelless: bool | None = None
    missing = 0
    for word in words:
        if word in pool:
            continue
        hit = None if word.isdigit() or not fuzzy_pool else process.extractOne(
            word, fuzzy_pool, scorer=fuzz.ratio, score_cutoff=75)
        if hit is None or hit[0].startswith(word) or word.startswith(hit[0]):
            if not stylised:
                missing += 1
                continue
            if vowelless is None:
                vowelless = any(len(w) >= 3 and _VOWELS.isdisjoint(w) for w in fuzzy_pool)
            if not _stylised_in(word, pool, vowelless):
                missing += 1
    return missing


def _stylised_in(word: str, pool: set[str], pool_has_vowelless: bool) -> bool:
    """Whether ``pool`` holds another spelling of ``word`` (see :func:`_stylised_pair`), by lookups."""
    if word.endswith("in"):
        if len(word) >= 5 and word + "g" in pool:
            return True
    elif word.endswith("ing") and len(word) >= 6 and word[:-1] in pool:
        return True
    if not word.isascii() or word.isdigit() or len(word) < 3:
        return False
    if _VOWELS.isdisjoint(word):
        return any(_skeleton(other) == word for other in pool if other != word)
    return pool_has_vowelless and _skeleton(word) in pool


_VOWELS = frozenset("aeiouy")


def _skeleton(word: str) -> str:
    return "".join(ch for ch in word if ch not in _VOWELS)


def _stylised_pair(a: str, b: str) -> bool:
    """Two spellings of one word: a dropped final g (``lovin``/``loving``; four-letter words such as
    ``thin``/``thing`` are different words, ``goin'`` with its apostrophe is read in normalisation), or a word written
    without its vowels (``mstrpln``/``masterplan``, at least three consonants)."""
    if len(a) > len(b):
        a, b = b, a
    if len(a) >= 5 and b == a + "g" and a.endswith("in"):
        return True
    if not a.isascii() or not b.isascii():
        return False
    return len(a) >= 3 and _VOWELS.isdisjoint(a) and a != b and _skeleton(b) == a


def _stylised_equal(a: str, b: str) -> bool:
    """Whether two normalised titles differ only in stylised spellings of the same words."""
    ta, tb = a.split(), b.split()
    return len(ta) == len(tb) and all(x == y or _stylised_pair(x, y) for x, y in zip(ta, tb))


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _title_similarity(a_core: str, a_full: str, b_core: str, b_full: str) -> float:
    """Title words compared; an unknown bracketed phrase on one side only costs a little.

    ``core`` is a title without its unknown qualifiers, ``full`` with them. A
    dropped phrase never hides a number: ``Song (Part 2)`` is not ``Song``.
    """
    if a_full == b_full:
        return 1.0 if a_full else 0.0
    best = _word_similarity(a_full, b_full)
    a_extra, b_extra = a_full != a_core, b_full != b_core
    if a_extra != b_extra:
        longer_full, longer_core = (a_full, a_core) if a_extra else (b_full, b_core)
        dropped = set(longer_full.split()) - set(longer_core.split())
        if not any(_has_digit(word) for word in dropped):
            best = max(best, _word_similarity(a_core, b_core) * _UNKNOWN_QUALIFIER)
    return best


def _sharpen_title(similarity: float, confirmed_by_length: bool) -> float:
    """Near-titles (``Believe``/``Believer``) need the length to agree before they count."""
    if confirmed_by_length or similarity >= 1.0:
        return similarity
    return max(0.0, 1.0 - 2.0 * (1.0 - similarity))


def _artist_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float | None:
    """Best similarity between any credited name on each side; None when a side credits nobody."""
    if not a or not b:
        return None
    for key in a:
        if key in b:
            return 1.0
    best = 0.0
    for key in a:
        hit = process.extractOne(key, b, scorer=fuzz.ratio)
        if hit is not None and hit[1] > best:
            best = hit[1]
    return best / 100.0


def _artist_factor(similarity: float | None) -> float:
    if similarity is None:
        return _ARTIST_UNKNOWN
    if similarity >= _ARTIST_KNEE:
        return similarity
    return similarity * (similarity / _ARTIST_KNEE) ** 2


def _duration_scale(a: float, b: float, scale: float) -> float:
    return scale + _RELATIVE_SCALE * (a if a > b else b)


def _duration_factor(a: float | None, b: float | None, scale: float) -> float:
    """exp(-(diff/scale)^4): almost 1.0 for small differences, then a smooth fall to 0; never a step."""
    if a is None or b is None:
        return _DURATION_UNKNOWN
    return math.exp(-((abs(a - b) / _duration_scale(a, b, scale)) ** 4))


def _length_confirms(a: float | None, b: float | None, scale: float) -> bool:
    """Both lengths known and close enough to count as evidence of their own."""
    return a is not None and b is not None and abs(a - b) <= _CONFIRMING * _duration_scale(a, b, scale)


def _album_factor(a: str, b: str) -> float:
    if not a or not b:
        return _ALBUM_UNKNOWN
    if a == b or compact(a) == compact(b) or fuzz.ratio(a, b) >= 85:
        return 1.0
    if not (a.isascii() and b.isascii()):
        la, lb = transliterate(a) or a, transliterate(b) or b
        if compact(la) == compact(lb) or fuzz.ratio(la, lb) >= 85:
            return 1.0
    return _ALBUM_DIFFERENT


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _details_compatible(a: list[str], b: list[str]) -> bool:
    """Remixers, live shows or languages agree unless both sides name different ones."""
    named_a = [d for d in a if d]
    named_b = [d for d in b if d]
    if not named_a or not named_b:
        return True
    for x in named_a:
        for y in named_b:
            years_x, years_y = set(_YEAR.findall(x)), set(_YEAR.findall(y))
            if years_x and years_y and not years_x & years_y:
                continue
            if fuzz.token_set_ratio(x, y) >= 70:
                return True
    return False


_DETAILED_KINDS = (VersionKind.REMIX, VersionKind.LIVE, VersionKind.LANGUAGE)


def _version_factor(a_tags: tuple[VersionTag, ...], a_kinds: tuple[VersionKind, ...],
                    b_tags: tuple[VersionTag, ...], b_kinds: tuple[VersionKind, ...]) -> tuple[float, str]:
    """Different-recording kinds must agree exactly; named details must not contradict."""
    if a_kinds != b_kinds:
        only_a = ", ".join(k.value for k in a_kinds if k not in b_kinds)
        only_b = ", ".join(k.value for k in b_kinds if k not in a_kinds)
        return _VERSION_MISMATCH, f"version differs ({only_a or 'original'} vs {only_b or 'original'})"
    for kind in _DETAILED_KINDS:
        if kind in a_kinds:
            da = [t.detail for t in a_tags if t.kind is kind]
            db = [t.detail for t in b_tags if t.kind is kind]
            if not _details_compatible(da, db):
                return _DETAIL_MISMATCH, f"different {kind.value} ({'/'.join(da)} vs {'/'.join(db)})"
    return 1.0, ""


def _feature_factor(a: _Prepared, b: _Prepared) -> float:
    """A featured guest that the other side does not credit hints at another version."""
    for feats, other in ((a.features, b.artists), (b.features, a.artists)):
        for key in feats:
            if other and key not in other:
                hit = process.extractOne(key, other, scorer=fuzz.ratio, score_cutoff=85)
                if hit is None:
                    return _UNCREDITED_FEATURE
    return 1.0


def _credit_variant(a: _Prepared, b: _Prepared) -> bool:
    """The same act credited another way: an abbreviation of a name of three words or more (``CCR``),
    or a group named by its members' surnames (``Simon & Garfunkel`` / ``Paul Simon & Art Garfunkel``)."""
    for x, y in ((a, b), (b, a)):
        if y.initials and any(k in y.initials for k in x.artists[:1]):
            return True
        if len(x.performers) >= 2 and len(y.performers) >= len(x.performers):
            rest = list(y.performers)
            for short in x.performers:
                owner = next((full for full in rest if len(short) >= 4 and full.endswith(short)), None)
                if owner is None:
                    break
                rest.remove(owner)
            else:
                return True
    return False


def _same_name(a: str, b: str) -> bool:
    """Two compact credited names for one performer: equal, one inside the other, or nearly equal."""
    if a == b:
        return True
    if len(a) >= 4 and len(b) >= 4 and (a in b or b in a):
        return True
    return fuzz.ratio(a, b) >= 85


def _performers_differ(a: _Prepared, b: _Prepared) -> bool:
    """Both sides credit several performers and each names one the other does not: the same work
    (same composer, same title) played by someone else is another recording."""
    pa, pb = a.performers, b.performers
    if len(pa) < 2 or len(pb) < 2 or pa == pb:
        return False
    return (any(not any(_same_name(x, y) for y in pb) for x in pa)
            and any(not any(_same_name(y, x) for x in pa) for y in pb))


def _alternative_title(a: _Prepared, b: _Prepared) -> bool:
    """One side's title is another reading of the other's (see :func:`title_shape`)."""
    if not a.alts and not b.alts:
        return False
    for x, y in ((a, b), (b, a)):
        if x.alts and (compact(y.core) in x.alts or compact(y.full) in x.alts
                       or any(alt in x.alts for alt in y.alts)):
            return True
    return False


_CATALOGUE = re.compile(r"\b(?:op|bwv|kv?|hob|rv|hwv|woo|d|l|sz|s)\s?\d+")
"""A catalogue number: the title names a classical work, known also by a nickname."""


def _corroboration(a: _Prepared, b: _Prepared) -> int:
    """How strongly album, length and track position say two tracks are one, when a name cannot.

    0: not enough (the album unknown or different, lengths unknown or more than ~2 s apart, or
    track positions both known and different); 1: album and length agree; 2: and the track
    positions are known and equal too.
    """
    if a.duration is None or b.duration is None or abs(a.duration - b.duration) > _NEAR_LENGTH:
        return 0
    if a.number is not None and b.number is not None and a.number != b.number:
        return 0
    if not a.album or not b.album or _album_factor(a.album, b.album) < 1.0:
        return 0
    return 2 if a.number is not None and a.number == b.number else 1


def _title_rescuable(a: _Prepared, b: _Prepared, evidence: int) -> bool:
    """Titles that disagree and may still name one recording: written in different scripts, or a
    work's catalogue title against its nickname (sharing a word), when the evidence vouches."""
    if bool(a.latin) != bool(b.latin):
        return True
    shared = set(a.full.split()) & set(b.full.split())
    if not any(len(word) >= 4 and not word.isdigit() for word in shared):
        return False
    return evidence >= 2 or bool(_CATALOGUE.search(a.full) or _CATALOGUE.search(b.full))


# ----------------------------------------------------------------------------- track vs track


def _evaluate(w: _Prepared, c: _Prepared, explain: bool = False) -> tuple[float, str]:
    """Score ``c`` as the recording ``w`` describes; a reason only when asked.

    The common cases (equal titles, a shared artist key, equal albums, no
    version tags) are decided inline; the helpers handle the rest.
    """
    wd, cd = w.duration, c.duration
    confirmed = _length_confirms(wd, cd, _TRACK_SCALE)
    unbracketed = False
    if w.full == c.full and w.full:
        title = 1.0
    elif (c.inline and not w.kinds and c.inline == w.full) or (w.inline and not c.kinds and w.inline == c.full):
        title, unbracketed = 1.0, True  # "Song Alesso Remix" is "Song (Alesso Remix)" without brackets
    else:
        title = _title_similarity(w.core, w.full, c.core, c.full)
        if title < _ALTERNATIVE_TITLE and _alternative_title(w, c):
            title = _ALTERNATIVE_TITLE
        if title < _TRANSLITERATED and (w.latin or c.latin):
            title = max(title, _TRANSLITERATED * _word_similarity(w.latin or w.core, c.latin or c.core))
        title = _sharpen_title(title, confirmed)
    wa, ca = w.artists, c.artists
    notes: list[str] = []
    if wa and ca and (wa[0] in ca or ca[0] in wa):
        artist_sim: float | None = 1.0
        artist = 1.0
    else:
        artist_sim = _artist_similarity(wa, ca)
        if (artist_sim is None or artist_sim < _ARTIST_KNEE) and _credit_variant(w, c):
            artist_sim = _CREDIT_VARIANT
            notes.append("credit variant")
        artist = _artist_factor(artist_sim)
    other_performers = artist == 1.0 and _performers_differ(w, c)
    if other_performers:
        artist = _PERFORMERS_DIFFER
        notes.append("other performers")
    elif w.named != c.named and wa and ca:
        artist_sim, artist = None, min(artist, _artist_factor(0.0))  # "Various Artists" names nobody
    title_doubt = title < MATCH_THRESHOLD
    artist_doubt = artist < _ARTIST_KNEE and not other_performers
    if title_doubt != artist_doubt:
        # one name in doubt, never both: a same-named album of another act, with a track of about
        # the same length at the same position, is too common ("Greatest Hits", track 1)
        evidence = _corroboration(w, c)
        if evidence:
            if title_doubt and _title_rescuable(w, c, evidence):
                title = max(title, _CORROBORATED)
                notes.append("title vouched for by album, length" + (", position" if evidence == 2 else ""))
            if artist_doubt:
                artist = max(artist, _CORROBORATED)
                notes.append("artist vouched for by album, length" + (", position" if evidence == 2 else ""))
    duration = _duration_factor(wd, cd, _TRACK_SCALE)
    album = 1.0 if w.album == c.album and w.album else _album_factor(w.album, c.album)
    version, version_note = 1.0, ""
    if (w.kinds or c.kinds) and not unbracketed:
        version, version_note = _version_factor(w.tags, w.kinds, c.tags, c.kinds)
    if version == 1.0 and w.same != c.same:
        version = _SAME_TAG_DIFFERENT
    feature = _feature_factor(w, c) if w.features or c.features else 1.0
    score = title * artist * duration * album * version * feature
    isrc_note = ""
    if w.isrc and c.isrc:
        if w.isrc == c.isrc:
            score = _ISRC_FLOOR + (1.0 - _ISRC_FLOOR) * score
            isrc_note = "same ISRC"
        else:
            score *= _ISRC_MISMATCH
            isrc_note = "different ISRC"
    score = min(1.0, max(0.0, score))
    if not explain:
        return score, ""
    parts = [f"title {title:.2f}",
             "artist ?" if artist_sim is None else f"artist {artist_sim:.2f}",
             _duration_note(wd, cd),
             "album ?" if album == _ALBUM_UNKNOWN else ("album same" if album == 1.0 else "album differs")]
    parts.extend(notes)
    if version_note:
        parts.append(version_note)
    if feature < 1.0:
        parts.append("uncredited feature")
    if isrc_note:
        parts.append(isrc_note)
    return score, f"{score:.2f}: " + ", ".join(parts)


def _duration_note(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "length ?"
    return f"length Δ{abs(a - b):.0f}s"


def match_score(wanted: Track, candidate: Track) -> float:
    """Confidence in [0, 1] that ``candidate`` is the recording ``wanted`` describes.

    Title words (after folding and qualifier parsing), any credited artist,
    duration (``exp(-(diff / (14 s + 1 %))^4)``: almost nothing lost over a few
    seconds, then a smooth decline, no step), version tags (a live, remix,
    acoustic... take never matches a different one), album as a tie-breaker;
    equal ISRCs decide "same", different ISRCs "not same". Compare with
    :data:`MATCH_THRESHOLD`.
    """
    return _evaluate(_prepare(wanted), _prepare(candidate))[0]


def is_same_track(wanted: Track, candidate: Track, threshold: float = MATCH_THRESHOLD) -> bool:
    """True when ``candidate`` is the wanted recording (``match_score >= threshold``)."""
    return match_score(wanted, candidate) >= threshold


def explain_match(wanted: Track, candidate: Track) -> str:
    """The score and the evidence behind it, for tooltips and logs."""
    return _evaluate(_prepare(wanted), _prepare(candidate), explain=True)[1]


# ----------------------------------------------------------------------------- library index


@dataclass(slots=True)
class Match:
    """The library track a wanted track was found as."""

    track: Track
    score: float
    runner_up: Track | None = None
    """The best other candidate that is not a duplicate file of ``track`` (same title, version, main artist
    and an agreeing length)."""
    runner_up_score: float = 0.0
    ambiguous: bool = False
    """A distinct runner-up also passes the threshold within :data:`AMBIGUITY_MARGIN`."""


_FUZZY_SKIP = 0.95      # an exact-key candidate this good ends the search
_FUZZY_CUTOFF = 60.0    # rapidfuzz ratio for fuzzy title candidates
_FUZZY_LIMIT = 8
_ARTIST_CUTOFF = 70.0   # rapidfuzz ratio for artist keys within one title's bucket
_SMALL_BUCKET = 16      # title buckets up to this size are scored whole
_LARGE_BUCKET = 256     # a title bucket scored whole (no artist to narrow by) is cut here
_RARE_TOKEN = 4000      # token postings longer than this are too common to scan


class _BucketSpread(NamedTuple):
    """One big title bucket by artist: parallel (track id, artist key) lists for rapidfuzz, and a dict."""

    size: int
    """Bucket size when laid out (the layout is stale once the bucket grows)."""
    owners: list[int]
    artists: list[str]
    by_artist: dict[str, int | list[int]]


class LibraryIndex:
    """All library tracks, indexed by normalised keys for fast matching.

    Candidates come from the ISRC, the exact normalised title narrowed to
    credited artists (rapidfuzz over that title's artist keys), the credited
    artists' other titles (rapidfuzz over that artist's titles only), and as
    a last resort, when no credited artist is known at all, the rarest title
    words (that word index is built on first use). The scorer then decides.
    Never a scan of the whole library.
    """

    def __init__(self, tracks: Iterable[Track] = ()) -> None:
        self._tracks: list[Track] = []
        self._records: list[tuple] = []
        """Each track's :class:`_Prepared` as a plain tuple: the collector stops tracking plain tuples
        of strings, so a big index does not make later collections walk it (see ``_record``)."""
        self._by_title: dict[str, int | list[int]] = {}
        self._by_isrc: dict[str, int | list[int]] = {}
        self._by_word: dict[str, int | list[int]] | None = None
        """Title words -> tracks; built on first use (only the last-resort stage needs it)."""
        # parallel lists per artist key: track ids and their core titles (rapidfuzz runs over the titles)
        self._artist_ids: dict[str, list[int]] = {}
        self._artist_titles: dict[str, list[str]] = {}
        # big title buckets laid out by artist key on first use
        self._bucket_artists: dict[str, _BucketSpread] = {}
        # a bulk build makes hundreds of thousands of acyclic objects: collector passes would be wasted
        paused = gc.isenabled()
        gc.disable()
        try:
            for track in tracks:
                self.add(track)
        finally:
            if paused:
                gc.enable()

    def __len__(self) -> int:
        return len(self._tracks)

    def _record(self, i: int) -> _Prepared:
        return _Prepared._make(self._records[i])

    def add(self, track: Track) -> None:
        """Index one more library track."""
        i = len(self._tracks)
        p = _prepare(track)
        self._tracks.append(track)
        self._records.append(tuple(p))
        core = p.core
        key = compact(core)
        _post(self._by_title, key, i)
        if p.full is not core:
            full_key = compact(p.full)
            if full_key != key:
                _post(self._by_title, full_key, i)
        for alt in p.alts:
            _post(self._by_title, alt, i)
        if p.inline:
            _post(self._by_title, compact(p.inline), i)
        for artist in p.artists:
            ids = self._artist_ids.get(artist)
            if ids is None:
                self._artist_ids[artist] = [i]
                self._artist_titles[artist] = [core]
            else:
                ids.append(i)
                self._artist_titles[artist].append(core)
        if self._by_word is not None:
            for word in core.split():
                _post(self._by_word, word, i)
        if p.isrc:
            _post(self._by_isrc, p.isrc, i)

    def search(self, wanted: Track, limit: int = 5) -> list[tuple[Track, float]]:
        """The best-scoring library tracks for ``wanted``, best first (any score)."""
        w = _prepare(wanted)
        return [(self._tracks[i], s) for s, i in self._ranked(w)[:limit]]

    def find(self, wanted: Track, min_score: float = MATCH_THRESHOLD) -> Match | None:
        """The library track that is ``wanted``, or None when nothing reaches ``min_score``."""
        w = _prepare(wanted)
        ranked = self._ranked(w)
        if not ranked or ranked[0][0] < min_score:
            return None
        best_score, best = ranked[0]
        runner: tuple[float, int] | None = None
        for score, i in ranked[1:]:
            if self._distinct(best, i):
                runner = (score, i)
                break
        if runner is None:
            return Match(self._tracks[best], best_score)
        ambiguous = runner[0] >= min_score and best_score - runner[0] < AMBIGUITY_MARGIN
        return Match(self._tracks[best], best_score, self._tracks[runner[1]], runner[0], ambiguous)

    def find_all(self, wanted: Iterable[Track], min_score: float = MATCH_THRESHOLD) -> list[Match | None]:
        """``find`` for each wanted track, in order."""
        return [self.find(t, min_score) for t in wanted]

    # -- internals

    def _distinct(self, a: int, b: int) -> bool:
        """Whether two library tracks may be different recordings.

        Only tracks with the same title, version, main artist and a length known on
        both sides to agree count as duplicate files of one recording (an album
        track and its compilation copy); without lengths nobody can tell.
        """
        pa, pb = self._record(a), self._record(b)
        if pa.full != pb.full or pa.kinds != pb.kinds:
            return True
        if not pa.artists or not pb.artists or pa.artists[0] not in pb.artists:
            return True
        return not _length_confirms(pa.duration, pb.duration, _TRACK_SCALE)

    def _ranked(self, w: _Prepared) -> list[tuple[float, int]]:
        """Score candidates stage by stage, stopping once a stage has found a sure match."""
        scored: dict[int, float] = {}
        records = self._records

        def score_all(ids: Iterable[int]) -> float:
            best = 0.0
            for i in ids:
                score = scored.get(i)
                if score is None:
                    score = scored[i] = _evaluate(w, _Prepared._make(records[i]))[0]
                if score > best:
                    best = score
            return best

        best = score_all(_posted(self._by_isrc, w.isrc)) if w.isrc else 0.0
        best = max(best, score_all(self._title_candidates(w)))
        if best < _FUZZY_SKIP:
            best = max(best, score_all(self._artist_candidates(w)))
        if best < MATCH_THRESHOLD and not any(a in self._artist_ids for a in w.artists):
            best = max(best, score_all(self._word_candidates(w)))
        if best < MATCH_THRESHOLD and w.duration is not None and w.album:
            score_all(self._evidence_candidates(w))
        return sorted(((s, i) for i, s in scored.items()), key=lambda x: (-x[0], x[1]))

    def _title_candidates(self, w: _Prepared) -> list[int]:
        """Tracks with the wanted normalised title; in a big bucket, only those by a credited artist
        (or, when none is, by a similar one)."""
        core_key = compact(w.core)
        keys = [core_key]
        if w.full is not w.core:
            full_key = compact(w.full)
            if full_key != core_key:
                keys.append(full_key)
        keys.extend(alt for alt in w.alts if alt not in keys)
        if w.inline:
            keys.append(compact(w.inline))
        out: list[int] = []
        for key in keys:
            ids = _posted(self._by_title, key)
            if len(ids) <= _SMALL_BUCKET or not w.artists:
                out.extend(ids[:_LARGE_BUCKET])
                continue
            spread = self._spread_by_artist(key, ids)
            exact = [i for artist in w.artists for i in _posted(spread.by_artist, artist)]
            if exact:
                out.extend(exact[:_LARGE_BUCKET])
                continue
            for artist in w.artists:
                for _, _, pos in process.extract(artist, spread.artists, scorer=fuzz.ratio,
                                                 score_cutoff=_ARTIST_CUTOFF, limit=_FUZZY_LIMIT):
                    out.append(spread.owners[pos])
        return out

    def _spread_by_artist(self, key: str, ids: Sequence[int]) -> _BucketSpread:
        """A big title bucket laid out by artist key; cached until the bucket grows."""
        spread = self._bucket_artists.get(key)
        if spread is None or spread.size != len(ids):
            records = self._records
            owners: list[int] = []
            artists: list[str] = []
            by_artist: dict[str, int | list[int]] = {}
            for i in ids:
                for artist in records[i][_ARTISTS_AT] or ("",):
                    owners.append(i)
                    artists.append(artist)
                    _post(by_artist, artist, i)
            spread = self._bucket_artists[key] = _BucketSpread(len(ids), owners, artists, by_artist)
        return spread

    def _artist_candidates(self, w: _Prepared) -> list[int]:
        """The credited artists' tracks whose titles are near the wanted title."""
        ids: list[int] = []
        query = w.core
        for artist in w.artists:
            titles = self._artist_titles.get(artist)
            if not titles:
                continue
            owners = self._artist_ids[artist]
            for _, _, pos in process.extract(query, titles, scorer=fuzz.ratio,
                                             score_cutoff=_FUZZY_CUTOFF, limit=_FUZZY_LIMIT):
                ids.append(owners[pos])
        return ids

    def _evidence_candidates(self, w: _Prepared) -> list[int]:
        """The credited artists' tracks on the wanted album whose length is within ~2 s and whose
        position does not contradict: where a title in another script or a work's nickname can only
        be vouched for by album, length and track position. (A credit in doubt with an agreeing
        title is found through the title.)"""
        records = self._records
        out: list[int] = []
        for artist in w.artists:
            for i in self._artist_ids.get(artist, ())[:_RARE_TOKEN]:
                record = records[i]
                duration = record[_DURATION_AT]
                if duration is None or abs(duration - w.duration) > _NEAR_LENGTH:
                    continue
                number = record[_NUMBER_AT]
                if number is not None and w.number is not None and number != w.number:
                    continue
                if _album_factor(w.album, record[_ALBUM_AT]) == 1.0:
                    out.append(i)
        return out

    def _word_index(self) -> dict[str, int | list[int]]:
        if self._by_word is None:
            by_word: dict[str, int | list[int]] = {}
            for i, record in enumerate(self._records):
                for word in record[_CORE_AT].split():
                    _post(by_word, word, i)
            self._by_word = by_word
        return self._by_word

    def _word_candidates(self, w: _Prepared) -> list[int]:
        """Tracks sharing the wanted title's rarest words, narrowed by rapidfuzz on the title."""
        by_word = self._word_index()
        words = sorted(set(w.core.split()), key=lambda t: len(_posted(by_word, t)))
        ids: list[int] = []
        for word in words[:2]:
            posting = _posted(by_word, word)
            if not posting or len(posting) > _RARE_TOKEN:
                continue
            titles = [self._records[i][_CORE_AT] for i in posting]
            for _, _, pos in process.extract(w.core, titles, scorer=fuzz.ratio,
                                             score_cutoff=_FUZZY_CUTOFF, limit=_FUZZY_LIMIT):
                ids.append(posting[pos])
        return ids


def _post(index: dict[str, int | list[int]], key: str, i: int) -> None:
    """File track ``i`` under ``key``: a lone id is kept bare, a second one makes a list."""
    have = index.get(key)
    if have is None:
        index[key] = i
    elif isinstance(have, int):
        if have != i:
            index[key] = [have, i]
    elif have[-1] != i:
        have.append(i)


def _posted(index: dict[str, int | list[int]], key: str) -> Sequence[int]:
    have = index.get(key)
    if have is None:
        return ()
    if isinstance(have, int):
        return (have,)
    return have


# ----------------------------------------------------------------------------- Soulseek results


@dataclass(slots=True)
class Candidate(SearchFileFacts):
    """One acceptable Soulseek file for a wanted track, with why it was accepted."""

    file: SearchFile
    score: float
    """Confidence that the file is the wanted recording, in [0, 1]."""
    reason: str
    """Human summary: the evidence for the match, the quality and the peer."""
    quality: str
    """Short quality label, e.g. ``FLAC 24/96`` or ``MP3 320``."""


def _int_field(value: object, minimum: int = 0) -> int | None:
    """A non-negative integer from untrusted JSON, or None (bools and junk rejected)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= minimum else None
    if isinstance(value, float) and math.isfinite(value) and value >= minimum:
        return int(value)
    return None


def search_files_from_responses(responses: object) -> tuple[list[SearchFile], int]:
    """Downloadable files of raw slskd search responses, and how many entries were skipped.

    Malformed responses or files (wrong types, no username or filename) are
    skipped and counted; locked files are left out; duplicates keep the first.
    """
    files: list[SearchFile] = []
    skipped = 0
    if not isinstance(responses, (list, tuple)):
        return files, (0 if responses is None else 1)
    seen: set[tuple[str, str]] = set()
    for response in responses:
        if not isinstance(response, dict):
            skipped += 1
            continue
        username = response.get("username")
        entries = response.get("files")
        if not isinstance(username, str) or not username.strip() or not isinstance(entries, list):
            skipped += 1
            continue
        free = response.get("hasFreeUploadSlot")
        has_free_slot = free if isinstance(free, bool) else False
        speed = _int_field(response.get("uploadSpeed")) or 0
        queue = _int_field(response.get("queueLength")) or 0
        for entry in entries:
            if not isinstance(entry, dict):
                skipped += 1
                continue
            filename = entry.get("filename")
            if not isinstance(filename, str) or not filename.strip() or entry.get("isLocked") is True:
                skipped += 1
                continue
            if (username, filename) in seen:
                continue
            seen.add((username, filename))
            announced = entry.get("extension")
            vbr = entry.get("isVariableBitRate")
            files.append(SearchFile(
                username=username,
                filename=filename,
                size=_int_field(entry.get("size")) or 0,
                extension=extension_of(filename, announced if isinstance(announced, str) else None),
                bitrate=_int_field(entry.get("bitRate"), 1),
                bit_depth=_int_field(entry.get("bitDepth"), 1),
                sample_rate=_int_field(entry.get("sampleRate"), 1),
                length=_int_field(entry.get("length"), 1),
                is_vbr=vbr if isinstance(vbr, bool) else None,
                has_free_slot=has_free_slot,
                upload_speed=speed,
                queue_length=queue,
            ))
    return files, skipped


_PATH_SPLIT = re.compile(r"[\\/]+")
_SCENE_NAME = re.compile(r"^[^\s]*[^\s\-]-[^\s\-][^\s]*$")
"""A file name without spaces whose fields are joined by hyphens: ``03-oasis-wonderwall-grp``,
``oasis_-_wonderwall``."""
_ARTIST_IN_BRACKETS = re.compile(r"^\s*[\(\[]([^\(\)\[\]]+)[\)\]]\s*(?=\S)")
"""A leading bracketed name: ``(Oasis) Wonderwall``."""
_DASH_SEGMENT = re.compile(r"\s+[-–—~]+\s+|\s+[-–—]+(?=\S)|(?<=\S)[-–—]+\s+|\s+_\s+")
_OPENERS = "([{【〔"
_CLOSERS = ")]}】〕"
_MAX_RUN = 3                        # a title spans at most this many dash segments
_UNEXPLAINED_SEGMENT = 0.85         # a file-name part that is neither title, artist, album nor qualifier
_ARTIST_UNSEEN_CONFIRMED = 0.85     # the path never names the artist (nor anyone else); the length agrees
_ARTIST_UNSEEN = 0.60               # ... and no length, or a folder seems to name someone else
_ALBUM_UNSEEN = 0.97
_FOLDER_TAG_DEPTH = 2               # album-level tags are read from the two innermost folders
_LENGTH_TELLS_KINDS = frozenset({
    VersionKind.LIVE, VersionKind.EDIT, VersionKind.EXTENDED, VersionKind.DEMO, VersionKind.ACOUSTIC,
    VersionKind.ALTERNATE, VersionKind.SPEED,
})
"""Versions whose length differs from the original's, so an agreeing length in the wanted album's folder
identifies them even when the file name omits the tag (instrumentals, by contrast, run as long as the song)."""


def _split_outside_brackets(text: str) -> list[str]:
    """Split ``text`` at `` - `` separators that are not inside brackets."""
    pieces: list[str] = []
    start = 0
    for m in _DASH_SEGMENT.finditer(text):
        prefix = text[:m.start()]
        depth = sum(prefix.count(c) for c in _OPENERS) - sum(prefix.count(c) for c in _CLOSERS)
        if depth <= 0:
            pieces.append(text[start:m.start()])
            start = m.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


@dataclass(slots=True)
class _Wanted:
    """The wanted track prepared for judging remote paths."""

    p: _Prepared
    artist_names: tuple[str, ...]
    """Spaced normalised artist names (credits, their parts, title features) for word matching."""
    album: str
    """Normalised album name without qualifiers, '' when unknown."""


def _wanted_for_paths(track: Track, p: _Prepared) -> _Wanted:
    credited = track.artists if isinstance(track.artists, (list, tuple)) else ()
    featured = parse_title(track.title).features if isinstance(track.title, str) else ()
    raw = [a for a in credited if isinstance(a, str)] + list(featured)
    names: dict[str, None] = {}
    for name in raw:
        for piece in [name, *split_artists(name)]:
            spaced = normalize_artist(piece)
            if spaced and (len(spaced) >= 2 or not spaced.isascii()):
                names[spaced] = None
                latin = transliterate(spaced) if not spaced.isascii() else ""
                if len(latin) >= 2:
                    names[latin] = None  # "Кино" is shared as "Kino"
    album = ""
    if isinstance(track.album, str) and track.album.strip():
        album = parse_title(track.album).full
    return _Wanted(p, tuple(names), album)


def _contains_words(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def _names_artist(w: _Wanted, text: str) -> float:
    """How well a piece of path text names one of the wanted artists (0 when it does not)."""
    if not text:
        return 0.0
    for name in w.artist_names:
        if _contains_words(text, name):
            return 1.0
    squeezed = compact(text)
    for name in w.artist_names:
        if len(name) >= 4 and compact(name) == squeezed:
            return 1.0
    hit = process.extractOne(text, w.artist_names, scorer=fuzz.ratio, score_cutoff=85)
    return hit[1] / 100.0 if hit is not None else 0.0


def _names_album(w: _Wanted, text: str) -> bool:
    return bool(w.album and text) and (_contains_words(text, w.album) or fuzz.ratio(text, w.album) >= 85)


@dataclass(slots=True)
class _FolderFacts:
    artist: float
    album: bool
    tags: tuple[VersionTag, ...]
    named_other: bool
    """A folder that is neither generic (``Music``, ``Downloads``, ``CD1``...), the artist nor the album:
    most likely another artist's or a compilation's name."""
    censorship: VersionKind | None = None
    """``CLEAN`` or ``EXPLICIT`` when an album folder says so (``Album (Clean)``)."""


_COVER_ACT = re.compile(
    r"\b(?:tributes?|karaoke|covers?|covered|in the style of|made famous|originally (?:performed|by)|performs?"
    r"|plays|salute to|string quartet|lullaby renditions?|piano renditions?|sound ?alike)\b")
"""Words by which a path names a tribute, cover or karaoke act, even one that names the real artist
(``Oasis Tribute Band``, ``Vitamin String Quartet Performs Oasis``)."""


def _names_cover_act(w: _Wanted, text: str) -> bool:
    """A path piece that names a cover act (and not the wanted album)."""
    return _COVER_ACT.search(text) is not None and not _names_album(w, text)


def _censorship_of(same: Iterable[VersionKind]) -> VersionKind | None:
    kinds = set(same)
    if VersionKind.CLEAN in kinds:
        return VersionKind.CLEAN
    return VersionKind.EXPLICIT if VersionKind.EXPLICIT in kinds else None


_GENERIC_FOLDERS = frozenset((
    "music musica musik musique muziek audio media mp3 mp3s flac lossless lossy aac m4a ogg opus "
    "downloads download downloaded complete completed incoming incomplete finished shared share shares "
    "soulseek slsk nicotine soulseekqt library collection albums album singles single eps tracks songs "
    "misc miscellaneous various va unsorted sorted new old other others stuff files my temp tmp "
    "discography discographies").split())


def _is_generic_folder(text: str) -> bool:
    """Folders that name nothing: storage words, letters (``O``), discs, years, formats."""
    words = text.split()
    if not words:
        return True
    if all(w in _GENERIC_FOLDERS or len(w) == 1 or _NUMBERISH.match(w) or w.isdigit() for w in words):
        return True
    return classify_qualifier(text).noise


def _judge_folders(w: _Wanted, folders: list[str]) -> _FolderFacts:
    """Artist and album evidence, album-level version tags, and whether a folder names someone else."""
    artist = 0.0
    album = False
    named_other = False
    censorship: VersionKind | None = None
    tags: list[VersionTag] = []
    for depth, raw in enumerate(reversed(folders)):
        parsed = parse_title(raw)
        whole = parsed.full
        if depth < _FOLDER_TAG_DEPTH and censorship is None:
            censorship = _censorship_of(parsed.same)
        pieces = [whole] + [parse_title(s).full for s in _split_outside_brackets(fold(raw))]
        explained = False
        if any(_names_cover_act(w, piece) for piece in pieces):
            if _COVER_TAG not in tags:
                tags.append(_COVER_TAG)
            continue
        for piece in pieces:
            named = _names_artist(w, piece)
            artist = max(artist, named)
            seen_album = _names_album(w, piece)
            album = album or seen_album
            explained = explained or named >= _ARTIST_KNEE or seen_album
        if not explained and not _is_generic_folder(whole):
            named_other = True
        if depth < _FOLDER_TAG_DEPTH:
            tags.extend(t for t in parse_album(raw).tags if t not in tags)
    return _FolderFacts(artist, album, tuple(tags), named_other, censorship)


_COVER_TAG = VersionTag(VersionKind.COVER)


_NUMBERISH = re.compile(r"^(?:\d{1,3}|[a-d]\d{1,2}|(?:cd|disc|disk)\d{0,2})$")


def _drop_words(text: str, count: int) -> str:
    return " ".join(text.split()[count:])


def _affix_variants(w: _Wanted, core: str, full: str) -> list[tuple[str, str, bool]]:
    """A name run as is, without leading track/disc numbers, and without the artist at either end.

    Each variant is (core, full, whether an artist name was removed).
    """
    out = [(core, full, False)]
    words = core.split()
    count = 0
    while count < 3 and count < len(words) - 1 and _NUMBERISH.match(words[count]):
        count += 1
        out.append((_drop_words(core, count), _drop_words(full, count), False))
    for c, f, _ in list(out):
        for name in w.artist_names:
            if c.startswith(name + " "):
                c2 = c[len(name) + 1:]
                f2 = f[len(name) + 1:] if f.startswith(name + " ") else f
                out.append((c2, f2, True))
                rest = c2.split()
                if len(rest) > 1 and _NUMBERISH.match(rest[0]):
                    out.append((_drop_words(c2, 1), _drop_words(f2, 1), True))
            if c.endswith(" " + name):
                out.append((c[:-len(name) - 1], f[:-len(name) - 1] if f.endswith(" " + name) else f, True))
    return out


@dataclass(slots=True)
class _FileVerdict:
    score: float
    reason: str
    censorship: VersionKind | None = None
    """``CLEAN`` or ``EXPLICIT`` when the name or folder says so."""
    artist_seen: bool = False
    """The path names the wanted artist."""


def _censorship_rank(censorship: VersionKind | None, prefer_clean: bool) -> int:
    """Clean files after explicit and unmarked ones, unless the user prefers clean versions."""
    if prefer_clean:
        return {VersionKind.CLEAN: 0, None: 1}.get(censorship, 2)
    return 1 if censorship is VersionKind.CLEAN else 0


def _judge_file(w: _Wanted, stem: str, length: int | None, folders: _FolderFacts) -> _FileVerdict | None:
    """Whether a remote file is the wanted recording, from its name, its folders and its length."""
    folded = fold(stem)
    scene = _SCENE_NAME.match(folded) is not None
    if scene:
        # "03-oasis-wonderwall-grp": hyphens separate fields, underscores are spaces
        folded = folded.replace("-", " - ")
    folded = folded.replace("_", " ")
    artist_at_head = False
    head = _ARTIST_IN_BRACKETS.match(folded)
    if head and _names_artist(w, normalize_artist(head.group(1))) >= _ARTIST_KNEE:
        folded, artist_at_head = folded[head.end():], True  # "(Oasis) Wonderwall"
    segments = [parse_title(s) for s in _split_outside_brackets(folded)]
    if not segments:
        return None
    length_s = float(length) if length else None
    confirmed = _length_confirms(w.p.duration, length_s, _FILE_SCALE)
    # the run of segments that reads most like the wanted title
    best = (-1.0, 0, 0, False)
    n = len(segments)
    for i in range(n):
        for j in range(i + 1, min(n, i + _MAX_RUN) + 1):
            run = segments[i:j]
            for core, full, has_artist in _affix_variants(w, " ".join(s.core for s in run),
                                                     " ".join(s.full for s in run)):
                sim = _title_similarity(w.p.core, w.p.full, core, full)
                if w.p.latin and sim < _TRANSLITERATED and core.isascii():
                    sim = max(sim, _TRANSLITERATED * _word_similarity(w.p.latin, core))
                if sim > best[0]:
                    best = (sim, i, j, has_artist)
    sim, start, end, artist_in_run = best
    title = _sharpen_title(sim, confirmed)
    if title < MATCH_THRESHOLD:
        return None
    tags: list[VersionTag] = list(folders.tags)
    features: list[str] = []
    for seg in segments:
        tags.extend(t for t in seg.tags if t not in tags)
        features.extend(seg.features)
    artist = max(folders.artist, 1.0 if artist_in_run or artist_at_head else 0.0)
    album = folders.album
    unexplained = 0
    for k, seg in enumerate(segments):
        if start <= k < end:
            continue
        text = seg.full
        if not text or text.replace(" ", "").isdigit():
            continue
        if _names_cover_act(w, text):
            if _COVER_TAG not in tags:
                tags.append(_COVER_TAG)
            continue
        if scene and k == len(segments) - 1 and k >= end and " " not in text:
            continue  # the release group's tag
        named = _names_artist(w, text)
        if named:
            artist = max(artist, named)
            continue
        if _names_album(w, text):
            album = True
            continue
        if k >= end:
            q = classify_qualifier(text)
            if not q.unknown:
                tags.extend(t for t in q.tags if not t.kind.same_recording and t not in tags)
                features.extend(q.features)
                continue
        unexplained += 1
    feature_keys = [k for f in features for k in artist_keys(f)[:1]]
    for key in feature_keys:
        if artist < 1.0 and key in w.p.artists:
            artist = 1.0
    kinds = kinds_of(tags)
    inherited = (not kinds and album and confirmed and bool(w.p.kinds)
                 and all(k in _LENGTH_TELLS_KINDS for k in w.p.kinds))
    if inherited:
        # a plainly named file in the wanted album's folder, with the wanted length: that album's take
        tags, kinds = list(w.p.tags), w.p.kinds
    if _version_factor(w.p.tags, w.p.kinds, tuple(tags), kinds)[0] < 1.0:
        return None
    if artist >= _ARTIST_KNEE:
        artist_factor = artist
    else:
        artist_factor = _ARTIST_UNSEEN_CONFIRMED if confirmed and not folders.named_other else _ARTIST_UNSEEN
    duration = _duration_factor(w.p.duration, length_s, _FILE_SCALE)
    album_factor = 1.0 if album or not w.album else _ALBUM_UNSEEN
    uncredited = any(k not in w.p.artists for k in feature_keys)
    score = (title * artist_factor * duration * album_factor * (_UNEXPLAINED_SEGMENT ** unexplained)
             * (_UNCREDITED_FEATURE if uncredited else 1.0))
    if score < MATCH_THRESHOLD:
        return None
    notes = [f"title {title:.2f}",
             "artist in path" if artist >= _ARTIST_KNEE else "artist not in path",
             _duration_note(w.p.duration, length_s)]
    if w.album:
        notes.append("album in path" if album else "album not in path")
    if kinds:
        notes.append("version " + ", ".join(k.value for k in kinds)
                     + (" (from the album folder)" if inherited else ""))
    if unexplained:
        notes.append(f"{unexplained} unexplained name part{'s' if unexplained > 1 else ''}")
    if uncredited:
        notes.append("uncredited feature")
    censorship = _censorship_of(k for seg in segments for k in seg.same) or folders.censorship
    if censorship is not None:
        notes.append(censorship.value)
    return _FileVerdict(min(1.0, score), ", ".join(notes), censorship, artist >= _ARTIST_KNEE)


def _peer_key(f: SearchFile) -> tuple:
    """The estimated time to complete (:func:`finish_seconds`, in classes so near times tie), then the
    shorter queue, then raw speed. A free slot on a slow line loses to a short queue on a fast one."""
    finish = finish_seconds(f.size, f.upload_speed, f.has_free_slot, f.queue_length)
    return (finish_class(finish), f.queue_length, -f.upload_speed)


def _peer_note(f: SearchFile) -> str:
    slot = "free slot" if f.has_free_slot else f"queue {f.queue_length}"
    finish = finish_seconds(f.size, f.upload_speed, f.has_free_slot, f.queue_length)
    return f"{slot}, {f.upload_speed / 1024:.0f} KiB/s, done in ~{_duration_text(finish)}"


def _duration_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def rank_search_results(wanted: Track, responses: list[dict],
                        prefs: QualityPrefs | None = None) -> list[Candidate]:
    """The files of raw slskd search responses that are the wanted recording, best first.

    Each file is judged on its whole remote path (folders carry artist and
    album), its length (within a few seconds when both are known) and its
    version qualifiers; files that are another recording (a cover act's too),
    another song or an unacceptable format (``prefs``) are left out. The rest
    are ordered by match confidence class (>= :data:`STRONG_MATCH` first),
    then the artist named in the path, then clean versions last (first when
    ``prefs.prefer_clean`` or the wanted title is clean), then quality
    (``prefs.order``), then the estimated time to finish (speed, free slot,
    queue), then confidence.
    Malformed entries are skipped; this never raises on untrusted input.
    """
    prefs = prefs if prefs is not None else QualityPrefs()
    files, _ = search_files_from_responses(responses)
    if not files:
        return []
    p = _prepare(wanted)
    w = _wanted_for_paths(wanted, p)
    folder_cache: dict[str, _FolderFacts] = {}
    ranked: list[tuple[tuple, Candidate]] = []
    prefer_clean = prefs.prefer_clean or VersionKind.CLEAN in p.same
    for f in files:
        ext = f.extension
        if not is_audio(ext) or not prefs.acceptable(ext, f.bitrate):
            continue
        parts = [x for x in _PATH_SPLIT.split(f.filename) if x]
        if not parts:
            continue
        name = parts[-1]
        stem = name[:-(len(ext) + 1)] if ext and name.lower().endswith("." + ext) else name
        folder_key = f.filename[:len(f.filename) - len(name)]
        facts = folder_cache.get(folder_key)
        if facts is None:
            folders = [x for x in parts[:-1] if not x.startswith("@@")]
            facts = folder_cache[folder_key] = _judge_folders(w, folders)
        verdict = _judge_file(w, stem, f.length, facts)
        if verdict is None:
            continue
        label = quality_label(ext, f.bitrate, f.bit_depth, f.sample_rate, f.is_vbr)
        candidate = Candidate(f, verdict.score, f"{verdict.score:.2f}: {verdict.reason}; {label}; {_peer_note(f)}",
                              label)
        key = (0 if verdict.score >= STRONG_MATCH else 1,
               0 if verdict.artist_seen else 1,
               _censorship_rank(verdict.censorship, prefer_clean),
               quality_key(ext, f.bitrate, f.bit_depth, f.sample_rate, f.is_vbr, prefs.order),
               _peer_key(f), -verdict.score, f.username, f.filename)
        ranked.append((key, candidate))
    ranked.sort(key=lambda item: item[0])
    return [c for _, c in ranked]

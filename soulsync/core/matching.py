"""Is this the wanted track? Scoring one track against another.

Scores are confidences in [0, 1]; :data:`MATCH_THRESHOLD` separates "same
recording" from "not". A score is a product of factors, each 1.0 when its
evidence agrees and smaller when it disagrees, so one strong contradiction
(another song, another artist, a live take of a studio track) is enough to
reject. See ``docs/matching.md`` for the factors and their calibration.

The keys a track is compared by are made in :mod:`soulsync.core.match_keys`; the
library index is :mod:`soulsync.core.library_index`; Soulseek results are ranked
for a wanted track in :mod:`soulsync.core.result_ranking`.
"""
from __future__ import annotations

import math
import re

from rapidfuzz import fuzz, process

from soulsync.core.match_keys import _Prepared, _prepare
from soulsync.core.models import Track
from soulsync.core.normalize import compact, transliterate
from soulsync.core.version_tags import VersionKind, VersionTag

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


# ----------------------------------------------------------------------------- Soulseek results



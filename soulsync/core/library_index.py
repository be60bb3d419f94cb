"""All library tracks indexed by normalised keys, to find a wanted track among them fast.

:class:`LibraryIndex` gathers candidates by ISRC, title, artist and rare title words, and
the scorer of :mod:`soulsync.core.matching` decides; :class:`Match` is what it finds.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz import fuzz, process

from soulsync.core.gcutil import built_in_bulk
from soulsync.core.match_keys import _ALBUM_AT, _ARTISTS_AT, _CORE_AT, _DURATION_AT, _NUMBER_AT, _Prepared, _prepare
from soulsync.core.matching import (
    AMBIGUITY_MARGIN,
    MATCH_THRESHOLD,
    _NEAR_LENGTH,
    _TRACK_SCALE,
    _album_factor,
    _evaluate,
    _length_confirms,
)
from soulsync.core.models import Track
from soulsync.core.normalize import compact


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
        with built_in_bulk(freeze=False):
            for track in tracks:
                self.add(track)

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

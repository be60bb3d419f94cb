"""Matched downloads: which Spotify album a search result is, and which file is which track.

Qt-free and network-free: the dialog searches Spotify in a worker and hands
the answers here.

* :func:`rank_albums` / :func:`rank_artists` / :func:`rank_tracks` order
  Spotify proposals for a search result by the matching engine's confidence
  (:func:`soulsync.core.matching.match_score`), with year and track count as
  tie-breakers for albums.
* :func:`pair_album` pairs an album's files with the Spotify album's tracks by
  disc and track number, title similarity and duration, and reports the files
  and tracks left over, so the user sees them before anything is written.
* :func:`matched_tracks` fills every Spotify track with the album-level
  metadata post-processing writes (album artist, per-disc track totals, disc
  total, year, album id) and :func:`merge_isrcs` adds ISRCs learnt from full
  track objects (an album's own track list carries none).
"""
from __future__ import annotations

from soulsync.core.search_run import SearchCancelled

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from rapidfuzz import fuzz

from soulsync.core.matching import MATCH_THRESHOLD, explain_match, match_score
from soulsync.core.models import Album, Artist, Track
from soulsync.core.normalize import normalize_artist
from soulsync.core.pathparse import parse_path
from soulsync.core.search import ResultAlbum, ResultTrack

PAIR_THRESHOLD = 0.55
"""A file and a track with a pair score below this are not paired."""

_DURATION_TOLERANCE_S = 3.0
_DURATION_RELATIVE = 0.01
_DURATION_CONTRADICTS_S = 15.0
# how much agreeing track numbers lift a title score towards 1, by what the durations say
_NUMBER_LIFT = {"confirmed": 0.6, "unknown": 0.4, "contradicts": 0.15}
_PARTIAL_NUMBER_LIFT = 0.2      # the number agrees with a track of some disc, the file names no disc
_NUMBER_MISMATCH = 0.85         # both numbers known and different: a re-ordered edition can still pair by title
_GENERIC_BASE = {"confirmed": 0.8, "unknown": 0.6, "contradicts": 0.1}
"""A file named only by its number: how far an agreeing number goes, by what the durations say."""
_PARTIAL_GENERIC = 0.8          # ... when the number may belong to another disc
_GENERIC_TITLE = re.compile(r"^(?:audio\s*)?(?:track|piste|titel|pista)?\s*\d*$", re.IGNORECASE)
"""File titles that name nothing (``Track 03``, ``03``, ``AudioTrack 3``)."""

_VARIOUS = frozenset({"various artists", "various", "va", "v a"})
_YEAR_CLOSE = 0.97              # the years differ by one (a release late in the year, a reissue date)
_YEAR_DIFFERENT = 0.85          # a reissue, a remaster, or another album
_COUNT_WEIGHT = 0.25            # how much a different track count lowers an album's score
_FIT_WEIGHT = 0.6               # how much the pairing's fit weighs once an album's tracks are known


# ----------------------------------------------------------------------------- files


@dataclass(slots=True)
class AlbumFile:
    """One file of an album as the pairing sees it."""

    ref: Any
    """What the caller gets back in a :class:`Pair` (a ``ResultTrack``, a path...)."""
    name: str
    """The file name, for display."""
    title: str
    """The title guessed from the file's name or tags."""
    artist: str = ""
    track_number: int | None = None
    disc_number: int | None = None
    duration_ms: int | None = None


def _bare_number(title: str) -> int | None:
    """A file named only by its number (``03.ogg``): that number is its track number."""
    text = title.strip()
    return int(text) if text.isdigit() and len(text) <= 3 else None


def album_file_from_result(track: ResultTrack) -> AlbumFile:
    """An :class:`AlbumFile` from a search result's track (path guesses, announced length)."""
    guess = track.guess
    length = track.file.length
    number = track.track_number if track.track_number is not None else _bare_number(guess.title)
    return AlbumFile(ref=track, name=track.name, title=guess.title, artist=guess.artist,
                     track_number=number, disc_number=track.disc_number,
                     duration_ms=length * 1000 if length else None)


def album_file_from_path(path: str, duration_ms: int | None = None, ref: Any = None) -> AlbumFile:
    """An :class:`AlbumFile` from a local or remote path (its guesses) and an optional duration."""
    guess = parse_path(path)
    name = re.split(r"[\\/]", path)[-1]
    number = guess.track_number if guess.track_number is not None else _bare_number(guess.title)
    return AlbumFile(ref=path if ref is None else ref, name=name, title=guess.title, artist=guess.artist,
                     track_number=number, disc_number=guess.disc_number, duration_ms=duration_ms)


# ----------------------------------------------------------------------------- pairing


@dataclass(slots=True)
class Pair:
    """A file and the Spotify track it is."""

    file: AlbumFile
    track: Track
    score: float
    """Confidence in [0, 1]."""
    reason: str
    """The evidence in words: ``track 3, title 1.00, length Δ1s``."""


@dataclass(slots=True)
class Pairing:
    """The outcome of :func:`pair_album`."""

    pairs: list[Pair] = field(default_factory=list)
    """In the album's track order."""
    unpaired_files: list[AlbumFile] = field(default_factory=list)
    """Files that are none of the album's tracks (bonus tracks, another edition, junk)."""
    unpaired_tracks: list[Track] = field(default_factory=list)
    """Tracks of the album without a file."""

    @property
    def fit(self) -> float:
        """How well the files and the album agree, in [0, 1]: pair confidence over the larger side."""
        size = max(len(self.pairs) + len(self.unpaired_files), len(self.pairs) + len(self.unpaired_tracks))
        return sum(p.score for p in self.pairs) / size if size else 0.0

    @property
    def complete(self) -> bool:
        """Every file and every track has its partner."""
        return bool(self.pairs) and not self.unpaired_files and not self.unpaired_tracks


@dataclass(slots=True)
class _Slot:
    """A Spotify track's place in its album."""

    track: Track
    disc: int
    number: int | None
    absolute: int
    """1-based position over all discs."""


def _album_order(tracks: Sequence[Track]) -> list[_Slot]:
    order = sorted(range(len(tracks)),
                   key=lambda i: (tracks[i].disc_number or 1, tracks[i].track_number or 10_000, i))
    return [_Slot(tracks[i], tracks[i].disc_number or 1, tracks[i].track_number, n + 1)
            for n, i in enumerate(order)]


def _durations(a_ms: int | None, b_ms: int | None) -> tuple[str, float | None]:
    """``confirmed``, ``unknown`` or ``contradicts``, and the difference in seconds."""
    if not a_ms or not b_ms:
        return "unknown", None
    a, b = a_ms / 1000.0, b_ms / 1000.0
    diff = abs(a - b)
    if diff <= _DURATION_TOLERANCE_S + _DURATION_RELATIVE * max(a, b):
        return "confirmed", diff
    if diff >= _DURATION_CONTRADICTS_S:
        return "contradicts", diff
    return "unknown", diff


def _numbers(f: AlbumFile, slot: _Slot, multi_disc: bool) -> str:
    """``exact``, ``partial``, ``mismatch`` or ``unknown``: what the track numbers say."""
    n = f.track_number
    if n is None or slot.number is None:
        return "unknown"
    # numbering that runs on over the discs (CD2\14 - Title.flac for disc 2, track 4)
    runs_on = multi_disc and n == slot.absolute and n != slot.number
    if f.disc_number is not None:
        same_disc = f.disc_number == slot.disc
        return "exact" if same_disc and (n == slot.number or runs_on) else "mismatch"
    if not multi_disc:
        return "exact" if n == slot.number else "mismatch"
    if runs_on:
        return "exact"
    return "partial" if n == slot.number else "mismatch"


_LEADING_NUMBER = re.compile(r"^\s*(?:\d{1,2}[-.])?\d{1,3}(?:\s*[-._)]\s*|\s+)")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _title_variants(f: AlbumFile, t: Track) -> list[str]:
    """The file's name without its number and without pieces naming the track's artists.

    The path guesser can take a title for an artist (``12 - Fall Me Down - Live``)
    or an artist for a number (``4 Crimson Feather - Lucky Feather``); within one
    album the track's own artists tell which name pieces to drop.
    """
    variants: list[str] = []
    stem = _LEADING_NUMBER.sub("", _EXTENSION.sub("", f.name).replace("_", " ")).strip()
    if not stem:
        return variants
    names = {normalize_artist(a) for a in t.artists if a}
    names.discard("")
    pieces = [p for p in re.split(r"\s+-\s+", stem) if p.strip()]
    kept = [p for p in pieces if normalize_artist(_LEADING_NUMBER.sub("", p)) not in names]
    for text in (stem, " - ".join(kept)):
        folded = normalize_artist(text)
        for name in names:
            if folded.startswith(name + " "):
                text = " ".join(text.split()[len(name.split()):])
                break
        if text and text != f.title and text not in variants:
            variants.append(text)
    return variants


def _pair_score(f: AlbumFile, slot: _Slot, multi_disc: bool) -> tuple[float, float, str]:
    """``(score, duration difference for tie-breaks, reason)`` of one file as one track."""
    t = slot.track
    numbers = _numbers(f, slot, multi_disc)
    durations, diff = _durations(f.duration_ms, t.duration_ms)
    generic = not f.title.strip() or bool(_GENERIC_TITLE.match(f.title.strip()))
    if generic:
        base = _GENERIC_BASE[durations]
        score = {"exact": base, "partial": base * _PARTIAL_GENERIC}.get(numbers, 0.0)
        title_note = "title unknown"
    else:
        # the guessed title with the guessed artist, then name variants credited like the track
        artists = [f.artist] if f.artist and f.artist.casefold() not in _VARIOUS else list(t.artists)
        # (one album on both sides: the album is no evidence here)
        reference = Track(t.title, list(t.artists), album=t.album, duration_ms=t.duration_ms)
        title = match_score(Track(f.title, artists, album=t.album, duration_ms=f.duration_ms), reference)
        for variant in _title_variants(f, t):
            if title >= 1.0:
                break
            title = max(title, match_score(Track(variant, list(t.artists), album=t.album,
                                                 duration_ms=f.duration_ms), reference))
        if numbers == "exact":
            score = title + (1.0 - title) * _NUMBER_LIFT[durations]
        elif numbers == "partial":
            score = title + (1.0 - title) * _PARTIAL_NUMBER_LIFT
        elif numbers == "mismatch":
            score = title * _NUMBER_MISMATCH
        else:
            score = title
        title_note = f"title {title:.2f}"
    number_note = {"exact": f"track {f.track_number}", "partial": f"track {f.track_number} (disc?)",
                   "mismatch": f"track {f.track_number} ≠ {slot.number}", "unknown": "no track number"}[numbers]
    length_note = "length ?" if diff is None else f"length Δ{diff:.0f}s"
    return min(1.0, score), (diff if diff is not None else 1e9), f"{number_note}, {title_note}, {length_note}"


def pair_album(files: Sequence[AlbumFile], tracks: Sequence[Track],
               threshold: float = PAIR_THRESHOLD) -> Pairing:
    """Pair each file with the album track it is, at most one file per track.

    Every file is scored against every track (numbers, the matching engine's
    title and length comparison), then pairs are taken best first: score, then
    the closer duration (two tracks with one title, on two discs or as a bonus
    version), then album order. Pairs below ``threshold`` are not made.
    """
    slots = _album_order(tracks)
    multi_disc = len({s.disc for s in slots}) > 1
    scored: list[tuple[float, float, int, int, str]] = []
    for fi, f in enumerate(files):
        for si, slot in enumerate(slots):
            score, diff, reason = _pair_score(f, slot, multi_disc)
            if score >= threshold:
                scored.append((score, diff, fi, si, reason))
    scored.sort(key=lambda x: (-x[0], x[1], x[3], x[2]))
    file_taken: set[int] = set()
    slot_pair: dict[int, Pair] = {}
    for score, _diff, fi, si, reason in scored:
        if fi in file_taken or si in slot_pair:
            continue
        file_taken.add(fi)
        slot_pair[si] = Pair(files[fi], slots[si].track, score, reason)
    return Pairing(
        pairs=[slot_pair[si] for si in sorted(slot_pair)],
        unpaired_files=[f for fi, f in enumerate(files) if fi not in file_taken],
        unpaired_tracks=[s.track for si, s in enumerate(slots) if si not in slot_pair],
    )


# ----------------------------------------------------------------------------- proposals


@dataclass(slots=True)
class AlbumGuess:
    """What a search result says about its album: the starting point of a Spotify search."""

    artist: str
    album: str
    year: int | None = None
    track_count: int = 0


def album_guess_from_result(album: ResultAlbum) -> AlbumGuess:
    """The album guess of a grouped search result (folder name first, then file names)."""
    return AlbumGuess(album.artist, album.album, album.year, album.track_count)


def wanted_from_result(track: ResultTrack) -> Track:
    """The track a single search result seems to be, from its path guesses and announced length."""
    guess = track.guess
    length = track.file.length
    return Track(title=guess.title, artists=[guess.artist] if guess.artist else [], album=guess.album,
                 duration_ms=length * 1000 if length else None, track_number=track.track_number,
                 disc_number=track.disc_number, year=guess.year)


def _quoted(value: str) -> str:
    return '"' + value.replace('"', " ").strip() + '"'


def _known_artist(name: str) -> str:
    return "" if name.strip().casefold() in _VARIOUS else name.strip()


def album_queries(artist: str, album: str) -> list[str]:
    """Spotify album search queries, most specific first (field filters, then free text)."""
    artist, album = _known_artist(artist), album.strip()
    queries = []
    if artist and album:
        queries.append(f"album:{_quoted(album)} artist:{_quoted(artist)}")
        queries.append(f"{artist} {album}")
    if album:
        queries.append(f"album:{_quoted(album)}")
    return list(dict.fromkeys(q for q in queries if q.strip()))


def track_queries(artist: str, title: str) -> list[str]:
    """Spotify track search queries, most specific first."""
    artist, title = _known_artist(artist), title.strip()
    queries = []
    if artist and title:
        queries.append(f"track:{_quoted(title)} artist:{_quoted(artist)}")
        queries.append(f"{artist} {title}")
    if title:
        queries.append(f"track:{_quoted(title)}")
    return list(dict.fromkeys(queries))


@dataclass(slots=True)
class AlbumProposal:
    """A Spotify album proposed for a search result."""

    album: Album
    score: float
    """Confidence in [0, 1]: the name's, refined by the pairing once the album's tracks are known."""
    reason: str
    name_score: float = 0.0
    """The confidence from names, year and track count alone."""
    pairing: Pairing | None = None


def score_album(guess: AlbumGuess, album: Album) -> tuple[float, str]:
    """How likely ``album`` is the guessed one, from its name, artist, year and track count."""
    artist = _known_artist(guess.artist)
    score = match_score(Track(guess.album, [artist] if artist else []), Track(album.title, list(album.artists)))
    notes = [f"name {score:.2f}"]
    if guess.year and album.year:
        gap = abs(guess.year - album.year)
        if gap:
            score *= _YEAR_CLOSE if gap == 1 else _YEAR_DIFFERENT
        notes.append("same year" if not gap else f"year {album.year}")
    total = album.total_tracks or len(album.tracks)
    if guess.track_count and total:
        ratio = min(guess.track_count, total) / max(guess.track_count, total)
        score *= (1.0 - _COUNT_WEIGHT) + _COUNT_WEIGHT * ratio
        notes.append(f"{total} tracks for {guess.track_count} files")
    return score, ", ".join(notes)


def rank_albums(guess: AlbumGuess, albums: Iterable[Album], limit: int = 10) -> list[AlbumProposal]:
    """Spotify albums as proposals for ``guess``, best first; the same album id only once."""
    seen: set[str] = set()
    out: list[AlbumProposal] = []
    for album in albums:
        key = album.spotify_id or f"{album.artist}|{album.title}|{album.year}"
        if key in seen:
            continue
        seen.add(key)
        score, reason = score_album(guess, album)
        out.append(AlbumProposal(album, score, reason, score))
    out.sort(key=lambda p: -p.score)
    return out[:limit]


def refine(proposal: AlbumProposal, files: Sequence[AlbumFile]) -> AlbumProposal:
    """The proposal re-scored with its album's tracks paired to ``files`` (``album.tracks`` must be filled)."""
    pairing = pair_album(files, proposal.album.tracks)
    fit = pairing.fit
    score = proposal.name_score * ((1.0 - _FIT_WEIGHT) + _FIT_WEIGHT * fit)
    missing = len(pairing.unpaired_tracks)
    reason = (f"{proposal.reason}; {len(pairing.pairs)} of {len(files)} files paired"
              + (f", {missing} track{'s' if missing != 1 else ''} without a file" if missing else ""))
    return replace(proposal, score=score, reason=reason, pairing=pairing)


def rank_artists(name: str, artists: Iterable[Artist], limit: int = 5) -> list[tuple[Artist, float]]:
    """Spotify artists for a guessed artist name, best first (normalised name similarity)."""
    wanted = normalize_artist(name)
    seen: set[str] = set()
    out: list[tuple[Artist, float]] = []
    for artist in artists:
        key = artist.spotify_id or artist.name
        if key in seen:
            continue
        seen.add(key)
        other = normalize_artist(artist.name)
        score = 1.0 if wanted and wanted == other else fuzz.ratio(wanted, other) / 100.0
        out.append((artist, score))
    out.sort(key=lambda x: -x[1])
    return out[:limit]


def rank_tracks(wanted: Track, tracks: Iterable[Track], limit: int = 10) -> list[tuple[Track, float]]:
    """Spotify tracks for a single file, best first, by the matching engine; one entry per track id."""
    seen: set[str] = set()
    out: list[tuple[Track, float]] = []
    for track in tracks:
        key = track.spotify_id or track.display()
        if key in seen:
            continue
        seen.add(key)
        out.append((track, match_score(wanted, track)))
    out.sort(key=lambda x: -x[1])
    return out[:limit]


# ----------------------------------------------------------------------------- metadata


def matched_tracks(album: Album, tracks: Iterable[Track] | None = None) -> list[Track]:
    """``tracks`` (default: all of the album's) with the album's metadata filled in for tagging.

    Album title and id, album artist, year, disc number, per-disc track total
    (``TRACKTOTAL`` counts the tracks of the track's own disc), disc total, and
    the album's first genre where the track has none.
    """
    per_disc = Counter(t.disc_number or 1 for t in album.tracks)
    disc_total = max([album.disc_total or 1, *per_disc.keys()]) if per_disc else (album.disc_total or 1)
    genre = album.genres[0] if album.genres else ""
    out = []
    for t in album.tracks if tracks is None else tracks:
        disc = t.disc_number or 1
        out.append(replace(
            t,
            artists=list(t.artists),
            spotify_artist_ids=list(t.spotify_artist_ids),
            album=album.title or t.album,
            album_artist=album.artist or t.album_artist or t.artist,
            disc_number=disc,
            track_total=per_disc.get(disc) or t.track_total,
            disc_total=disc_total,
            year=album.year or t.year,
            genre=t.genre or genre,
            spotify_album_id=album.spotify_id or t.spotify_album_id,
        ))
    return out


def merge_isrcs(tracks: Iterable[Track], full: Iterable[Track]) -> list[Track]:
    """``tracks`` with ISRCs taken from full track objects of the same Spotify id."""
    isrcs = {t.spotify_id: t.isrc for t in full if t.spotify_id and t.isrc}
    return [t if t.isrc or t.spotify_id not in isrcs else replace(t, isrc=isrcs[t.spotify_id]) for t in tracks]


# ----------------------------------------------------------------------------- searching Spotify

STRONG_PROPOSAL = 0.9
"""A proposal this good ends the search for more (no further, vaguer queries)."""
REFINED_PROPOSALS = 4
"""How many of the best albums have their tracks read and paired before the user chooses."""
_ARTIST_FALLBACK = 0.8
"""An artist name at least this similar is searched for its albums when album searches find nothing good."""
_MAX_ISRC_PAGES = 6
_MAX_ISRC_LOOKUPS = 40


class CatalogClient(Protocol):
    """What the matched download needs from Spotify (``soulsync.services.spotify.SpotifyClient``)."""

    def search_albums(self, query: str, limit: int = ..., offset: int = ...) -> list[Album]: ...

    def search_tracks(self, query: str, limit: int = ..., offset: int = ...) -> list[Track]: ...

    def search_artists(self, query: str, limit: int = ..., offset: int = ...) -> list[Artist]: ...

    def album(self, album_id: str) -> Album: ...

    def artist_albums(self, artist_id: str) -> list[Album]: ...


Cancel = Callable[[], bool]


def _check(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise SearchCancelled()


def find_albums(client: CatalogClient, guess: AlbumGuess, files: Sequence[AlbumFile],
                cancel: Cancel | None = None, limit: int = 10) -> list[AlbumProposal]:
    """Spotify albums for an album search result, best first.

    Searches by album and artist, then freer queries while nothing is strong;
    when still nothing matches, the best-named artist's releases. The best
    :data:`REFINED_PROPOSALS` albums are read in full and paired with ``files``
    (their score then includes the pairing's fit); the rest follow unread.
    """
    albums: list[Album] = []
    ranked: list[AlbumProposal] = []
    for query in album_queries(guess.artist, guess.album):
        _check(cancel)
        albums.extend(client.search_albums(query, limit=10))
        ranked = rank_albums(guess, albums, limit)
        if ranked and ranked[0].score >= STRONG_PROPOSAL:
            break
    artist = _known_artist(guess.artist)
    if artist and (not ranked or ranked[0].score < MATCH_THRESHOLD):
        _check(cancel)
        artists = rank_artists(artist, client.search_artists(artist, limit=5))
        if artists and artists[0][1] >= _ARTIST_FALLBACK and artists[0][0].spotify_id:
            _check(cancel)
            albums.extend(client.artist_albums(artists[0][0].spotify_id))
            ranked = rank_albums(guess, albums, limit)
    read = []
    for proposal in ranked[:REFINED_PROPOSALS]:
        _check(cancel)
        read.append(load_album(client, proposal, files))
    read.sort(key=lambda p: -p.score)
    return read + ranked[REFINED_PROPOSALS:]


def load_album(client: CatalogClient, proposal: AlbumProposal, files: Sequence[AlbumFile]) -> AlbumProposal:
    """The proposal with its album read in full (all tracks) and paired with ``files``."""
    album = proposal.album
    if album.spotify_id and not album.tracks:
        album = client.album(album.spotify_id)
    return refine(replace(proposal, album=album), files)


@dataclass(slots=True)
class TrackProposal:
    """A Spotify track proposed for a single file."""

    track: Track
    score: float
    reason: str


def find_tracks(client: CatalogClient, wanted: Track, cancel: Cancel | None = None,
                limit: int = 10) -> list[TrackProposal]:
    """Spotify tracks for a single search result, best first by the matching engine."""
    found: list[Track] = []
    ranked: list[tuple[Track, float]] = []
    for query in track_queries(wanted.artist, wanted.title):
        _check(cancel)
        found.extend(client.search_tracks(query, limit=10))
        ranked = rank_tracks(wanted, found, limit)
        if ranked and ranked[0][1] >= STRONG_PROPOSAL:
            break
    return [TrackProposal(t, s, explain_match(wanted, t)) for t, s in ranked]


def find_isrcs(client: CatalogClient, album: Album, tracks: Sequence[Track],
               cancel: Cancel | None = None) -> list[Track]:
    """``tracks`` of ``album`` with ISRCs filled from full track objects.

    An album's own track list carries no ISRC, so the album's tracks are
    searched (``album:… artist:…``, page by page) and any still missing are
    looked up one by one (at most :data:`_MAX_ISRC_LOOKUPS`). Tracks that
    cannot be found keep no ISRC.
    """
    missing = {t.spotify_id for t in tracks if t.spotify_id and not t.isrc}
    if not missing:
        return list(tracks)
    full: list[Track] = []
    artist = _known_artist(album.artist)
    query = f"album:{_quoted(album.title)}" + (f" artist:{_quoted(artist)}" if artist else "")
    for page in range(_MAX_ISRC_PAGES):
        _check(cancel)
        batch = client.search_tracks(query, limit=10, offset=page * 10)
        full.extend(batch)
        missing -= {t.spotify_id for t in batch if t.isrc}
        if not missing or len(batch) < 10:
            break
    for track in [t for t in tracks if t.spotify_id in missing][:_MAX_ISRC_LOOKUPS]:
        _check(cancel)
        query = f"track:{_quoted(track.title)} album:{_quoted(album.title)}"
        full.extend(client.search_tracks(query + (f" artist:{_quoted(artist)}" if artist else ""), limit=10))
    return merge_isrcs(tracks, full)

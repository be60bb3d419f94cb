"""Soulseek results for a wanted track: which files are that recording, best first.

:func:`search_files_from_responses` reads raw slskd search responses into files;
:func:`rank_search_results` judges each file's path (folders, file name, length)
against the wanted track and orders the accepted :class:`Candidate` s by score,
quality and peer.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from soulsync.core.slskd_responses import read_response
from soulsync.core.match_keys import _Prepared, _prepare
from soulsync.core.matching import (
    MATCH_THRESHOLD,
    STRONG_MATCH,
    _ARTIST_KNEE,
    _FILE_SCALE,
    _TRANSLITERATED,
    _UNCREDITED_FEATURE,
    _duration_factor,
    _duration_note,
    _length_confirms,
    _sharpen_title,
    _title_similarity,
    _version_factor,
    _word_similarity,
)
from soulsync.core.models import SearchFile, SearchFileFacts, Track
from soulsync.core.normalize import artist_keys, compact, fold, normalize_artist, split_artists, transliterate
from soulsync.core.peers import finish_class, finish_seconds
from soulsync.core.quality import QualityPrefs, extension_of, is_audio, quality_key, quality_label
from soulsync.core.titles import kinds_of, parse_album, parse_title
from soulsync.core.version_tags import VersionKind, VersionTag, classify_qualifier


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
        peer = read_response(response)
        if peer is None:
            skipped += 1
            continue
        username, has_free_slot, speed, queue = peer.username, peer.has_free_slot, peer.upload_speed, peer.queue_length
        for entry in peer.files:
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

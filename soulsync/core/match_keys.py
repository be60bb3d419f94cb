"""A track prepared for the scorer: its normalised title, artist, album and length keys, computed once.

:func:`_prepare` turns a :class:`~soulsync.core.models.Track` into the flat :class:`_Prepared`
tuple that :mod:`soulsync.core.matching` compares, :mod:`soulsync.core.library_index` indexes
and :mod:`soulsync.core.result_ranking` reads Soulseek paths against.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

from soulsync.core.models import Track
from soulsync.core.normalize import (
    artist_keys,
    compact,
    has_other_script,
    normalize_artist,
    normalize_isrc,
    split_artists,
    transliterate,
)
from soulsync.core.titles import kinds_of, parse_album, parse_title, title_shape
from soulsync.core.version_tags import VersionKind, VersionTag


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

"""Sort keys and filters for Soulseek search results, as the results view offers them.

Sort keys and ``FilterSpec`` work on both item types (``ResultAlbum`` and
``ResultTrack``) through the same attributes, so a Qt proxy model can call them
per row cheaply. Every sort key orders the natural way first when sorted
ascending: most relevant, best quality, largest, fastest, most available, A to Z.
"""
from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Callable

from soulsync.core.quality import DEFAULT_QUALITY_ORDER, quality_key
from soulsync.core.search import ResultAlbum, ResultItem
from soulsync.core.search_text import query_terms, searchable


FORMAT_FILTERS = ("FLAC", "MP3", "OGG", "AAC/M4A", "WAV", "Other")
"""The format families a ``FilterSpec`` can select (``quality.format_family`` names)."""
class SortBy(str, enum.Enum):
    """The orders the results view offers."""

    RELEVANCE = "relevance"
    QUALITY = "quality"
    SIZE = "size"
    SPEED = "speed"
    AVAILABILITY = "availability"
    """Free upload slot first, then the shortest peer queue."""
    NAME = "name"


def relevance_key(query: str) -> Callable[[ResultItem], tuple]:
    """Sort key for relevance to ``query``: most relevant first when sorted ascending.

    Ranks by how many query terms occur in the item's path (accent and case
    folded), then how many occur as whole words, then how many occur in the
    item's own name (file name; the album and artist folders), then the
    shorter name (fewer words beyond the query).
    """
    terms, _ = query_terms(query)
    padded = tuple(f" {t} " for t in terms)
    pairs = tuple(zip(terms, padded))

    def key(item: ResultItem) -> tuple:
        # The name is part of the path (and whole words in it are whole words there too), so terms
        # settled by the short name never need the full text, which is costly to build for albums.
        name = item.name_text
        found = words = in_name = 0
        text = None
        for term, spaced in pairs:
            if term in name:
                found += 1
                in_name += 1
                if spaced in name:
                    words += 1
                    continue
            if text is None:
                text = item.text
            if term not in name:
                if term not in text:
                    continue
                found += 1
            if spaced in text:
                words += 1
        return (-found, -words, -in_name, len(name))

    return key


@functools.lru_cache(maxsize=8192)
def _cached_quality_key(ext: str, bitrate: int | None, bit_depth: int | None, sample_rate: int | None,
                        vbr: bool | None, order: tuple[str, ...]) -> tuple:
    return quality_key(ext, bitrate, bit_depth, sample_rate, vbr, list(order))


def quality_sort_key(order: list[str] | None = None) -> Callable[[ResultItem], tuple]:
    """Sort key for quality in the user's order (``QualityPrefs.order``): best first ascending.

    An album is judged by its dominant format and that format's mean bitrate,
    most common bit depth and sample rate.
    """
    frozen = tuple(order or DEFAULT_QUALITY_ORDER)

    def key(item: ResultItem) -> tuple:
        return _cached_quality_key(item.ext, item.bitrate, item.bit_depth, item.sample_rate,
                                   item.is_vbr, frozen)

    return key


def _size_key(item: ResultItem) -> tuple:
    return (-item.size,)


def _speed_key(item: ResultItem) -> tuple:
    return (-item.upload_speed,)


def _availability_key(item: ResultItem) -> tuple:
    return (not item.has_free_slot, item.queue_length, -item.upload_speed)


def _name_key(item: ResultItem) -> tuple:
    return (" ".join(searchable(item.display_name).split()),)


def sort_key(by: SortBy, query: str = "", order: list[str] | None = None) -> Callable[[ResultItem], tuple]:
    """The key function for one order; sorted ascending it puts the natural first row first.

    Works for albums and tracks alike. For a proxy model, compute the key once
    per row when the order changes and compare the stored tuples.
    """
    if by is SortBy.RELEVANCE:
        return relevance_key(query)
    if by is SortBy.QUALITY:
        return quality_sort_key(order)
    return {
        SortBy.SIZE: _size_key,
        SortBy.SPEED: _speed_key,
        SortBy.AVAILABILITY: _availability_key,
        SortBy.NAME: _name_key,
    }[by]


class ResultKind(str, enum.Enum):
    """Which rows a ``FilterSpec`` keeps: albums (and their tracks), singles, or both."""

    ALBUMS = "albums"
    SINGLES = "singles"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """What the results view shows; build a new one when the user changes a filter.

    ``formats`` holds ``FORMAT_FILTERS`` names (empty: any format). An album is
    judged by its dominant format and, for ``min_bitrate``, by its lowest
    dominant-format bitrate. Lossless files always pass ``min_bitrate``; a lossy
    file that announced no bitrate fails it. Each ``text`` word must start a
    word of the folded path (album: its folder and every track name), so a
    half-typed word already matches; ``-word`` hides items with a word starting
    so. Tracks inside an album count as album rows for ``kind``.
    """

    kind: ResultKind = ResultKind.BOTH
    formats: frozenset[str] = frozenset()
    min_bitrate: int = 0
    lossless_only: bool = False
    free_slot_only: bool = False
    text: str = ""
    include: tuple[str, ...] = field(init=False, repr=False, compare=False)
    exclude: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        include, exclude = query_terms(self.text)
        object.__setattr__(self, "include", tuple(f" {w}" for w in include))
        object.__setattr__(self, "exclude", tuple(f" {w}" for w in exclude))

    @property
    def is_empty(self) -> bool:
        """True when every item passes (the view can skip filtering)."""
        return (self.kind is ResultKind.BOTH and not self.formats and not self.min_bitrate
                and not self.lossless_only and not self.free_slot_only
                and not self.include and not self.exclude)

    def matches(self, item: ResultItem) -> bool:
        """Whether the item passes every filter."""
        if self.kind is not ResultKind.BOTH:
            is_album_row = isinstance(item, ResultAlbum) or item.in_album
            if is_album_row != (self.kind is ResultKind.ALBUMS):
                return False
        if self.formats and item.family not in self.formats:
            return False
        if self.lossless_only and not item.lossless:
            return False
        if self.min_bitrate and not item.lossless:
            low = item.min_bitrate
            if low is None or low < self.min_bitrate:
                return False
        if self.free_slot_only and not item.has_free_slot:
            return False
        text = item.text
        for word in self.include:
            if word not in text:
                return False
        for word in self.exclude:
            if word in text:
                return False
        return True

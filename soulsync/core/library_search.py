"""Finding a wanted track's library match by hand (the Fix match… workflow), and storing the choice.

:class:`LibrarySearch` looks library tracks up for a typed query, best match
for the wanted track first; :func:`open_library_search` builds one from the
store; :func:`save_library_choice` stores what the user decided as an override
(``Store.set_override``) that every later analysis honours, or removes it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from soulsync.core.library_index import LibraryIndex
from soulsync.core.matching import match_score
from soulsync.core.models import Track
from soulsync.core.search_text import searchable
from soulsync.core.store import Store
from soulsync.core.store_records import wanted_key
from soulsync.core.analysis import library_key

LIBRARY_RESULTS = 50
_TEXT_HITS = 500
"""Plain-text library hits considered per query (the best by match are shown)."""


@dataclass(frozen=True, slots=True)
class LibraryChoice:
    """What the user decided for a wanted track's library match (already stored)."""

    track: Track | None
    """The library track chosen; None for "not in library" and for "back to automatic"."""
    library_key: str | None
    automatic: bool = False
    """The override was removed: the matcher decides again."""

    @property
    def not_in_library(self) -> bool:
        return self.track is None and not self.automatic


def query_track(text: str) -> Track | None:
    """A typed ``Artist - Title`` (or just a title) as a Track to look up in the library index."""
    text = text.strip()
    if not text:
        return None
    artist, sep, title = text.partition(" - ")
    if sep and artist.strip() and title.strip():
        return Track(title.strip(), [artist.strip()])
    return Track(text, [])


class LibrarySearch:
    """Look library tracks up for a wanted track and a typed query: the index, then plain words.

    The index finds the track a query names (``Artist - Title``); the word
    scan finds anything whose artist, title or album contains every typed word
    (so half-typed words work). Hits are ordered by how well they match the
    wanted track. Thread-safe; the word texts are built on first use.
    """

    def __init__(self, tracks: Sequence[Track], index: LibraryIndex | None = None) -> None:
        self.tracks = list(tracks)
        self.index = index if index is not None else LibraryIndex(self.tracks)
        self._texts: list[str] | None = None
        self._lock = threading.Lock()

    def _words(self) -> list[str]:
        with self._lock:
            if self._texts is None:
                self._texts = [searchable(f"{' '.join(t.artists)} {t.title} {t.album}") for t in self.tracks]
            return self._texts

    def find(self, wanted: Track, query: str, limit: int = LIBRARY_RESULTS,
             cancelled: Callable[[], bool] = lambda: False) -> list[tuple[Track, float]]:
        """The best library tracks for ``query`` (``wanted`` itself when the query is empty)."""
        hits: dict[str, Track] = {}
        asked = query_track(query) or wanted
        for track, _score in self.index.search(asked, limit):
            hits.setdefault(library_key(track), track)
        words = searchable(query).split()
        if words:
            for n, text in enumerate(self._words()):
                if n % 20_000 == 0 and cancelled():
                    return []
                if all(w in text for w in words):
                    track = self.tracks[n]
                    hits.setdefault(library_key(track), track)
                    if len(hits) >= _TEXT_HITS:
                        break
        scored = [(t, match_score(wanted, t)) for t in hits.values()]
        scored.sort(key=lambda x: (-x[1], x[0].artist.casefold(), x[0].title.casefold()))
        return scored[:limit]


def open_library_search(store: Store, source: str, wanted: Track, tracks: Sequence[Track] | None = None,
                        index: LibraryIndex | None = None) -> tuple[LibrarySearch, bool]:
    """A search over ``tracks`` (the stored library of ``source`` when None), and whether
    ``wanted`` has an override already. Reads SQLite: run it off the GUI thread."""
    library = LibrarySearch(tracks if tracks is not None else store.library_tracks(source), index)
    return library, wanted_key(wanted) in store.overrides()


def save_library_choice(store: Store, wanted: Track, choice: LibraryChoice) -> LibraryChoice:
    """Store ``choice`` for ``wanted`` (or remove the override for "back to automatic"); returns it."""
    if choice.automatic:
        store.clear_override(wanted)
    else:
        store.set_override(wanted, choice.library_key)
    return choice

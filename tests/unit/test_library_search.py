"""Fixing a library match by hand (core, no Qt): the typed search and the stored choice."""
from __future__ import annotations

from soulsync.core.library_search import (
    LibraryChoice, LibrarySearch, open_library_search, query_track, save_library_choice,
)
from soulsync.core.models import Track
from soulsync.core.store import Store
from soulsync.core.store_records import wanted_key
from soulsync.core.analysis import library_key

LIBRARY = [Track("Hey Jude", ["The Beatles"], album="Past Masters", path="/m/hey.flac"),
           Track("Let It Be", ["The Beatles"], album="Let It Be", path="/m/let.flac"),
           Track("Jude's Song", ["Someone Else"], album="Other", path="/m/jude.flac")]


def test_query_track_reads_artist_dash_title_or_a_bare_title():
    assert query_track("  ") is None
    assert query_track("The Beatles - Hey Jude") == Track("Hey Jude", ["The Beatles"])
    assert query_track("Hey Jude") == Track("Hey Jude", [])
    assert query_track(" - Hey Jude") == Track("- Hey Jude", [])


def test_half_typed_words_find_every_track_holding_them_best_match_first():
    wanted = Track("Hey Jude", ["The Beatles"])
    hits = LibrarySearch(LIBRARY).find(wanted, "jud")
    assert [t.title for t, _ in hits][0] == "Hey Jude"
    assert {t.title for t, _ in hits} >= {"Hey Jude", "Jude's Song"}
    assert hits == sorted(hits, key=lambda h: -h[1])


def test_an_empty_query_looks_up_the_wanted_track_and_a_cancelled_scan_finds_nothing():
    wanted = Track("Let It Be", ["The Beatles"])
    assert LibrarySearch(LIBRARY).find(wanted, "")[0][0].title == "Let It Be"
    assert LibrarySearch(LIBRARY).find(wanted, "beatles", cancelled=lambda: True) == []


def test_choices_are_stored_and_back_to_automatic_removes_them(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    try:
        store.replace_library("folder", LIBRARY)
        wanted = Track("Hey Jude (Remastered)", ["The Beatles"])
        library, has_override = open_library_search(store, "folder", wanted)
        assert len(library.tracks) == 3 and not has_override
        chosen = LibraryChoice(LIBRARY[0], library_key(LIBRARY[0]))
        assert save_library_choice(store, wanted, chosen) is chosen
        assert store.overrides()[wanted_key(wanted)] == library_key(LIBRARY[0])
        assert open_library_search(store, "folder", wanted, tracks=LIBRARY[:1])[1]
        save_library_choice(store, wanted, LibraryChoice(None, None))
        assert store.overrides()[wanted_key(wanted)] is None
        assert LibraryChoice(None, None).not_in_library
        save_library_choice(store, wanted, LibraryChoice(None, None, automatic=True))
        assert wanted_key(wanted) not in store.overrides()
    finally:
        store.close()

"""Counts and states read as sentences: "1 file is", never "1 files are"; "Cancelled", never "Cancelled: Cancelled"."""
from __future__ import annotations

import time

from soulsync.core.replace_source import SourceChoice
from soulsync.core.store_records import QueueItem
from soulsync.ui.dialogs.download_correction import sources_found_text
from soulsync.ui.dialogs.library_match import library_found_text
from soulsync.ui.models.queue import state_text
from soulsync.ui.wording import counted


def test_counted_says_one_thing_in_the_singular():
    assert (counted(0, "file"), counted(1, "file"), counted(2, "file")) == ("0 files", "1 file", "2 files")
    assert counted(1200, "library track") == "1,200 library tracks"
    assert counted(2, "match", "matches") == "2 matches"


def test_a_cancelled_download_says_cancelled_once():
    item = QueueItem(id="a", state="cancelled", username="u", filename="f.flac", reason="Cancelled",
                     finished_at=time.time())
    assert state_text(item) == "Cancelled"
    item.reason = "Cancelled in slskd"  # a reason that adds something is still shown
    assert state_text(item) == "Cancelled: Cancelled in slskd"


def test_fix_source_search_counts_read_right():
    one = [SourceChoice("u", "a.flac")]
    assert sources_found_text("song", 1, one) == \
        "“song”: 1 user answered; 1 file is the wanted track (1 not tried yet), best first."
    two = [SourceChoice("u", "a.flac"), SourceChoice("v", "b.flac", tried="timed out")]
    assert sources_found_text("song", 3, two) == \
        "“song”: 3 users answered; 2 files are the wanted track (1 not tried yet), best first."
    assert sources_found_text("song", 1, []).startswith("“song”: 1 user answered, but no file")


def test_fix_match_library_counts_read_right():
    assert library_found_text(1, False) == "1 library track fits, the closest to the wanted track first."
    assert library_found_text(2, True) == ("2 library tracks fit, the closest to the wanted track first. "
                                           "You set this match before.")

"""Replacing a download's source by hand (core, no Qt): the choices shown and the replacement's steps."""
from __future__ import annotations

from soulsync.core.models import Track
from soulsync.core.replace_source import (
    ReplacementStep, SourceChoice, SourceReplacement, source_choices, tried_sources,
)
from soulsync.core.store_records import QueueItem, QueueMeta

WANTED = Track("Song", ["Artist"], album="Album")


def failed_item(**extra) -> QueueItem:
    return QueueItem("q1", "failed", "alice", "Music\\Artist\\01 Song.flac", size=100, wanted=WANTED,
                     source="sync", group_id="g1", tried=[["bob", "b/Song.mp3", "timed out"]],
                     meta=QueueMeta(cover_url="http://cover.example/c.jpg"), finished_at=1.0, **extra)


def test_tried_sources_lists_replaced_attempts_first_and_skips_junk():
    item = failed_item()
    item.meta = QueueMeta.from_json({"earlier_attempts": [["carol", "c/Song.flac", "replaced by you"], ["broken"], 7]})
    assert tried_sources(item) == [("carol", "c/Song.flac", "replaced by you"), ("bob", "b/Song.mp3", "timed out")]


def test_source_choices_leave_out_the_current_file_and_say_why_others_failed():
    item = failed_item()
    entries = [{"username": "alice", "filename": "Music\\Artist\\01 Song.flac"},
               {"username": "bob", "filename": "b/Song.mp3", "score": 0.9},
               {"username": "", "filename": "x"},
               {"username": "dave", "filename": "d/Song.flac", "size": -3, "score": True}]
    choices = source_choices(item, entries)
    assert [(c.username, c.tried) for c in choices] == [("bob", "timed out"), ("dave", "")]
    assert choices[1].size == 0 and choices[1].score is None


def test_request_keeps_the_wanted_track_and_records_the_replaced_attempt():
    item = failed_item()
    choice = SourceChoice("dave", "d/Song.flac", 200, 0.8, "FLAC", "exact")
    tried_before = SourceChoice("bob", "b/Song.mp3", tried="timed out")
    fresh = SourceChoice("erin", "e/Song.flac", 300)
    request = SourceReplacement(item, choice, [choice, tried_before, fresh]).request()
    assert request.files == [("dave", "d/Song.flac", 200)]
    assert request.wanted == WANTED and request.source == "sync" and request.group_id == "g1"
    assert [c["username"] for c in request.candidates] == ["dave", "erin"]
    assert request.meta.cover_url == "http://cover.example/c.jpg"
    assert request.meta.earlier_attempts == (("bob", "b/Song.mp3", "timed out"),
                                             ("alice", "Music\\Artist\\01 Song.flac", "replaced by you"))
    assert item.meta.earlier_attempts == ()


def test_a_finished_attempt_is_removed_once_the_new_file_is_queued():
    replacement = SourceReplacement(failed_item(), SourceChoice("dave", "d/Song.flac"), [])
    assert replacement.queued(True) is ReplacementStep.REMOVE_OLD
    assert replacement.result == (True, "") and replacement.over


def test_a_running_attempt_is_cancelled_then_removed_when_it_has_finished():
    running = failed_item()
    running.finished_at = None
    replacement = SourceReplacement(running, SourceChoice("dave", "d/Song.flac"), [])
    assert replacement.queued(True) is ReplacementStep.CANCEL_OLD
    assert replacement.result == (True, "") and not replacement.over
    assert replacement.old_changed(running) is ReplacementStep.WAIT
    assert replacement.old_changed(failed_item()) is ReplacementStep.REMOVE_OLD
    assert replacement.over
    assert replacement.old_changed(failed_item()) is ReplacementStep.WAIT


def test_a_file_already_queued_ends_the_replacement_and_says_so():
    replacement = SourceReplacement(failed_item(), SourceChoice("dave", "d\\Other.flac"), [])
    assert replacement.queued(False) is ReplacementStep.OVER
    assert replacement.result == (False, "Other.flac from dave is already in the queue.")
    assert replacement.queued(True) is ReplacementStep.WAIT


def test_an_error_before_the_answer_fails_the_replacement_once():
    replacement = SourceReplacement(failed_item(), SourceChoice("dave", "d/Song.flac"), [])
    assert replacement.error("") is ReplacementStep.WAIT
    assert replacement.error("slskd is down") is ReplacementStep.OVER
    assert replacement.result == (False, "slskd is down")
    assert replacement.error("again") is ReplacementStep.WAIT
    assert replacement.result == (False, "slskd is down")


def test_a_timeout_keeps_an_earlier_outcome():
    running = failed_item()
    running.finished_at = None
    replacement = SourceReplacement(running, SourceChoice("dave", "d/Song.flac"), [])
    replacement.queued(True)
    assert replacement.timed_out() is ReplacementStep.OVER
    assert replacement.result == (True, "")
    silent = SourceReplacement(running, SourceChoice("dave", "d/Song.flac"), [])
    silent.timed_out()
    assert silent.result == (False, "The download queue did not answer; see the Downloads page.")

"""Work a killed run left half done is taken up again, never done twice (found by tests/e2e/test_sync_kill.py).

* post-processing after a kill between tagging and moving: the file's size no
  longer matches the announced one, yet it is the same, whole download.
"""
from __future__ import annotations

import dataclasses

import pytest

from soulsync.core.models import Track
from soulsync.core.postprocess import Outcome, PostProcessOptions, PostProcessor, Step
from soulsync.core.tagging import read_tags, write_tags
from tests.audio_fixtures import jpeg_bytes, make_audio

COVER = jpeg_bytes(16, 16, seed=2)
TRACK = Track(title="Song 1", artists=["The Band"], album="Big Album", album_artist="The Band", duration_ms=1000,
              track_number=1, track_total=3, year=2020, spotify_id="trk1", spotify_album_id="alb1",
              spotify_artist_ids=["art1"])


@pytest.fixture()
def processor(tmp_path) -> PostProcessor:
    options = PostProcessOptions(library_dir=tmp_path / "library", quarantine_dir=tmp_path / "quarantine",
                                 cover_cache_dir=tmp_path / "covers")
    return PostProcessor(options, fetch_cover=lambda url: COVER)


# ----------------------------------------------------------------------------- post-processing


def test_a_file_tagged_before_the_kill_is_filed_although_its_size_changed(tmp_path, processor):
    src = make_audio(tmp_path / "downloads" / "01 - Song 1.flac")
    announced = src.stat().st_size
    write_tags(src, TRACK, cover=COVER)  # the killed run got this far
    assert src.stat().st_size != announced
    result = processor.process(src, TRACK, cover_url="https://img/1", expected_size=announced)
    assert result.outcome is Outcome.PLACED, result.reason
    assert "tagged before by an interrupted run" in result.done
    assert read_tags(result.final_path).spotify_id == "trk1"


def test_a_different_size_is_still_refused_when_the_file_is_not_ours(tmp_path, processor):
    src = make_audio(tmp_path / "downloads" / "01 - Song 1.flac")
    announced = src.stat().st_size
    write_tags(src, dataclasses.replace(TRACK, spotify_id="someone-else"))  # a peer's tags, not ours for TRACK
    result = processor.process(src, TRACK, expected_size=announced)
    assert (result.outcome, result.failed_step) == (Outcome.FAILED, Step.VERIFY)
    assert "were expected" in result.reason

"""Tray messages from scheduled runs: grouped and rate-limited, with a fake clock."""
from __future__ import annotations

from soulsync.core.notices import NoticeBatcher, RunNotice


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_notice_goes_out_at_once_then_at_most_one_message_per_gap() -> None:
    clock = Clock()
    batcher = NoticeBatcher(min_gap_s=600, clock=clock)
    batcher.add(RunNotice("Kept playlists", brought=2, detail="2 tracks for “Mix”"))
    first = batcher.take()
    assert first is not None and first.title == "SoulSync: 2 new tracks in your library"
    assert first.body == "Kept playlists: 2 tracks for “Mix”" and not first.attention
    batcher.add(RunNotice("Wishlist", brought=1))
    batcher.add(RunNotice("New releases", attention=1, detail="slskd did not answer"))
    clock.now += 599
    assert batcher.take() is None and batcher.next_due() == 10_600.0
    clock.now += 1
    second = batcher.take()
    assert second is not None and second.attention
    assert second.title == "SoulSync: 1 new track in your library, 1 needs your attention"
    assert second.body.splitlines() == ["Wishlist", "New releases: slskd did not answer"]
    assert batcher.take() is None and batcher.next_due() is None


def test_runs_with_nothing_to_tell_add_nothing_and_many_runs_are_counted_not_listed() -> None:
    clock = Clock()
    batcher = NoticeBatcher(min_gap_s=60, clock=clock)
    batcher.add(RunNotice("Kept playlists"))
    assert batcher.pending == 0 and batcher.take() is None
    for n in range(6):
        batcher.add(RunNotice(f"Run {n}", brought=1))
    message = batcher.take()
    assert message is not None and message.title == "SoulSync: 6 new tracks in your library"
    assert message.body.splitlines()[-1] == "and 2 more runs (see the Dashboard)"
    assert len(message.body.splitlines()) == 5

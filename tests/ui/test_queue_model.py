"""The queue table model repaints only rows whose visible values changed."""
from __future__ import annotations

import dataclasses

from soulsync.core.models import Track
from soulsync.core.store_records import QueueItem
from soulsync.ui.models.queue import COL_STATUS, QueueTableModel, state_text


def make(i: int, **kw) -> QueueItem:
    return QueueItem(id=f"id{i}", state="queued", username=f"user{i}", filename=f"@@s\\Music\\A\\{i:02d} - T.flac",
                     size=1000, **kw)


def test_insert_update_remove_with_minimal_signals(qtbot):
    model = QueueTableModel()
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    assert model.apply([make(i) for i in range(5)]) == (5, 0, 0)
    assert model.rowCount() == 5

    same = [make(i) for i in range(5)]
    assert model.apply(same) == (0, 0, 0)
    assert changed == []

    moved = dataclasses.replace(make(2), state="in_progress", percent=40.0, speed=2048.0, bytes_done=400)
    assert model.apply([moved]) == (0, 1, 0)
    assert changed == [(2, 2)]
    assert model.data(model.index(2, COL_STATUS)) == "Downloading"

    assert model.apply([], removed=["id0", "id4", "unknown"]) == (0, 0, 2)
    assert [model.item(r).id for r in range(model.rowCount())] == ["id1", "id2", "id3"]
    assert model.row_of("id3") == 2


def test_state_words_include_reason_and_queue_place():
    item = make(1, wanted=Track(title="Song", artists=["Band"]))
    item.state, item.place_in_queue = "queued_remotely", 7
    assert state_text(item) == "Queued at peer (#7)"
    item.state, item.reason, item.finished_at = "rejected", "The peer rejected the download", 1.0
    assert state_text(item) == "Rejected by peer: The peer rejected the download"


def test_a_download_slskd_retries_says_so():
    item = make(1, reason="retrying (attempt 2 of 3) after: The connection was closed")
    item.state = "queued_locally"
    assert state_text(item) == "Queued (locally): retrying (attempt 2 of 3) after: The connection was closed"

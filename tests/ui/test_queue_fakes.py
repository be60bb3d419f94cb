"""The Finished tab says when fakes were refused for an item, and which (in the row's tooltip)."""
from __future__ import annotations

from PyQt6.QtCore import Qt

from soulsync.core.store_records import QueueItem, QueueMeta
from soulsync.ui.models.queue import COL_STATUS, QueueTableModel, refused_fakes, state_text

WHY = "FLAC looks transcoded from a lossy source: nothing above 16.0 kHz"
FAKE = ["faker", "@@f\\Music\\A [FLAC]\\01 - T.flac", WHY]


def item(**kw) -> QueueItem:
    base = {"id": "a", "state": "succeeded", "username": "honest", "filename": "@@h\\Music\\A\\01 - T.flac",
            "size": 1, "finished_at": 1.0, "attempt": 2, "tried": [FAKE], "meta": QueueMeta.from_json({"refused": [FAKE]})}
    base.update(kw)
    return QueueItem(**base)


def test_finished_rows_count_refused_fakes(qtbot):
    model = QueueTableModel()
    model.apply([item(), item(id="b", state="failed", reason=f"{WHY} (no other source left after 1 attempt)",
                          username="faker", filename=FAKE[1], attempt=1, meta=QueueMeta.from_json({"refused": [FAKE, FAKE]})),
                 item(id="c", tried=[], meta=QueueMeta())])
    assert model.data(model.index(0, COL_STATUS)) == "Done · 1 fake source refused"
    assert model.data(model.index(1, COL_STATUS)).endswith("· 2 fake sources refused")
    assert model.data(model.index(2, COL_STATUS)) == "Done"
    assert f"tried faker: {WHY}" in model.data(model.index(0, COL_STATUS), Qt.ItemDataRole.ToolTipRole)


def test_active_rows_and_odd_meta_say_nothing_of_fakes():
    assert state_text(item(state="queued", finished_at=None)) == "Waiting"
    assert refused_fakes(item(meta=QueueMeta.from_json({"refused": "nonsense"}))) == []
    assert refused_fakes(item(meta=QueueMeta.from_json({"refused": [["only", "two"], 5]}))) == []

"""The demo's "Hard to Search" playlist through the Sync page, as a user runs it.

Real slskd refuses a search whose every term is one character long and drops
such terms from every query (reference 1.5). The playlist holds an R.E.M.
track (searched as slskd really searches it), a one-character CJK title and an
``X`` / ``7`` single (nothing searchable: said in words, never sent), and an
ordinary track. Download missing must end, with the searchable ones in the
library and no search slskd refused.
"""
from __future__ import annotations

from pathlib import Path

import mutagen
import pytest
from PyQt6.QtCore import Qt

from soulsync.sim.hard_cases import PLAYLIST_NAME
from tests.e2e.conftest import select_playlist


@pytest.fixture(scope="module")
def sim_world(tmp_path_factory):
    """The demo world as ``./scripts/demo`` builds it: with the hard cases."""
    from soulsync.sim.world import SimWorld

    world = SimWorld.start(seed=1, root=tmp_path_factory.mktemp("sim"), time_scale=50.0, hard_cases=True)
    yield world
    world.stop()


@pytest.fixture
def demo_context(demo_context):
    demo_context.settings.downloads.stall_timeout_s = 20.0
    return demo_context


def test_hard_to_search_playlist_download_missing_ends(qtbot, window, demo_context, sim_world, crash_watch):
    page = window.show_page("sync")
    qtbot.waitUntil(lambda: page._refresh_task is None, timeout=30000)
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        page.rescan_library()
    select_playlist(qtbot, page, PLAYLIST_NAME)
    with qtbot.waitSignal(page.analysis_finished, timeout=30000):
        qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    missing = {r.track.title for r in page.track_model.rows if r.status == "missing"}
    assert {"Drive Slow", "愛", "7"} <= missing

    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    dialog = page.download_dialog
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=240000)
    by_title = {t.track.title: t for t in dialog.report.tracks}
    rem = by_title["Drive Slow"]
    assert rem.phase.value == "downloaded", rem.detail
    path = Path(rem.final_path or "")
    assert path.is_file() and Path(sim_world.library_dir).resolve() in path.resolve().parents
    assert (mutagen.File(path, easy=True) or {}).get("artist") == ["R.E.M."]
    for title in ("愛", "7"):
        assert by_title[title].phase.value == "not_found"
        assert "cannot be searched on Soulseek" in by_title[title].detail
    refused = [s for s in sim_world.slskd._searches.values() if s.state == "Completed, Errored"]
    assert not refused, [s.text for s in refused]
    # the dialog's table says why, in words, where the user looks
    texts = [dialog.model.data(dialog.model.index(r, c)) for r in range(dialog.model.rowCount())
             for c in range(dialog.model.columnCount())]
    assert any("cannot be searched" in str(t) for t in texts)


def test_download_missing_before_analyse_analyses_then_opens(qtbot, window, sim_world):
    """Pressing Download missing on a playlist not analysed yet used to do nothing at all."""
    page = window.show_page("sync")
    select_playlist(qtbot, page, PLAYLIST_NAME)
    assert page.download_button.isEnabled()
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(page, "download_dialog", None) is not None, timeout=60000)
    dialog = page.download_dialog
    qtbot.waitUntil(lambda: dialog.model.rowCount() >= 3, timeout=30000)
    wanted = {dialog.model.data(dialog.model.index(r, 0)) for r in range(dialog.model.rowCount())}
    assert {"Drive Slow", "愛", "7"} <= wanted
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=120000)

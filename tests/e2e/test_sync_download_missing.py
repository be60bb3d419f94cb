"""Issue 7's end-to-end path in the demo world: select a playlist, analyse it, Download missing,
and end with tagged files in the library, the Plex sim listing them, the playlist's missing count
down to what genuinely could not be found, and a Plex playlist mirroring it."""
from __future__ import annotations

from pathlib import Path

import mutagen
import pytest
from PyQt6.QtCore import QItemSelectionModel, Qt

from soulsync.core.tagging import read_cover

PLAYLIST = "Chill — Rainy Days"


@pytest.fixture
def demo_context(demo_context):
    """The demo context with a 20 s stall timeout (the shared ``window`` fixture uses it)."""
    demo_context.settings.downloads.stall_timeout_s = 20.0
    return demo_context


def count_scans_and_index_builds(window, monkeypatch) -> tuple[list[str], list[int]]:
    """Record every library scan (refresh or pick-up, not the refresh a pick-up runs inside) and every
    library index built from now on."""
    import threading

    from soulsync.services.library import LibrarySource

    scans: list[str] = []
    inside = threading.local()
    builds: list[int] = []
    index_class = type(window.library.index)
    real_init = index_class.__init__

    def counted_init(self, *args, **kwargs):
        builds.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(index_class, "__init__", counted_init)
    for cls in LibrarySource.__subclasses__():
        for name in ("refresh", "after_download"):
            real = cls.__dict__.get(name)
            if real is None:
                continue

            def counted(self, *args, _real=real, _name=name, **kwargs):
                depth = getattr(inside, "depth", 0)
                if not depth:
                    scans.append(_name)
                inside.depth = depth + 1
                try:
                    return _real(self, *args, **kwargs)
                finally:
                    inside.depth = depth

            monkeypatch.setattr(cls, name, counted)
    return scans, builds


def test_playlist_download_missing_end_to_end(qtbot, window, demo_context, sim_world, monkeypatch):
    page = window.show_page("sync")
    qtbot.waitUntil(lambda: any(p.name == PLAYLIST for p in page.playlist_model.playlists)
                    and page._refresh_task is None, timeout=30000)
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        page.rescan_library()
    library_before = sim_world.plex.track_count()
    users_own = sim_world.plex.playlist_rating_keys(PLAYLIST)  # the user's own playlist of that name

    row = [p.name for p in page.playlist_model.playlists].index(PLAYLIST)
    page.playlist_view.selectionModel().select(page.playlist_model.index(row),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: page.track_model.rowCount() > 0, timeout=5000)
    with qtbot.waitSignal(page.analysis_finished, timeout=30000):
        qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    missing_before = [r for r in page.track_model.rows if r.status == "missing"]
    assert missing_before, "the demo playlist should miss some tracks"

    scans, builds = count_scans_and_index_builds(window, monkeypatch)
    seen_statuses = set()
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    dialog = page.download_dialog
    dialog.track_progress.connect(lambda _p: seen_statuses.update(r.status for r in page.track_model.rows))
    assert dialog.mirror_box.isChecked()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=240000)
    report = dialog.report
    p = report.progress
    # one batch of downloads: the library picked the files up in one scan, and the index was built once
    assert scans == ["after_download"] and len(builds) == 1, (scans, builds)
    assert p.total == len({(r.track.spotify_id or r.track.title) for r in missing_before})
    assert p.downloaded > 0, report.summary()

    # the files are tagged from Spotify's metadata, in the library folder
    library = Path(sim_world.library_dir).resolve()
    placed = [Path(t.final_path) for t in report.tracks if t.final_path]
    assert len(placed) == p.downloaded
    for track_progress in (t for t in report.tracks if t.final_path):
        path = Path(track_progress.final_path).resolve()
        assert library in path.parents and path.exists()
        tags = mutagen.File(path, easy=True)
        assert tags is not None and track_progress.track.title in tags.get("title", [""])[0]
        assert read_cover(path), f"no cover art embedded in {path.name}"

    # the page's own table followed the run live
    assert {"queued", "downloaded"} <= seen_statuses or {"downloading", "downloaded"} <= seen_statuses, seen_statuses

    # Plex lists the new tracks
    assert sim_world.plex.track_count() >= library_before + p.downloaded

    # analysed again once the library picked up the files: only what could not be found is missing
    got = {t.track.title for t in report.tracks if t.final_path}
    qtbot.waitUntil(lambda: page._analysis_task is None and all(
        r.status == "owned" for r in page.track_model.rows if r.track.title in got), timeout=60000)
    still_missing = [r for r in page.track_model.rows if r.status == "missing"]
    assert len(still_missing) == p.not_found + p.failed + p.cancelled
    wishlisted = {t.title for t, _reason, _n in demo_context.store.wishlist()}
    assert {r.track.title for r in still_missing} <= wishlisted

    # and a Plex playlist mirrors it: the owned tracks, in order, beside the user's own playlist of that name,
    # which is left as it was; the dialog says so
    owned = [r for r in page.track_model.rows if r.status == "owned"]
    assert len(sim_world.plex.playlist_rating_keys(f"{PLAYLIST} (SoulSync)")) == len(owned)
    assert sim_world.plex.playlist_rating_keys(PLAYLIST) == users_own
    assert f"Your own Plex playlist '{PLAYLIST}' (not made by SoulSync) was left untouched" in dialog.counts.text()
    qtbot.waitUntil(lambda: any(f"'{PLAYLIST}' (not made by SoulSync) was left untouched" in a["message"]
                                for a in demo_context.store.activity()), timeout=10000)

    # and it exports as M3U8 with paths relative to the playlist file
    target = Path(sim_world.library_dir) / "export.m3u8"
    page.write_m3u8(target, PLAYLIST)
    qtbot.waitUntil(lambda: target.exists() and "Wrote" in page.summary_label.text(), timeout=10000)
    entries = [ln for ln in target.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    assert len(entries) == len(owned) and all(not e.startswith("/") for e in entries)

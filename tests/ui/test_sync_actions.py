"""The Sync page's actions, driven as a person would: Import and Export (the file chooser answered as
a person would answer it), Cancel of a running analysis, Fix match by double-click and by button."""
from __future__ import annotations

import threading

import pytest
from PyQt6.QtCore import QItemSelectionModel, Qt
from PyQt6.QtWidgets import QFileDialog

from soulsync.core import analysis as core_analysis
from soulsync.core import download_missing as core_download_missing
from soulsync.core import sync_run as core_sync_run
from soulsync.core.models import Playlist, Track
from soulsync.ui.main_window import MainWindow
from soulsync.ui.models.playlists import RowRole


def song(title: str, path: str | None = None) -> Track:
    return Track(title=title, artists=["Band"], album="Album", duration_ms=200_000, path=path)


@pytest.fixture
def sync_page(qtbot, app_context, tmp_path):
    """Road trip (three songs, two of them in the folder library), shown on the Sync page."""
    library = tmp_path / "library"
    app_context.settings.downloads.library_dir = str(library)
    app_context.store.save_playlist_tracks(Playlist(id="csv:road", name="Road trip", source="csv",
                                                    tracks=[song("Alpha"), song("Beta"), song("Gamma")]))
    app_context.store.replace_library("folder", [song("Alpha", str(library / "Band" / "01 - Alpha.flac")),
                                                 song("Beta", str(library / "Band" / "02 - Beta.flac"))])
    window = MainWindow(app_context, check_services=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.library.ready, timeout=10000)
    page = window.show_page("sync")
    qtbot.waitUntil(lambda: page.playlist_model.rowCount() >= 1, timeout=5000)
    row = [p.name for p in page.playlist_model.playlists].index("Road trip")
    index = page.playlist_model.index(row)
    qtbot.mouseClick(page.playlist_view.viewport(), Qt.MouseButton.LeftButton,
                     pos=page.playlist_view.visualRect(index).center())
    qtbot.waitUntil(lambda: page.track_model.rowCount() == 3, timeout=5000)
    return window, page


def analyse(qtbot, page) -> None:
    with qtbot.waitSignal(page.analysis_finished, timeout=10000):
        qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)


def test_export_writes_the_owned_tracks_to_the_file_chosen(qtbot, sync_page, monkeypatch, tmp_path):
    _window, page = sync_page
    analyse(qtbot, page)
    target = tmp_path / "out" / "Road trip.m3u8"
    target.parent.mkdir()
    asked: list[str] = []

    def choose(_parent, _title, start, _filter):
        asked.append(start)
        return str(target), "M3U8 playlists (*.m3u8)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.summary_label.text().startswith("Wrote"), timeout=5000)
    assert asked and asked[0].endswith("Road trip.m3u8")
    text = target.read_text(encoding="utf-8")
    assert "01 - Alpha.flac" in text and "02 - Beta.flac" in text and "Gamma" not in text
    assert page.summary_label.text() == f"Wrote 2 tracks to {target}"


def test_import_adds_the_chosen_playlist_file(qtbot, sync_page, monkeypatch, tmp_path):
    _window, page = sync_page
    csv = tmp_path / "Party.csv"
    csv.write_text("Track Name,Artist Name(s),Album Name\nDelta,Band,Album\nEpsilon,Band,Album\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *_args: ([str(csv)], "Playlists (*.csv *.m3u *.m3u8)")))
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(p.name == "Party" for p in page.playlist_model.playlists), timeout=5000)
    party = next(p for p in page.playlist_model.playlists if p.name == "Party")
    assert party.source == "csv"


def test_cancel_stops_a_running_analysis(qtbot, sync_page, monkeypatch, request):
    _window, page = sync_page
    started, test_over = threading.Event(), threading.Event()
    request.addfinalizer(test_over.set)  # an analysis that never saw the Cancel still ends with the test
    real_analyse = core_analysis.analyse

    def analyse_until_cancelled(*args, cancel, **kwargs):
        """The analysis of a big playlist: it goes on until the user cancels it."""
        started.set()
        while not cancel() and not test_over.is_set():
            threading.Event().wait(0.01)
        return real_analyse(*args, cancel=cancel, **kwargs)

    monkeypatch.setattr(core_sync_run, "analyse", analyse_until_cancelled)
    qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: started.is_set() and page.cancel_button.isVisible(), timeout=5000)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page._analysis_task is None, timeout=10000)
    assert not page.cancel_button.isVisible() and page.analyse_button.isEnabled()
    assert "csv:road" not in page.context.store.playlist_analysis(), "a cancelled analysis is not saved"


def track_index(page, title: str):
    proxy = page.track_proxy
    return next(proxy.index(r, 0) for r in range(proxy.rowCount())
                if proxy.data(proxy.index(r, 0), RowRole).track.title == title)


@pytest.mark.parametrize("how", ["double-click", "Fix button"])
def test_fix_match_opens_the_library_match_for_the_track(qtbot, sync_page, how):
    _window, page = sync_page
    analyse(qtbot, page)
    index = track_index(page, "Gamma")
    view = page.track_view
    pos = view.visualRect(index).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    if how == "double-click":
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    else:
        qtbot.mouseClick(page.fix_button, Qt.MouseButton.LeftButton)
    dialog = page.fix_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.wanted.title == "Gamma"
    dialog.reject()


@pytest.fixture
def slskd_sim_page(qtbot, demo_context, tmp_path):
    """Road trip on the Sync page with slskd (the demo world's) set up; Gamma is missing."""
    demo_context.settings.library.source = "folder"
    demo_context.settings.downloads.library_dir = str(tmp_path / "library")
    demo_context.settings.spotify.client_id = ""  # the demo's Spotify playlists are not needed here
    demo_context.store.save_playlist_tracks(Playlist(id="csv:road", name="Road trip", source="csv",
                                                     tracks=[song("Alpha"), song("Beta"), song("Gamma")]))
    demo_context.store.replace_library("folder", [song("Alpha", str(tmp_path / "library" / "a.flac")),
                                                  song("Beta", str(tmp_path / "library" / "b.flac"))])
    window = MainWindow(demo_context, check_services=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.library.ready, timeout=10000)
    page = window.show_page("sync")
    qtbot.waitUntil(lambda: any(p.name == "Road trip" for p in page.playlist_model.playlists), timeout=5000)
    row = [p.name for p in page.playlist_model.playlists].index("Road trip")
    page.playlist_view.selectionModel().select(page.playlist_model.index(row),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: page.track_model.rowCount() == 3, timeout=5000)
    analyse(qtbot, page)
    return page


def test_cancel_in_the_download_missing_dialog_stops_the_run(qtbot, slskd_sim_page, monkeypatch, request):
    page = slskd_sim_page
    real_run = core_download_missing.DownloadMissing.run
    waiting, test_over = threading.Event(), threading.Event()
    request.addfinalizer(test_over.set)  # a run that never saw the Cancel still ends with the test

    def run_until_cancelled(self):
        """A run with much to do: it is still going when the user presses Cancel."""
        waiting.set()
        while not self._is_cancelled() and not test_over.is_set():
            threading.Event().wait(0.01)
        return real_run(self)

    monkeypatch.setattr(core_download_missing.DownloadMissing, "run", run_until_cancelled)
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    dialog = page.download_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and waiting.is_set(), timeout=10000)
    assert dialog.running and dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.cancel_button.isEnabled() and dialog.counts.text().startswith("Cancelling")
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=30000)
    progress = dialog.report.progress
    assert progress.cancelled == progress.total == 1 and progress.downloaded == 0, dialog.report.summary()
    dialog.accept()

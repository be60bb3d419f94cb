""""Open folder" starts the file manager with an argument list, no shell, and only inside the roots.

A folder name full of shell syntax must reach the file manager as one argument, unchanged; a folder
outside the download and library folders (also by ``..`` or a symlink) is refused without starting
anything. The shell-syntax name used with a *real* process only ever creates marker files, so a
broken implementation cannot do harm while the test runs.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PyQt6.QtCore import QItemSelectionModel, QObject, Qt, pyqtSignal

from soulsync.core.store_records import QueueItem
from soulsync.ui.widgets.queue_panel import FolderRefused, QueuePanel, open_folder

NASTY = """; rm -rf ~ $(x) "q'"""


class Recorder:
    """Stands in for :class:`subprocess.Popen`: records the command and the options."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, dict]] = []

    def __call__(self, cmd: object, **kwargs: object) -> str:
        self.calls.append((cmd, kwargs))
        return "started"


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    downloads, library = tmp_path / "downloads", tmp_path / "library"
    downloads.mkdir()
    library.mkdir()
    return downloads, library


@pytest.mark.parametrize("platform,program", [("linux", "xdg-open"), ("darwin", "open"), ("win32", "explorer")])
def test_the_folder_is_one_argument_and_no_shell_is_used(roots, monkeypatch, platform: str, program: str):
    folder = roots[0] / NASTY
    folder.mkdir()
    monkeypatch.setattr(sys, "platform", platform)
    launch = Recorder()
    assert open_folder(folder, [str(roots[0])], launch) == "started"
    [(cmd, options)] = launch.calls
    assert cmd == [program, str(folder.resolve())]
    assert options["shell"] is False and options["stdin"] == subprocess.DEVNULL


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a stand-in xdg-open shell script")
def test_a_real_file_manager_process_receives_the_name_unchanged(roots, tmp_path, monkeypatch):
    marker_name = """; touch pwned $(touch pwned2) `touch pwned3` "q'"""
    folder = roots[1] / "Artist" / marker_name
    folder.mkdir(parents=True)
    bin_dir, record = tmp_path / "bin", tmp_path / "argv.txt"
    bin_dir.mkdir()
    fake = bin_dir / "xdg-open"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$#" "$@" > "{record}"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    process = open_folder(folder, [roots[0], roots[1]])
    assert process is not None and process.wait(timeout=10) == 0
    assert record.read_text().splitlines() == ["1", str(folder.resolve())]
    assert list(work.iterdir()) == []  # no pwned files: nothing was run by a shell


def test_folders_outside_the_roots_are_refused(roots, tmp_path, monkeypatch):
    downloads, library = roots
    elsewhere = tmp_path / "elsewhere" / NASTY
    elsewhere.mkdir(parents=True)
    (downloads / "link").symlink_to(elsewhere, target_is_directory=True)
    launch = Recorder()
    for folder in (elsewhere, downloads / ".." / "elsewhere", downloads / "link", Path("/")):
        with pytest.raises(FolderRefused, match="outside the download and library folders"):
            open_folder(folder, [downloads, library], launch)
    monkeypatch.chdir(tmp_path)  # a blank root must not mean "the current folder"
    with pytest.raises(FolderRefused):
        open_folder(elsewhere, ["", "  "], launch)
    assert launch.calls == []


def test_folders_inside_either_root_are_opened(roots):
    launch = Recorder()
    for root in roots:
        (root / "Album").mkdir()
        assert open_folder(root / "Album", roots, launch) == "started"
        assert open_folder(root, roots, launch) == "started"
    assert open_folder(roots[0] / "missing", roots, launch) is None  # nothing to show
    assert len(launch.calls) == 4


class FakeDownloadService(QObject):
    """What QueuePanel needs of the DownloadService: its signals and the app context."""

    diff_ready = pyqtSignal(object)
    error = pyqtSignal(str)
    filing = pyqtSignal(str)

    def __init__(self, context, downloads_reported_by_slskd: Path | None = None) -> None:
        super().__init__()
        self.context = context
        self.built_queue = (SimpleNamespace(known_downloads_dir=downloads_reported_by_slskd)
                            if downloads_reported_by_slskd else None)

    def clear_finished(self) -> None:
        """The panel connects its button to this; these tests never press it."""


def test_the_queue_panel_opens_the_item_folder_only_inside_the_roots(qtbot, app_context, roots, tmp_path,
                                                                     monkeypatch):
    downloads, library = roots
    app_context.settings.downloads.download_dir = str(downloads)
    app_context.settings.downloads.library_dir = str(library)
    inside = library / NASTY
    inside.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    launch = Recorder()
    monkeypatch.setattr(subprocess, "Popen", launch)
    monkeypatch.setattr(sys, "platform", "linux")
    panel = QueuePanel(FakeDownloadService(app_context))
    qtbot.addWidget(panel)
    panel.load([QueueItem(id=f"i{n}", state="succeeded", username="peer", filename=f"{n}.flac",
                          final_path=str(folder / "01 - Song.flac"), finished_at=float(10 - n))
                 for n, folder in enumerate((inside, outside))])
    panel.tabs.setCurrentIndex(1)

    def open_row(row: int) -> None:
        panel.finished_view.selectionModel().select(
            panel.finished_model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)

    open_row(0)
    assert [cmd for cmd, _ in launch.calls] == [["xdg-open", str(inside.resolve())]]
    assert panel.error_label.text() == ""
    open_row(1)
    assert len(launch.calls) == 1
    assert "outside the download and library folders" in panel.error_label.text()


def test_with_no_download_folder_set_the_one_slskd_reported_is_allowed(qtbot, app_context, tmp_path, monkeypatch):
    reported = tmp_path / "slskd-downloads"  # the setting is empty: the queue asked slskd
    (reported / "Album").mkdir(parents=True)
    attention = app_context.needs_attention_dir
    attention.mkdir(parents=True)
    app_context.settings.downloads.download_dir = ""
    app_context.settings.downloads.library_dir = ""
    launch = Recorder()
    monkeypatch.setattr(subprocess, "Popen", launch)
    monkeypatch.setattr(sys, "platform", "linux")
    panel = QueuePanel(FakeDownloadService(app_context, downloads_reported_by_slskd=reported))
    qtbot.addWidget(panel)
    panel.load([QueueItem(id=f"i{n}", state=state, username="peer", filename=f"{n}.flac",
                          local_path=str(folder / "01 - Song.flac"), finished_at=float(10 - n))
                for n, (state, folder) in enumerate((("succeeded", reported / "Album"), ("failed", attention)))])
    panel.tabs.setCurrentIndex(1)
    for row in (0, 1):
        panel.finished_view.selectionModel().select(
            panel.finished_model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert [cmd for cmd, _ in launch.calls] == [["xdg-open", str((reported / "Album").resolve())],
                                                ["xdg-open", str(attention.resolve())]]
    assert panel.error_label.text() == ""

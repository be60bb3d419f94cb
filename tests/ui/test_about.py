"""The About dialog, opened from the main window: version, the app's folders, the licences."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QApplication, QLabel, QPushButton

from soulsync import __version__
from soulsync.app import build_parser
from soulsync.ui.dialogs.about import TERMS_ROW, AboutDialog
from soulsync.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, app_context):
    win = MainWindow(app_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.mark.parametrize("how", ["button", "F1"])
def test_main_window_opens_about(qtbot, window, how, crash_watch):
    seen: list[AboutDialog] = []

    def close_it() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, AboutDialog):
            seen.append(dialog)
            dialog.grab()  # painted once, themed, under crash_watch
            dialog.reject()

    QTimer.singleShot(0, close_it)
    if how == "button":
        qtbot.mouseClick(window.findChild(QPushButton, "about_button"), Qt.MouseButton.LeftButton)
    else:
        qtbot.keyClick(window, Qt.Key.Key_F1)
    assert len(seen) == 1


def test_about_names_version_folders_and_licences(qtbot, app_paths):
    dialog = AboutDialog(app_paths)
    qtbot.addWidget(dialog)
    assert __version__ in dialog.findChild(QLabel, "PageTitle").text()
    assert dialog.folders["settings"].text() == str(app_paths.config_file)
    assert dialog.folders["data"].text() == str(app_paths.data_dir)
    assert dialog.folders["log"].text() == str(app_paths.log_dir)

    table = dialog.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(0, 0).text() == TERMS_ROW
    assert "GNU General Public License version 3" in dialog.text.toPlainText()
    for needed in ("soulsync", "PyQt6", "PyQt6-Qt6", "certifi", "requests"):
        assert needed in rows, needed
    assert table.item(rows["PyQt6"], 2).text() == "GPL-3.0-only"
    table.selectRow(rows["PyQt6"])
    assert "GNU GENERAL PUBLIC LICENSE" in dialog.text.toPlainText()
    table.selectRow(rows["PyQt6-Qt6"])
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in dialog.text.toPlainText()


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"SoulSync {__version__}\n"

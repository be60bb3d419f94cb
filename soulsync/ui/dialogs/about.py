"""About SoulSync: the version, where its files live, and the licences of everything it is made of."""
from __future__ import annotations

import platform

from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR, Qt
from PyQt6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QSplitter,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from soulsync import __version__
from soulsync.config import AppPaths
from soulsync.licenses import Component, components, distribution_terms
from soulsync.ui.theme import app_icon

TERMS_ROW = "Terms of distribution"


class AboutDialog(QDialog):
    """Version and folders on the first tab; components, their licences and texts on the second."""

    def __init__(self, paths: AppPaths, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About SoulSync")
        self.setObjectName("about_dialog")
        self.resize(760, 560)
        layout = QVBoxLayout(self)

        header = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        header.addWidget(icon)
        titles = QVBoxLayout()
        title = QLabel(f"SoulSync {__version__}")
        title.setObjectName("PageTitle")
        subtitle = QLabel("Keep your Plex music library complete: Spotify playlists in, "
                          "missing tracks found on Soulseek through slskd.")
        subtitle.setObjectName("PageSubtitle")
        subtitle.setWordWrap(True)
        titles.addWidget(title)
        titles.addWidget(subtitle)
        header.addLayout(titles, 1)
        layout.addLayout(header)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._folders_tab(paths), "About")
        self.tabs.addTab(self._licences_tab(components()), "Licences")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _folders_tab(self, paths: AppPaths) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.folders: dict[str, QLabel] = {}
        for key, caption, where in (
            ("settings", "Settings", paths.config_file),
            ("data", "Queue, library index, history", paths.data_dir),
            ("cache", "Image and preview caches", paths.cache_dir),
            ("log", "Log and crash reports", paths.log_dir),
        ):
            label = QLabel(str(where))
            label.setObjectName(f"about_{key}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(caption, label)
            self.folders[key] = label
        secrets = QLabel("Secrets are kept in the system keyring (or secrets.json beside the settings, "
                         "readable only by you, where there is no keyring).")
        secrets.setProperty("muted", True)
        secrets.setWordWrap(True)
        form.addRow(secrets)
        runtime = QLabel(f"Python {platform.python_version()}, Qt {QT_VERSION_STR}, PyQt {PYQT_VERSION_STR}")
        runtime.setProperty("muted", True)
        form.addRow("Running on", runtime)
        return tab

    def _licences_tab(self, parts: list[Component]) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        summary = QLabel("SoulSync's own code is under the MIT licence. It is built on PyQt6 (GPL v3), so "
                         "SoulSync distributed together with it, as the standalone bundle is, is distributed "
                         "under the GNU GPL v3 as a whole. Pick a row to read the texts.")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        self._texts: list[str] = [distribution_terms()]
        self.table = QTableWidget(len(parts) + 1, 3)
        self.table.setObjectName("licences_table")
        self.table.setHorizontalHeaderLabels(["Component", "Version", "Licence"])
        rows_header, header = self.table.verticalHeader(), self.table.horizontalHeader()
        assert rows_header is not None and header is not None
        rows_header.setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setItem(0, 0, QTableWidgetItem(TERMS_ROW))
        self.table.setItem(0, 2, QTableWidgetItem("GPL-3.0-only (the bundle as a whole)"))
        for row, part in enumerate(parts, start=1):
            for column, value in enumerate((part.name, part.version, part.license)):
                self.table.setItem(row, column, QTableWidgetItem(value))
            self._texts.append("\n\n".join(f"── {name} ──\n\n{text}" for name, text in part.texts)
                               or f"{part.name} ships no licence text; its licence: {part.license}.")
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.text = QPlainTextEdit()
        self.text.setObjectName("licence_text")
        self.text.setReadOnly(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.text)
        layout.addWidget(splitter, 1)
        self.table.currentCellChanged.connect(lambda row, *_: self.text.setPlainText(self._texts[row])
                                              if 0 <= row < len(self._texts) else None)
        self.table.selectRow(0)
        return tab

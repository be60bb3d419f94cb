"""Downloads page."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QWidget

from soulsync.context import AppContext
from soulsync.ui.pages.base import Page


class DownloadsPage(Page):
    page_id = "downloads"
    title = "Downloads"
    subtitle = "Search Soulseek and manage the download queue"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        note = QLabel("This page is under construction.")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setProperty("muted", True)
        self.body.addWidget(note, 1)

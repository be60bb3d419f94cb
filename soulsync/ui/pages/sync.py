"""Sync page."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QWidget

from soulsync.context import AppContext
from soulsync.ui.pages.base import Page


class SyncPage(Page):
    page_id = "sync"
    title = "Sync"
    subtitle = "Spotify playlists compared with your library"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        note = QLabel("This page is under construction.")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setProperty("muted", True)
        self.body.addWidget(note, 1)

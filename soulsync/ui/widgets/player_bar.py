"""The bottom player bar. Preview playback (issue 8) fills it; idle it shows what is playing: nothing."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from soulsync.context import AppContext


class PlayerBar(QFrame):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("PlayerBar")
        self.setFixedHeight(64)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 8, 16, 8)
        info = QVBoxLayout()
        info.setSpacing(0)
        self.title_label = QLabel("Nothing playing")
        self.detail_label = QLabel("Press ▶ on a search result to preview it")
        self.detail_label.setProperty("muted", True)
        info.addWidget(self.title_label)
        info.addWidget(self.detail_label)
        row.addLayout(info, 2)
        self.play_button = QPushButton("▶")
        self.play_button.setObjectName("player_play")
        self.play_button.setEnabled(False)
        self.play_button.setFixedWidth(44)
        row.addWidget(self.play_button)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setEnabled(False)
        row.addWidget(self.position, 3)
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setProperty("muted", True)
        row.addWidget(self.time_label)

    def shutdown(self) -> None:
        """Stop playback and clean the preview cache (the preview player extends this)."""

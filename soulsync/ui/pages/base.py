"""Common frame of every page: a title row and a body layout."""
from __future__ import annotations

from typing import Any, Callable

from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from soulsync.context import AppContext
from soulsync.ui.widgets.fitting import FlowLayout


SUBTITLE_LEAST_HEIGHT = 600
"""Page height (px) from which the subtitle under the page title is shown."""


class Page(QWidget):
    """A page of the main window. Subclasses fill ``self.body`` and may override :meth:`on_shown`."""

    page_id = "page"
    title = "Page"
    subtitle = ""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.download_service: Any = None
        """The app's download service (:class:`~soulsync.ui.download_service.DownloadService`), given by the
        main window; None for a page on its own (its download actions then do nothing)."""
        self.activity_feed: Any = None
        """The activity feed, given by the main window (None for a page on its own)."""
        self._status_bar: Callable[[str], Any] | None = None
        self.setObjectName(f"page_{self.page_id}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 18)
        outer.setSpacing(14)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        heading = QLabel(self.title)
        heading.setObjectName("PageTitle")
        titles.addWidget(heading)
        self.subtitle_label: QLabel | None = None
        if self.subtitle:
            self.subtitle_label = QLabel(self.subtitle)
            self.subtitle_label.setObjectName("PageSubtitle")
            self.subtitle_label.setWordWrap(True)
            titles.addWidget(self.subtitle_label)
        header.addLayout(titles, 1)
        self.header_actions = FlowLayout()
        header.addLayout(self.header_actions)
        outer.addLayout(header)
        self.body = QVBoxLayout()
        self.body.setSpacing(12)
        outer.addLayout(self.body, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.subtitle_label is not None:  # in a low window its line goes to the page's own views
            self.subtitle_label.setVisible(event.size().height() >= SUBTITLE_LEAST_HEIGHT)

    def on_shown(self) -> None:
        """Called each time the page becomes the visible one."""

    def set_status_bar(self, show_message: Callable[[str], Any]) -> None:
        """Where :meth:`announce` says things too (the main window passes its status bar's)."""
        self._status_bar = show_message

    def announce(self, text: str) -> None:
        """Say ``text`` in the main window's status bar too (errors and retries shown on the page)."""
        if self._status_bar is not None:
            self._status_bar(text)

"""The download queue view: Active and Finished tabs, updated by diff from the DownloadService."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable, cast

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QTabWidget, QVBoxLayout,
    QWidget,
)

from soulsync.core.queue_model import QueueDiff, QueueState
from soulsync.core.store_records import QueueItem
from soulsync.ui.models.queue import COL_PROGRESS, ItemRole, ProgressRole, QueueTableModel
from soulsync.ui.theme import ERROR
from soulsync.ui.widgets.progress_delegate import ProgressDelegate

log = logging.getLogger(__name__)

_RETRYABLE = frozenset({QueueState.FAILED, QueueState.CANCELLED})
_UNFIXABLE = frozenset({QueueState.PROCESSING, QueueState.SUCCEEDED})
"""Being filed or filed already: no source to replace."""


class FolderRefused(ValueError):
    """The folder lies outside the folders SoulSync may open."""


def open_folder(path: Path, roots: Iterable[Path | str],
                launch: Callable[..., subprocess.Popen] | None = None) -> subprocess.Popen | None:
    """Show the folder ``path`` in the system file manager, if it lies inside one of ``roots``
    (the download and library folders; blank entries are ignored).

    The file manager gets the folder as one element of an argument list, with no shell, so no
    character of a folder name can become a command. Returns the started process, or None when the
    folder is missing or the file manager could not be started (logged); raises :class:`FolderRefused`
    for a folder outside the roots. ``launch`` (default :class:`subprocess.Popen`) is for tests.
    """
    folder = Path(path).expanduser().resolve()
    allowed = [Path(root).expanduser().resolve() for root in roots if str(root).strip()]
    if not any(folder.is_relative_to(root) for root in allowed):
        log.warning("Not opening %s: it is outside the download and library folders", folder)
        raise FolderRefused(f"{folder} is outside the download and library folders; SoulSync opens only those")
    if not folder.is_dir():
        log.info("Not opening %s: no such folder", folder)
        return None
    if sys.platform.startswith("darwin"):
        cmd = ["open", str(folder)]
    elif sys.platform.startswith("win"):
        cmd = ["explorer", str(folder)]
    else:
        cmd = ["xdg-open", str(folder)]
    try:
        return (launch or subprocess.Popen)(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, shell=False, close_fds=True)
    except OSError as exc:
        log.warning("Could not open %s: %s", folder, exc)
        return None


class QueuePanel(QWidget):
    fix_requested = pyqtSignal(object)
    """The user wants to pick another source for this QueueItem by hand."""

    def __init__(self, service, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("queue_tabs")
        self.active_model = QueueTableModel(self)
        self.finished_model = QueueTableModel(self)
        self.active_view = self._table(self.active_model, "queue_active")
        self.finished_view = self._table(self.finished_model, "queue_finished")
        self.tabs.addTab(self.active_view, "Active")
        self.tabs.addTab(self.finished_view, "Finished")
        layout.addWidget(self.tabs, 1)

        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("queue_cancel")
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("queue_retry")
        self.fix_button = QPushButton("Fix…")
        self.fix_button.setObjectName("queue_fix")
        self.fix_button.setToolTip("Search again by hand and pick the right file for this track")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("queue_remove")
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setObjectName("queue_clear")
        self.open_button = QPushButton("Open folder")
        self.open_button.setObjectName("queue_open")
        self.error_label = QLabel("")
        self.error_label.setObjectName("queue_error")
        self.error_label.setStyleSheet(f"color: {ERROR}; background: transparent;")
        for b in (self.cancel_button, self.retry_button, self.fix_button, self.remove_button, self.clear_button,
                  self.open_button):
            buttons.addWidget(b)
        buttons.addWidget(self.error_label, 1)
        layout.addLayout(buttons)

        self.cancel_button.clicked.connect(lambda: self.service.cancel(self._selected_ids(self.active_view)))
        self.retry_button.clicked.connect(lambda: self.service.retry(self._selected_ids(self.finished_view)))
        self.remove_button.clicked.connect(self._remove)
        self.fix_button.clicked.connect(self._fix)
        self.clear_button.clicked.connect(self.service.clear_finished)
        self.open_button.clicked.connect(self._open)
        self.tabs.currentChanged.connect(self._update_buttons)
        for view in (self.active_view, self.finished_view):
            view.selectionModel().selectionChanged.connect(self._update_buttons)
        service.diff_ready.connect(self.apply_diff)
        service.error.connect(self._show_error)
        service.filing.connect(self._show_filing)
        self._update_buttons()

    def _table(self, model: QueueTableModel, name: str) -> QTableView:
        view = QTableView()
        view.setObjectName(name)
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setAlternatingRowColors(True)
        view.verticalHeader().setVisible(False)
        view.verticalHeader().setDefaultSectionSize(26)
        view.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(ProgressRole, view))
        header = view.horizontalHeader()
        for col, width in enumerate((280, 120, 220, 120, 90, 60, 80, 80)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        return view

    def load(self, items: list[QueueItem]) -> None:
        """Fill both tabs from a full list (at start)."""
        self.active_model.reset_items([i for i in items if not i.finished])
        self.finished_model.reset_items(sorted((i for i in items if i.finished),
                                               key=lambda i: i.finished_at or 0, reverse=True))
        self._update_titles()
        self._update_buttons()

    def apply_diff(self, diff: QueueDiff) -> None:
        active: list[QueueItem] = []
        finished: list[QueueItem] = []
        for item in diff.changed.values():
            (finished if item.finished else active).append(item)
        moved_out = [i.id for i in finished if self.active_model.row_of(i.id) is not None]
        back_in = [i.id for i in active if self.finished_model.row_of(i.id) is not None]
        self.active_model.apply(active, removed=[*diff.removed, *moved_out])
        self.finished_model.apply(finished, removed=[*diff.removed, *back_in])
        self._update_titles()
        self._update_buttons()

    def _update_titles(self) -> None:
        self.tabs.setTabText(0, f"Active ({self.active_model.rowCount()})")
        self.tabs.setTabText(1, f"Finished ({self.finished_model.rowCount()})")

    def _selected_ids(self, view: QTableView) -> list[str]:
        return [view.model().data(i, ItemRole).id for i in view.selectionModel().selectedRows()]

    def _selected_items(self) -> list[QueueItem]:
        view = cast(QTableView, self.tabs.currentWidget())
        return [view.model().data(i, ItemRole) for i in view.selectionModel().selectedRows()]

    def _update_buttons(self) -> None:
        on_active = self.tabs.currentIndex() == 0
        selected = self._selected_items()
        self.cancel_button.setEnabled(on_active and bool(selected))
        self.retry_button.setEnabled(not on_active and any(i.state in _RETRYABLE for i in selected))
        self.remove_button.setEnabled(not on_active and bool(selected))
        self.fix_button.setEnabled(len(selected) == 1 and selected[0].state not in _UNFIXABLE)
        self.clear_button.setEnabled(self.finished_model.rowCount() > 0)
        self.open_button.setEnabled(any(i.final_path or i.local_path for i in selected))

    def _fix(self) -> None:
        selected = self._selected_items()
        if len(selected) == 1:
            self.fix_requested.emit(selected[0])

    def _remove(self) -> None:
        self.service.remove(self._selected_ids(self.finished_view))

    def _open(self) -> None:
        for item in self._selected_items()[:1]:
            target = Path(item.final_path or item.local_path or "")
            folder = target.parent if target.suffix else target
            try:
                if open_folder(folder, self._roots()) is None:
                    self.error_label.setText(f"Could not open {folder} (see the log)")
            except FolderRefused as exc:
                self.error_label.setText(str(exc))

    def _roots(self) -> list[Path | str]:
        """The folders "Open folder" may show: the download folder (as set, or as slskd reported it),
        the library, and the folder of files that need attention."""
        context = self.service.context
        queue = self.service.built_queue
        reported = queue.known_downloads_dir if queue is not None else None
        return [context.settings.downloads.download_dir, reported or "", context.library_dir or "",
                context.needs_attention_dir]

    def _show_error(self, text: str) -> None:
        self.error_label.setText(f"slskd: {text}" if text else "")

    def _show_filing(self, text: str) -> None:
        """Why finished downloads wait to be filed (the library folder is not there), or nothing."""
        self.error_label.setText(text)

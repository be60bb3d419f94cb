"""The Sync page's "Keep in sync" button: marks the selected Spotify playlists to be synced on the schedule.

It shows whether every playlist of the selection is kept already (read in a worker), and toggles them all
(written in a worker, with the interval and the Plex mirror from the settings). A playlist file is kept with
``soulsync keep add FILE`` (the app does not remember where a file was imported from).
"""
from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QPushButton, QWidget

from soulsync.ui.workers import run_task

KEEPABLE = ("spotify", "liked")
"""Playlist sources the button keeps in sync."""


class KeepInSyncButton(QPushButton):
    kept = pyqtSignal(str)
    """The playlists were kept (or no longer kept): what happened, in words."""

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__("Keep in sync", parent)
        self.context = context
        self.playlists: list[Any] = []
        self.setObjectName("keep_button")
        self.setCheckable(True)
        self.setEnabled(False)
        self.setToolTip("Sync the selected Spotify playlists by themselves on a schedule (Settings → Automation); "
                        "a playlist file is kept with “soulsync keep add FILE”")
        self.clicked.connect(self.toggle)

    def _show(self, kept: bool) -> None:
        self.setChecked(kept)
        self.setText("Kept in sync ✓" if kept else "Keep in sync")

    def show_selection(self, playlists: list[Any]) -> None:
        """The button for the selected playlists (their kept state read in a worker)."""
        self.playlists = [p for p in playlists if p.source in KEEPABLE]
        ids = [p.id for p in self.playlists]
        self.setEnabled(False)
        if not ids:
            self._show(False)
            return
        store = self.context.store

        def work(_ctx):
            from soulsync.core.kept_playlists import kept_playlists

            kept = {k.playlist_id for k in kept_playlists(store)}
            return ids, all(i in kept for i in ids)

        def done(value) -> None:
            wanted, kept = value
            if wanted != [p.id for p in self.playlists]:
                return  # the selection changed meanwhile
            self.setEnabled(True)
            self._show(kept)

        run_task(work, owner=self, on_result=done)

    def toggle(self) -> None:
        """Keep the selected playlists in sync on the schedule, or stop keeping them."""
        playlists, keep, context = list(self.playlists), self.isChecked(), self.context
        hours = context.settings.automation.playlist_interval_h
        mirror = context.settings.library.create_plex_playlists and context.plex_configured()

        def work(_ctx):
            from soulsync.core.kept_playlists import KeptPlaylist, PlaylistKind, forget_kept_playlist, keep_playlist

            for p in playlists:
                if keep:
                    keep_playlist(context.store, KeptPlaylist(p.id, PlaylistKind.SPOTIFY, p.name, None,
                                                              hours * 3600.0, mirror))
                else:
                    forget_kept_playlist(context.store, p.id)
            return len(playlists)

        def done(n: int) -> None:
            names = playlists[0].name if n == 1 else f"{n} playlists"
            if keep:
                off = "" if context.settings.automation.enabled else " Automation is off: turn it on in Settings."
                text = f"{names} will be kept in sync every {hours:g} h.{off}"
            else:
                text = f"{names} no longer kept in sync."
            self._show(keep)
            self.kept.emit(text)

        run_task(work, owner=self, on_result=done)

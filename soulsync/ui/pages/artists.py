"""Artists: every library artist (searchable, sortable), and an artist's discography against the library."""
from __future__ import annotations

import logging

from PyQt6.QtCore import (
    QModelIndex, Qt, QTimer, pyqtSignal,
)
from PyQt6.QtGui import QPixmap
from PyQt6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QListView,
    QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.discography import Discography, ReleaseState, ReleaseStatus
from soulsync.core.models import AlbumType
from soulsync.ui.pages.base import Page
from soulsync.ui.workers import TaskHandle, run_task, with_retries
from soulsync.ui.widgets.artist_views import (
    ArtistDelegate, ArtistListModel, ArtistSortProxy, DiscographyView, ImageCache, library_artists,
)
from soulsync.ui.widgets.fitting import FlowLayout

log = logging.getLogger(__name__)


class ArtistsPage(Page):
    page_id = "artists"
    title = "Artists"
    subtitle = "Artists in your library, and what of their discography you still miss"

    artist_selected = pyqtSignal(str)
    artists_watched = pyqtSignal()
    """An artist was watched or unwatched: the schedule follows."""

    retry_attempts = 3
    """Tries of a discography load that fails for a passing network reason (reset, cut-off or garbled answer)."""
    retry_base_s = 1.0
    """Wait before the second try; it doubles for each further one."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.images = ImageCache(context.paths.cache_dir / "artists")
        self.index = None
        self.discography: Discography | None = None
        self._discography_of: str | None = None
        """The library artist name ``discography`` was loaded for."""
        self._load_task: TaskHandle | None = None
        self._detail_task: TaskHandle | None = None

        self.refresh_button = QPushButton("Reload")
        self.refresh_button.setToolTip("Read the library index again")
        self.refresh_button.clicked.connect(lambda: self.library.reload())
        self.header_actions.addWidget(self.refresh_button)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("artist_filter")
        self.filter_edit.setPlaceholderText("Find an artist…")
        self.filter_edit.setClearButtonEnabled(True)
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("artist_sort")
        for label, key in (("Name", "name"), ("Most albums", "albums"), ("Most tracks", "tracks")):
            self.sort_combo.addItem(label, key)
        controls.addWidget(self.filter_edit, 1)
        controls.addWidget(self.sort_combo)
        left_layout.addLayout(controls)
        self.list_model = ArtistListModel(self)
        self.proxy = ArtistSortProxy(self)
        self.proxy.setSourceModel(self.list_model)
        self.list_view = QListView()
        self.list_view.setObjectName("artist_list")
        self.list_view.setModel(self.proxy)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setMinimumWidth(220)
        self.list_view.setMouseTracking(True)
        self.list_view.setItemDelegate(ArtistDelegate(self.images, self.list_view))
        left_layout.addWidget(self.list_view, 1)
        self.count_label = QLabel("")
        self.count_label.setProperty("muted", True)
        left_layout.addWidget(self.count_label)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        top = QHBoxLayout()
        self.artist_image = QLabel()
        self.artist_image.setFixedSize(96, 96)
        self.artist_image.setScaledContents(True)
        top.addWidget(self.artist_image)
        info = QVBoxLayout()
        self.artist_name = QLabel("Pick an artist")
        self.artist_name.setObjectName("PageTitle")
        self.artist_info = QLabel("Their discography from Spotify is compared with your library.")
        self.artist_info.setProperty("muted", True)
        self.artist_info.setWordWrap(True)
        info.addWidget(self.artist_name)
        info.addWidget(self.artist_info)
        top.addLayout(info, 1)
        right_layout.addLayout(top)
        options = FlowLayout()
        self.appears_on = QCheckBox("Include “appears on”")
        self.appears_on.setObjectName("appears_on")
        options.addWidget(self.appears_on)
        self.download_selected_button = QPushButton("Download missing: selected")
        self.download_selected_button.setObjectName("download_selected_releases")
        self.download_selected_button.setToolTip("Get the missing tracks of the selected releases")
        self.download_all_button = QPushButton("Download missing: whole discography")
        self.download_all_button.setObjectName("download_discography")
        self.download_all_button.setProperty("primary", True)
        for button in (self.download_selected_button, self.download_all_button):
            button.setEnabled(False)
            options.addWidget(button)
        meta_row = FlowLayout()
        self.reload_discography_button = QPushButton("Reload discography")
        self.reload_discography_button.setObjectName("reload_discography")
        self.reload_discography_button.setToolTip("Load this artist's discography from Spotify again")
        self.reload_discography_button.setEnabled(False)
        meta_row.addWidget(self.reload_discography_button)
        self.update_meta_button = QPushButton("Update metadata")
        self.update_meta_button.setObjectName("update_metadata")
        self.update_meta_button.setToolTip("Refresh this artist's genres and image from Spotify")
        self.update_meta_button.setEnabled(False)
        self.write_plex_box = QCheckBox("Also write genres and summary to Plex")
        self.write_plex_box.setObjectName("write_plex_metadata")
        self.write_plex_box.setChecked(context.settings.library.write_artist_metadata)
        self.meta_label = QLabel("")
        self.meta_label.setObjectName("meta_status")
        self.meta_label.setProperty("muted", True)
        self.watch_button = QPushButton("Watch for new releases")
        self.watch_button.setObjectName("watch_artist")
        self.watch_button.setCheckable(True)
        self.watch_button.setEnabled(False)
        self.watch_button.setToolTip("Check this artist for new releases on a schedule (Settings → Automation)")
        self.watch_button.clicked.connect(self.toggle_watch)
        meta_row.addWidget(self.watch_button)
        meta_row.addWidget(self.update_meta_button)
        meta_row.addWidget(self.write_plex_box)
        meta_row.addWidget(self.meta_label)
        right_layout.addLayout(options)
        right_layout.addLayout(meta_row)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        right_layout.addWidget(self.progress)
        self.disco_view = DiscographyView()
        right_layout.addWidget(self.disco_view, 1)
        splitter.addWidget(right)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([380, 820])
        self.body.addWidget(splitter, 1)

        self._image_task: TaskHandle | None = None
        self._image_timer = QTimer(self)
        self._image_timer.setInterval(400)
        self._image_timer.timeout.connect(self._fetch_wanted_images)
        self._image_timer.start()
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.sort_combo.currentIndexChanged.connect(lambda: self.proxy.set_order(self.sort_combo.currentData()))
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.appears_on.toggled.connect(self._reload_detail)
        self.download_selected_button.clicked.connect(self.download_selected_releases)
        self.download_all_button.clicked.connect(self.download_discography)
        self.update_meta_button.clicked.connect(self.update_metadata)
        self.reload_discography_button.clicked.connect(self.reload_discography)
        self.write_plex_box.toggled.connect(self._write_plex_toggled)
        self.disco_view.selectionModel().selectionChanged.connect(self._update_download_buttons)
        self._loaded = False

    # ---- list ---------------------------------------------------------------------
    def attach_library(self, library) -> None:
        """The shared library index (the main window calls this)."""
        self.library = library
        library.changed.connect(self._library_changed)

    def _library_changed(self) -> None:
        self._loaded = False
        if self.isVisible():
            self.reload()

    def on_shown(self) -> None:
        if not self._loaded:
            self.reload()

    def reload(self) -> None:
        """List the artists of the shared library index (grouping runs in a worker)."""
        if self._load_task is not None or not self.library.ready:
            if not self.library.ready:
                self.count_label.setText("Reading the library…")
            return
        self._loaded = True
        tracks, self.index = self.library.tracks, self.library.index
        self._load_task = run_task(lambda ctx: library_artists(tracks), owner=self,
                                   on_result=self._artists_loaded,
                                   on_error=lambda e: self.count_label.setText(f"Could not read the library: {e}"),
                                   on_finished=lambda: setattr(self, "_load_task", None))

    def _artists_loaded(self, rows) -> None:
        self.list_model.set_rows(rows)
        self.proxy.set_order(self.sort_combo.currentData())
        self._update_count()

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_needle(text)
        self._update_count()

    def _update_count(self) -> None:
        total = self.list_model.rowCount()
        shown = self.proxy.rowCount()
        if total == 0:
            self.count_label.setText("No artists yet: the library index is empty. Scan the library on the Sync page.")
        else:
            self.count_label.setText(f"{shown} of {total} artists" if shown != total else f"{total} artists")

    def _fetch_wanted_images(self) -> None:
        """Fetch images rows asked for (Spotify artist images), eight at a time, in a worker."""
        if self._image_task is not None or not self.images.wanted or not self.isVisible():
            return
        if not self.context.spotify_configured():
            self.images.wanted.clear()
            return
        batch, self.images.wanted[:] = self.images.wanted[:8], self.images.wanted[8:]
        spotify, images = self.context.spotify(), self.images

        def work(ctx):
            from soulsync.core.discography import pick_artist
            from soulsync.services.images import fetch_image

            for name in batch:
                if ctx.cancelled:
                    break
                artist = pick_artist(spotify.search_artists(name, limit=5), name)
                data = fetch_image(artist.image_url) if artist is not None and artist.image_url else None
                if data:
                    images.store(name, data)
                    ctx.progress(name)

        def loaded(name: str) -> None:
            self.images.forget(name)
            self.list_view.viewport().update()

        self._image_task = run_task(work, owner=self, on_progress=loaded,
                                    on_error=lambda exc: log.info("Artist images: %s", exc),
                                    on_finished=lambda: setattr(self, "_image_task", None))

    def open_detail(self, name: str) -> None:
        """Select an artist by name (activity click-through)."""
        self.filter_edit.setText(name)

    # ---- detail ---------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(ArtistListModel.NameRole) if current.isValid() else None
        if row is not None:
            self.show_artist(row.name)

    def _reload_detail(self) -> None:
        if self.discography is not None:
            self.show_artist(self.artist_name.text())

    def reload_discography(self) -> None:
        """Load the shown artist's discography from Spotify again (also how to try again after a failure)."""
        if self.reload_discography_button.isEnabled():
            self.show_artist(self.artist_name.text())

    def _write_plex_toggled(self, on: bool) -> None:
        self.context.settings.library.write_artist_metadata = on
        run_task(lambda ctx: self.context.save(), owner=self)

    def update_metadata(self) -> None:
        """Genres, image and a summary from Spotify into the app; onto the Plex artist when allowed."""
        name = self.artist_name.text()
        if not self.context.spotify_configured() or not name:
            return
        to_plex = self.write_plex_box.isChecked() and self.context.plex_configured()
        spotify, store, images = self.context.spotify(), self.context.store, self.images
        plex = self.context.plex() if to_plex else None
        section = self.context.settings.plex.music_section or "Music"
        self.update_meta_button.setEnabled(False)
        self.meta_label.setText("Updating…")

        def work(ctx):
            from soulsync.services.artist_metadata import update_artist_metadata

            return update_artist_metadata(name, spotify, store, lambda data: images.store(name, data), plex, section)

        def finished_ok(text: str) -> None:
            self.meta_label.setText(text)
            self.images.forget(name)
            pix = self.images.pixmap(name)
            if pix is not None:
                self.artist_image.setPixmap(pix)
            self.list_view.viewport().update()
            if self.activity_feed is not None:
                self.activity_feed.add("info", f"{name}: {text}", f"artists:{name}")

        def failed(exc: Exception) -> None:
            from soulsync.services.checks import describe_error

            self.meta_label.setText(describe_error(exc, getattr(exc, "service", "Spotify"))[1])

        run_task(work, owner=self, on_result=finished_ok, on_error=failed,
                 on_finished=lambda: self.update_meta_button.setEnabled(True))

    def show_artist(self, name: str) -> None:
        if name != self._discography_of:  # another artist: the last one's releases and buttons go
            self.discography, self._discography_of = None, None
            self.disco_view.model_.removeRows(0, self.disco_view.model_.rowCount())
            self._update_download_buttons()
        self.artist_name.setText(name)
        self.update_meta_button.setEnabled(self.context.spotify_configured())
        self.reload_discography_button.setEnabled(False)
        self.meta_label.setText("")
        pix = self.images.pixmap(name)
        self.artist_image.setPixmap(pix if pix is not None else QPixmap())
        if self._detail_task is not None:
            self._detail_task.cancel()
        if not self.context.spotify_configured() or self.index is None:
            self.artist_info.setText("Connect Spotify in Settings to compare this artist's discography.")
            return
        self.artist_info.setText("Loading the discography from Spotify…")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        spotify, index, appears = self.context.spotify(), self.index, self.appears_on.isChecked()
        images, attempts, base_s = self.images, self.retry_attempts, self.retry_base_s

        def work(ctx):
            from soulsync.core.discography import load_discography
            from soulsync.services.errors import RateLimited, ServerError
            from soulsync.services.images import fetch_image

            disco = with_retries(ctx, lambda _attempt: load_discography(
                spotify, index, name, appears, progress=lambda d, t: ctx.progress((d, t)),
                cancelled=lambda: ctx.cancelled), attempts=attempts, base_s=base_s, service="Spotify",
                retried_by_client=(RateLimited, ServerError))
            if disco is not None and disco.artist.image_url and not images.path_for(name).exists():
                data = fetch_image(disco.artist.image_url)
                if data:
                    images.store(name, data)
            return disco

        self._detail_task = run_task(work, owner=self, on_result=lambda d, n=name: self._show_discography(n, d),
                                     on_progress=self._detail_progress,
                                     on_error=lambda exc, n=name: self._detail_failed(n, exc),
                                     on_finished=self._detail_finished)

    def _detail_finished(self) -> None:
        self.progress.setVisible(False)
        self.reload_discography_button.setEnabled(self.context.spotify_configured())

    def _detail_progress(self, value) -> None:
        if isinstance(value, str):  # a passing failure; another try follows
            self.artist_info.setText(value)
            self.announce(f"{self.artist_name.text()}: {value}")
            return
        done, total = value
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _detail_failed(self, name: str, exc: Exception) -> None:
        """Say why the discography did not load, on the page and in the status bar."""
        from soulsync.services.checks import describe_error

        if name != self.artist_name.text():
            return  # another artist is shown by now
        text = describe_error(exc, "Spotify")[1].rstrip(".") + "."
        kept = " The discography below is from the last load." if self._discography_of == name else ""
        self.artist_info.setText(f"{text}{kept} “Reload discography” tries again.")
        self.announce(f"{name}: {text}")

    def _show_discography(self, name: str, disco: Discography | None) -> None:
        if name != self.artist_name.text():
            return
        self.discography, self._discography_of = disco, name
        if disco is None:
            self.artist_info.setText(f"Spotify does not know an artist called “{name}”.")
            self.disco_view.model_.removeRows(0, self.disco_view.model_.rowCount())
            return
        self.images.forget(name)
        pix = self.images.pixmap(name)
        if pix is not None:
            self.artist_image.setPixmap(pix)
            self.list_view.viewport().update()
        releases = disco.releases
        owned = sum(1 for r in releases if r.status is ReleaseStatus.OWNED)
        partial = sum(1 for r in releases if r.status is ReleaseStatus.PARTIAL)
        genres = ", ".join(disco.artist.genres[:4])
        self.artist_info.setText(
            f"{len(releases)} releases: {owned} complete, {partial} partial, "
            f"{len(releases) - owned - partial} missing · {len(disco.missing_tracks)} tracks missing"
            + (f"\n{genres}" if genres else ""))
        self.disco_view.show_discography(disco, self.appears_on.isChecked())
        self._update_download_buttons()
        self._show_watched(disco.artist)

    # ---- discography downloads -------------------------------------------------------------
    def selected_releases(self) -> list[ReleaseState]:
        chosen: list[ReleaseState] = []
        for index in self.disco_view.selectionModel().selectedRows():
            value = index.data(Qt.ItemDataRole.UserRole)
            if isinstance(value, ReleaseState) and value not in chosen:
                chosen.append(value)
        return chosen

    def _update_download_buttons(self) -> None:
        disco = self.discography
        missing = bool(disco and disco.missing_tracks)
        self.download_all_button.setEnabled(missing)
        self.download_selected_button.setEnabled(any(r.missing_tracks for r in self.selected_releases()))

    def download_selected_releases(self) -> None:
        self._download_releases([r for r in self.selected_releases() if r.missing_tracks])

    def download_discography(self) -> None:
        if self.discography is not None:
            include_appears = self.appears_on.isChecked()
            self._download_releases([r for r in self.discography.releases if r.missing_tracks and
                                     (include_appears or r.album.album_type is not AlbumType.APPEARS_ON)])

    def _download_releases(self, releases: list[ReleaseState]) -> None:
        """Album mode first (one folder per release), single tracks for the rest: matched, tagged, filed."""
        from soulsync.ui.dialogs.download_missing import DownloadMissingDialog

        if not releases or self.download_service is None:
            return
        dialog = DownloadMissingDialog(self.context, [], self.download_service, self.library, [], self,
                                       releases=releases, activity=self.activity_feed)
        dialog.headline.setText(f"{sum(len(r.missing_tracks) for r in releases)} missing tracks from "
                                f"{len(releases)} release{'s' if len(releases) != 1 else ''}: each release is "
                                "looked for as a whole folder first, single tracks fill the gaps.")
        dialog.finished_run.connect(self._releases_downloaded)
        self.download_dialog = dialog
        dialog.show()
        dialog.start()

    # ---- watching for new releases -------------------------------------------------------------------
    def _show_watched(self, artist) -> None:
        """The Watch button's state for the artist shown (read in a worker), with what was found and when."""
        self.watch_button.setEnabled(False)
        if not artist.spotify_id:
            return
        store = self.context.store

        def work(_ctx):
            from soulsync.core.watched_artists import found_releases, watched_artist

            return watched_artist(store, artist.spotify_id), found_releases(store, artist.spotify_id, limit=3)

        def done(value) -> None:
            watched, found = value
            if self.discography is None or self.discography.artist.spotify_id != artist.spotify_id:
                return
            self.watch_button.setEnabled(True)
            self.watch_button.setChecked(watched is not None)
            self.watch_button.setText("Watching ✓" if watched is not None else "Watch for new releases")
            if watched is not None and watched.last_checked:
                import time

                checked = time.strftime("%Y-%m-%d %H:%M", time.localtime(watched.last_checked))
                latest = f"; newest: {found[0].title} ({found[0].release_date})" if found else ""
                self.watch_button.setToolTip(f"Checked {checked}{latest}")

        run_task(work, owner=self, on_result=done)

    def toggle_watch(self) -> None:
        """Watch the shown artist for new releases (the kinds and action from Settings), or stop watching."""
        if self.discography is None:
            return
        artist, watch = self.discography.artist, self.watch_button.isChecked()
        context = self.context

        def work(_ctx):
            import time

            from soulsync.core.watched_artists import NewReleaseAction, WatchedArtist, unwatch_artist, watch_artist

            if watch:
                action = NewReleaseAction(context.settings.automation.new_release_action)
                watch_artist(context.store, WatchedArtist(artist.spotify_id, artist.name, action=action,
                                                          added_at=time.time()))
            else:
                unwatch_artist(context.store, artist.spotify_id)

        def done(_value) -> None:
            self.watch_button.setText("Watching ✓" if watch else "Watch for new releases")
            off = "" if context.settings.automation.enabled else " (automation is off: turn it on in Settings)"
            self.meta_label.setText((f"Watching {artist.name} for new releases{off}." if watch
                                     else f"No longer watching {artist.name}."))
            self.artists_watched.emit()

        run_task(work, owner=self, on_result=done)

    def _releases_downloaded(self, _report) -> None:
        """The run ended with its files picked up and indexed: show the releases against the new index."""
        self.index = self.library.index
        self._reload_detail()

    def shutdown(self) -> None:
        self._image_timer.stop()
        for task in (self._load_task, self._detail_task, self._image_task):
            if task is not None:
                task.cancel()

"""Sync: Spotify (and imported) playlists compared with the library, missing tracks fetched.

The page is a front end of the main job (:mod:`soulsync.core.sync_run`): Analyse and Download missing build a
run and show its events; the playlist list, the track table and their actions are widgets and wiring only.
It stays one module of about 640 lines on purpose: what is left is the one page's layout and the slots of its
buttons, each a few lines calling a worker or a dialog; the workflows, the models (``ui/models/playlists``)
and the Keep in sync button (``ui/widgets/keep_button``) live elsewhere already, and cutting the rest would
only send a reader between files to follow one button.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListView,
    QProgressBar, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.playlist_state import PlaylistTrackState
from soulsync.ui.models.playlists import (
    PlaylistListModel, PlaylistRole, RowRole, StatusFilterProxy, TrackRow, TrackTableModel, count_words,
)
from soulsync.ui.pages.base import Page
from soulsync.ui.library_state import SharedLibrary
from soulsync.ui.workers import TaskHandle, run_task, with_retries
from soulsync.ui.widgets.fitting import ElidedLabel
from soulsync.ui.widgets.keep_button import KeepInSyncButton

log = logging.getLogger(__name__)

COVER_CACHE_LIMIT = 2000
"""Playlist cover thumbnails kept on disk."""
_T = PlaylistTrackState
STATUS_FILTERS: tuple[tuple[str, set[PlaylistTrackState]], ...] = (
    ("All tracks", set()), ("Missing", {_T.MISSING, _T.FAILED, _T.WISHLIST}), ("Owned", {_T.OWNED}),
    ("In progress", {_T.QUEUED, _T.DOWNLOADING, _T.SEARCHING}), ("Downloaded", {_T.DOWNLOADED}),
    ("Failed", {_T.FAILED, _T.WISHLIST}), ("Not analysed", {_T.UNKNOWN}))


class SyncPage(Page):
    page_id = "sync"
    title = "Sync"
    subtitle = "Your playlists against your library: what you own, what is missing, and getting it"

    analysis_finished = pyqtSignal()
    playlists_kept = pyqtSignal()
    """Playlists were marked (or unmarked) to keep in sync: the schedule follows."""

    retry_attempts = 3
    """Tries of a playlist refresh that fails for a passing network reason (reset, cut-off or garbled answer)."""
    retry_base_s = 1.0
    """Wait before the second try; it doubles for each further one."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._refresh_task: TaskHandle | None = None
        self._analysis_task: TaskHandle | None = None
        self._download_when_analysed = False
        """Download missing was pressed before an analysis: open it when the analysis is done."""
        self._rows_task: TaskHandle | None = None

        self.refresh_button = QPushButton("Refresh playlists")
        self.refresh_button.setObjectName("refresh_playlists")
        self.import_button = QPushButton("Import CSV / M3U…")
        self.import_button.setObjectName("import_playlist")
        self.rescan_button = QPushButton("Rescan library")
        self.rescan_button.setObjectName("rescan_library")
        self.rescan_button.setToolTip("Read what changed in your library (Plex or the library folder)")
        self.header_actions.addWidget(self.rescan_button)
        self.header_actions.addWidget(self.import_button)
        self.header_actions.addWidget(self.refresh_button)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.playlist_model = PlaylistListModel(self)
        self.playlist_view = QListView()
        self.playlist_view.setObjectName("playlist_list")
        self.playlist_view.setModel(self.playlist_model)
        self.playlist_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.playlist_view.setIconSize(QSize(40, 40))
        self.playlist_view.setSpacing(2)
        self.playlist_view.setMinimumWidth(240)
        left_layout.addWidget(self.playlist_view, 1)
        self.playlist_status = ElidedLabel("")
        self.playlist_status.setObjectName("playlist_status")
        self.playlist_status.setProperty("muted", True)
        left_layout.addWidget(self.playlist_status)
        self.keep_button = KeepInSyncButton(context)
        self.keep_button.kept.connect(self._kept)
        left_layout.addWidget(self.keep_button)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        top = QHBoxLayout()
        self.selection_label = ElidedLabel("Select one or more playlists.")
        self.selection_label.setObjectName("SectionTitle")
        top.addWidget(self.selection_label, 1)
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setObjectName("analyse_button")
        self.analyse_button.setToolTip("Compare the selected playlists with the library")
        self.download_button = QPushButton("Download missing…")
        self.download_button.setObjectName("download_missing")
        self.download_button.setProperty("primary", True)
        self.download_button.setEnabled(False)
        self.export_button = QPushButton("Export M3U8…")
        self.export_button.setObjectName("export_m3u8")
        self.export_button.setToolTip("Save the owned tracks of the selection as an M3U8 playlist")
        top.addWidget(self.export_button)
        top.addWidget(self.analyse_button)
        top.addWidget(self.download_button)
        right_layout.addLayout(top)
        self.unreadable_notice = QLabel("")
        self.unreadable_notice.setObjectName("playlist_unreadable")
        self.unreadable_notice.setWordWrap(True)
        self.unreadable_notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.unreadable_notice.setVisible(False)
        right_layout.addWidget(self.unreadable_notice)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("analysis_progress")
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_analysis")
        self.cancel_button.setVisible(False)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        right_layout.addLayout(progress_row)
        self.summary_label = ElidedLabel("")
        self.summary_label.setObjectName("sync_summary")
        self.summary_label.setProperty("muted", True)
        right_layout.addWidget(self.summary_label)
        filters = QHBoxLayout()
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("status_filter")
        for label, statuses in STATUS_FILTERS:
            self.status_combo.addItem(label, statuses)
        self.track_filter = QLineEdit()
        self.track_filter.setPlaceholderText("Filter tracks…")
        self.track_filter.setClearButtonEnabled(True)
        self.fix_button = QPushButton("Fix match…")
        self.fix_button.setObjectName("fix_match")
        self.fix_button.setToolTip("Tell SoulSync which library track this is, or that you do not have it")
        self.fix_button.setEnabled(False)
        filters.addWidget(self.status_combo)
        filters.addWidget(self.track_filter, 1)
        filters.addWidget(self.fix_button)
        right_layout.addLayout(filters)
        self.track_model = TrackTableModel(self)
        self.track_proxy = StatusFilterProxy(self)
        self.track_proxy.setSourceModel(self.track_model)
        self.track_view = QTableView()
        self.track_view.setObjectName("track_table")
        self.track_view.setModel(self.track_proxy)
        self.track_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.track_view.setAlternatingRowColors(True)
        self.track_view.verticalHeader().setVisible(False)
        self.track_view.verticalHeader().setDefaultSectionSize(26)
        header = self.track_view.horizontalHeader()
        for col, width in enumerate((40, 200, 120, 120, 58, 84, 160, 62)):
            header.resizeSection(col, width)
        header.setMinimumSectionSize(36)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        right_layout.addWidget(self.track_view, 1)
        splitter.addWidget(right)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([320, 900])
        self.body.addWidget(splitter, 1)

        self.refresh_button.clicked.connect(self.refresh_playlists)
        self.import_button.clicked.connect(self.import_playlist)
        self.analyse_button.clicked.connect(self.analyse_selected)
        self.download_button.clicked.connect(self.download_missing)
        self.rescan_button.clicked.connect(self.rescan_library)
        self.export_button.clicked.connect(self.export_m3u8)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.playlist_view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.status_combo.currentIndexChanged.connect(
            lambda: self.track_proxy.set_statuses(self.status_combo.currentData()))
        self.track_filter.textChanged.connect(self.track_proxy.set_text)
        self.track_view.selectionModel().selectionChanged.connect(
            lambda: self.fix_button.setEnabled(len(self.track_view.selectionModel().selectedRows()) == 1))
        self.track_view.doubleClicked.connect(lambda _index: self.fix_match())
        self.fix_button.clicked.connect(self.fix_match)
        self._loaded = False

    # ---- playlists ---------------------------------------------------------------------
    def on_shown(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.load_cached()
            if self.context.spotify_configured():
                self.refresh_playlists()

    def load_cached(self) -> None:
        """Show the playlists kept in SQLite at once (no network)."""
        store = self.context.store
        run_task(lambda ctx: (store.playlists(), store.playlist_analysis()), owner=self,
                 on_result=self._show_playlists)

    def _show_playlists(self, value) -> None:
        playlists, analysis = value
        selected = {p.id for p in self.selected_playlists()}
        self.playlist_model.set_playlists(playlists, analysis)
        selection = self.playlist_view.selectionModel()
        for row, p in enumerate(playlists):
            if p.id in selected:
                selection.select(self.playlist_model.index(row), selection.SelectionFlag.Select)
        if not playlists:
            self.playlist_status.setText("No playlists yet. Connect Spotify in Settings, or import a CSV or M3U file.")
        self._fetch_covers(playlists)
        if getattr(self, "_pending_select_all", False):
            self._pending_select_all = False
            self._select_all_and_analyse()

    def refresh_playlists(self) -> None:
        if self._refresh_task is not None:
            return
        if not self.context.spotify_configured():
            self.playlist_status.setText("Spotify is not connected: see Settings. You can still import playlists.")
            return
        self.refresh_button.setEnabled(False)
        self.playlist_status.setText("Refreshing playlists from Spotify…")
        spotify, store = self.context.spotify(), self.context.store
        attempts, base_s = self.retry_attempts, self.retry_base_s

        def work(ctx):
            from soulsync.core.playlist_cache import refresh_playlists
            from soulsync.services.checks import describe_error
            from soulsync.services.errors import RateLimited, ServerError, retry_delay

            def passing(exc: Exception, attempt: int) -> bool:
                """Worth another try of the whole refresh (the client retried 429 and 5xx already)."""
                return not isinstance(exc, (RateLimited, ServerError)) and attempt + 1 < attempts and \
                    retry_delay(exc, attempt, base_s) is not None

            # a playlist cut short by a passing failure is tried again with the rest, not skipped
            return with_retries(ctx, lambda attempt: refresh_playlists(
                spotify, store, progress=lambda name, d, t: ctx.progress((name, d, t)),
                cancelled=lambda: ctx.cancelled, abort_on=lambda exc: passing(exc, attempt),
                describe=lambda exc: describe_error(exc, "Spotify")[1]),
                attempts=attempts, base_s=base_s, service="Spotify", retried_by_client=(RateLimited, ServerError))

        def done(report) -> None:
            text = f"{report.playlists} playlists"
            if report.fetched:
                text += f"; fetched {len(report.fetched)} that changed"
            if report.skipped_entries:
                text += f"; {report.skipped_entries} local or unavailable entries left out"
            if report.unreadable:
                text += (f"; {len(report.unreadable)} can't be read from Spotify "
                         "(select one to see why and what you can do)")
            others = [(n, why) for n, why in report.failed if n not in report.unreadable]
            if others:
                text += "; could not read: " + ", ".join(f"{n} ({why})" for n, why in others[:3])
            self.playlist_status.setText(text)
            if report.failed:
                self.announce(text)
            self.load_cached()
            if getattr(self, "_analyse_all_after_refresh", False):
                self._pending_select_all = True

        def progress(value) -> None:
            if isinstance(value, str):  # a passing failure; another try follows
                self.playlist_status.setText(value)
                self.announce(value)
                return
            name, d, t = value
            if name:
                self.playlist_status.setText(f"Fetching “{name}” ({d + 1} of {t})…")

        def failed(exc: Exception) -> None:
            from soulsync.services.checks import describe_error

            text = describe_error(exc, "Spotify")[1]
            self.playlist_status.setText(text)
            self.announce(text)
            self.load_cached()

        def finished() -> None:
            self._refresh_task = None
            self.refresh_button.setEnabled(True)

        self._refresh_task = run_task(work, owner=self, on_result=done, on_progress=progress, on_error=failed,
                                      on_finished=finished)

    def _fetch_covers(self, playlists) -> None:
        cache = self.context.paths.cache_dir / "playlist-covers"
        wanted = [(p.id, p.image_url) for p in playlists if p.image_url and p.id not in self.playlist_model.icons]
        if not wanted:
            return

        def work(ctx):
            import hashlib

            from soulsync.services.images import fetch_image, store_bounded

            cache.mkdir(parents=True, exist_ok=True)
            for pid, url in wanted:
                if ctx.cancelled:
                    break
                path = cache / (hashlib.sha1(url.encode()).hexdigest() + ".jpg")
                if not path.exists():
                    data = fetch_image(url)
                    if not data:
                        continue
                    store_bounded(path, data, COVER_CACHE_LIMIT)
                ctx.progress((pid, str(path)))

        run_task(work, owner=self, on_progress=lambda v: self.playlist_model.set_icon(*v))

    def import_playlist(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import playlists", str(Path.home()),
                                                "Playlists (*.csv *.m3u *.m3u8);;All files (*)")
        if files:
            self.import_files([Path(f) for f in files])

    def import_files(self, files: list[Path]) -> None:
        store = self.context.store

        def work(ctx):
            from soulsync.core.playlist_files import import_playlist_file

            reports = []
            for path in files:
                result = import_playlist_file(path)
                store.save_playlist_tracks(result.playlist)
                reports.append(result)
            return reports

        def done(reports) -> None:
            parts = []
            for r in reports:
                bad = f", {len(r.errors)} bad rows (first: line {r.errors[0].line}: {r.errors[0].reason})" \
                    if r.errors else ""
                parts.append(f"Imported “{r.playlist.name}”: {len(r.playlist.tracks)} tracks{bad}")
            self.playlist_status.setText("; ".join(parts))
            self.load_cached()

        def failed(exc: Exception) -> None:
            self.playlist_status.setText(f"Import failed: {exc}")

        run_task(work, owner=self, on_result=done, on_error=failed)

    def selected_playlists(self):
        return [i.data(PlaylistRole) for i in self.playlist_view.selectionModel().selectedIndexes()]

    def _selection_changed(self) -> None:
        playlists = self.selected_playlists()
        self._show_unreadable(playlists)
        # a readable selection can be downloaded at once: the analysis runs first (see download_missing)
        self.download_button.setEnabled(any(not p.unreadable for p in playlists))
        self.keep_button.show_selection(playlists)
        if not playlists:
            self.selection_label.setText("Select one or more playlists.")
            self.track_model.set_rows([])
            return
        counts = [p.track_count for p in playlists]
        total = count_words(None if None in counts else sum(c or 0 for c in counts))
        names = playlists[0].name if len(playlists) == 1 else f"{len(playlists)} playlists"
        self.selection_label.setText(f"{names} · {total}")
        self._load_rows([p.id for p in playlists])

    def _kept(self, text: str) -> None:
        self.summary_label.setText(text)
        self.playlists_kept.emit()

    def _show_unreadable(self, playlists) -> None:
        """Say, above the tracks, which selected playlists cannot be read, why, and what the person can do."""
        unreadable = [p for p in playlists if p.unreadable]
        lines = [f"“{p.name}” can't be read: {p.unreadable}" for p in unreadable[:3]]
        if len(unreadable) > 3:
            lines.append(f"…and {len(unreadable) - 3} more that can't be read.")
        self.unreadable_notice.setText("\n".join(lines))
        self.unreadable_notice.setVisible(bool(lines))

    def _load_rows(self, playlist_ids: list[str]) -> None:
        """Show the selected playlists' tracks (from SQLite), not yet analysed."""
        store = self.context.store
        if self._rows_task is not None:
            self._rows_task.cancel()

        def work(ctx):
            rows: list[TrackRow] = []
            for pid in playlist_ids:
                for track in store.playlist_tracks(pid):
                    rows.append(TrackRow(len(rows), track, playlist_id=pid))
            return rows

        self._rows_task = run_task(work, owner=self, on_result=self.track_model.set_rows,
                                   on_finished=lambda: setattr(self, "_rows_task", None))

    # ---- analysis ------------------------------------------------------------------------
    def attach_library(self, library) -> None:
        """The shared library index (the main window calls this)."""
        self.library = library
        library.changed.connect(self._library_changed)
        library.scan_progress.connect(self.summary_label.setText)
        library.scanned.connect(self._library_scanned)
        library.notice.connect(self.announce)
        self._analyse_when_ready = False

    def rescan_library(self) -> None:
        """Quick action and header button: read what changed in the library, then rebuild the index."""
        self.rescan_button.setEnabled(False)
        self.summary_label.setText("Reading the library…")
        self.library.rescan()

    def _library_scanned(self, summary: str) -> None:
        self.rescan_button.setEnabled(True)
        self.summary_label.setText(summary)

    def sync_all(self) -> None:
        """Quick action: refresh the playlists, then analyse every one of them."""
        self._analyse_all_after_refresh = True
        if self._refresh_task is None and self.context.spotify_configured():
            self.refresh_playlists()
        else:
            self._select_all_and_analyse()

    def _select_all_and_analyse(self) -> None:
        self._analyse_all_after_refresh = False
        self.playlist_view.selectAll()
        self.analyse_selected()

    def retry_wishlist(self) -> None:
        """Quick action: try every wishlist track again."""
        store = self.context.store
        run_task(lambda ctx: store.wishlist(), owner=self, on_result=self._open_wishlist_run)

    def _open_wishlist_run(self, entries) -> None:
        if not entries:
            self.summary_label.setText("The wishlist is empty.")
            return
        self._open_download_dialog([(track, None) for track, _reason, _attempts in entries], [])

    def download_missing(self) -> None:
        """Open the download-missing dialog for the missing tracks of the analysed selection."""
        rows = [r for r in self.track_model.rows if r.status.wanted]
        if not rows:
            if any(r.status is PlaylistTrackState.UNKNOWN for r in self.track_model.rows) or not self.track_model.rows:
                # not analysed yet: analyse, then open the dialog on what is missing
                self._download_when_analysed = True
                self.analyse_selected()
                if self._analysis_task is None and not self._analyse_when_ready:  # nothing to analyse (said)
                    self._download_when_analysed = False
            else:
                self.summary_label.setText("Nothing is missing from the selected playlists.")
            return
        self._open_download_dialog([(r.track, r.playlist_id) for r in rows],
                                   [p for p in self.selected_playlists() if not p.unreadable])

    def fix_match(self) -> None:
        """Open the library-match correction for the selected track; the override wins from then on."""
        from soulsync.ui.dialogs.library_match import LibraryMatchDialog

        rows = self.track_view.selectionModel().selectedRows()
        if len(rows) != 1 or not self.library.ready:
            return
        row = self.track_proxy.data(rows[0], RowRole)
        dialog = LibraryMatchDialog(self.context, row.track, row.library_track, self.library.source, self,
                                    library_index=self.library.index, library_tracks=self.library.tracks)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.override_saved.connect(lambda _choice: self.analyse_selected())
        self.fix_dialog = dialog
        dialog.open()

    def _track_progress(self, progress) -> None:
        """Mirror a download run's per-track state in the track table (queued, downloading %, done...)."""
        from soulsync.core.run_progress import Phase
        from soulsync.core.store_records import wanted_key

        status = PlaylistTrackState.of_phase(progress.phase)
        if progress.phase is Phase.DOWNLOADING:
            detail = f"{progress.percent:.0f}%"
        elif progress.phase in (Phase.NOT_FOUND, Phase.FAILED):
            detail = progress.detail
        else:
            detail = ""
        changed = {}
        for i, row in enumerate(self.track_model.rows):
            if row.status is not PlaylistTrackState.OWNED and wanted_key(row.track) == progress.key:
                changed[i] = replace(row, status=status, detail=detail)
        self.track_model.update_rows(changed)

    def export_m3u8(self) -> None:
        """Write the analysed selection's owned tracks as an M3U8 playlist (works with any library)."""
        rows = [r for r in self.track_model.rows if r.status.in_library and r.library_track]
        if not rows:
            self.summary_label.setText("Nothing to export yet: analyse a playlist first.")
            return
        playlists = self.selected_playlists()
        name = playlists[0].name if len(playlists) == 1 else "SoulSync selection"
        start = str((self.context.library_dir or Path.home()) / f"{name}.m3u8")
        target, _ = QFileDialog.getSaveFileName(self, "Export M3U8", start, "M3U8 playlists (*.m3u8)")
        if target:
            self.write_m3u8(Path(target), name)

    def write_m3u8(self, target: Path, name: str) -> None:
        from soulsync.core.analysis import Status, TrackStatus
        from soulsync.core.m3u8 import export_m3u8

        statuses = [TrackStatus(r.track, Status.OWNED, r.library_track, r.score) for r in self.track_model.rows
                    if r.status.in_library and r.library_track]
        run_task(lambda ctx: export_m3u8(statuses, target, name), owner=self,
                 on_result=lambda n: self.summary_label.setText(f"Wrote {n} tracks to {target}"),
                 on_error=lambda exc: self.summary_label.setText(f"Could not write {target.name}: {exc}"))

    def _run_finished(self, _report) -> None:
        """The run ended with the library's new files picked up and indexed: compare again."""
        self.analyse_selected()

    def _open_download_dialog(self, wanted, playlists) -> None:
        from soulsync.ui.dialogs.download_missing import DownloadMissingDialog

        if self.download_service is None:
            return
        dialog = DownloadMissingDialog(self.context, wanted, self.download_service, self.library, playlists, self,
                                       activity=self.activity_feed)
        dialog.finished_run.connect(self._run_finished)
        dialog.track_progress.connect(self._track_progress)
        self.download_dialog = dialog
        dialog.show()
        dialog.start()

    def _library_changed(self) -> None:
        if self._analyse_when_ready:
            self._analyse_when_ready = False
            self.analyse_selected()

    def analyse_selected(self) -> None:
        """Compare the selected playlists with the library; those that cannot be read are left out (they have
        no tracks to compare, and must not count as complete)."""
        selected = self.selected_playlists()
        playlists = [p for p in selected if not p.unreadable]
        if not selected or self._analysis_task is not None:
            return
        if not playlists:
            self.summary_label.setText("The selected playlists can't be read from Spotify, so there is nothing "
                                       "to compare: see the note above for what you can do.")
            return
        library = self.library
        if not library.ready:
            self._analyse_when_ready = True
            self.summary_label.setText("Reading the library index first…")
            library.reload()
            return
        store = self.context.store
        library_size = len(library.tracks)
        total = sum(p.track_count or 0 for p in playlists)
        self.analyse_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.cancel_button.setVisible(True)
        self.summary_label.setText("Comparing…")

        shared = SharedLibrary(library)

        def work(ctx):
            """The main job, analysis only (:class:`~soulsync.core.sync_run.SyncRun`)."""
            from soulsync.core import sync_run as s
            from soulsync.services.playlist_reader import PlaylistTracks

            done_before = [0]

            def on_event(event) -> None:
                if isinstance(event, s.Counted) and event.stage is s.Stage.ANALYSIS:
                    ctx.progress((done_before[0] + event.done, event.what))
                elif isinstance(event, s.PlaylistAnalysed):
                    done_before[0] += len(event.statuses)

            run = s.SyncRun(s.SyncRequest(playlists=[replace(p, tracks=[]) for p in playlists]), s.SyncOptions(download=False), store=store,
                            library=shared, reader=PlaylistTracks(store), on_event=on_event,
                            is_cancelled=lambda: ctx.cancelled)
            result = run.run()
            ctx.check()
            rows: list[TrackRow] = []
            per_playlist: dict[str, tuple[int, int]] = {}
            for entry in result.playlists:
                offset, pid = len(rows), entry.playlist.id
                per_playlist[pid] = (entry.owned, entry.missing)
                rows.extend(TrackRow(offset + s.position, s.track, PlaylistTrackState.of_status(s.status), s.match,
                                     s.score, s.ambiguous, s.reason, pid) for s in entry.statuses)
            return rows, per_playlist, result.library_size or library_size

        def done(value) -> None:
            rows, per_playlist, library_size = value
            self.track_model.set_rows(rows)
            owned = sum(1 for r in rows if r.status is PlaylistTrackState.OWNED)
            left_out = len(selected) - len(playlists)
            self.summary_label.setText(
                f"{owned} of {len(rows)} tracks are in the library ({library_size} tracks indexed); "
                f"{len(rows) - owned} missing" + (f"; {left_out} playlists that can't be read were left out"
                                                  if left_out else ""))
            for pid, (o, m) in per_playlist.items():
                self.playlist_model.set_analysis(pid, o, m, 0.0)
            self.download_button.setEnabled(len(rows) > owned)
            if self.activity_feed is not None:
                names = ", ".join(p.name for p in playlists[:3]) + ("…" if len(playlists) > 3 else "")
                self.activity_feed.add("sync", f"Analysed {names}: {owned} owned, {len(rows) - owned} missing", "sync")
            self.analysis_finished.emit()
            if self._download_when_analysed:  # Download missing was pressed before the analysis
                self._download_when_analysed = False
                self.download_missing()

        def progress(value) -> None:
            done_n, name = value
            self.progress.setRange(0, max(1, total, done_n))
            self.progress.setValue(done_n)
            self.summary_label.setText(f"Comparing {name}: {done_n} of {max(total, done_n)} tracks…")

        def failed(exc: Exception) -> None:
            self.summary_label.setText(f"Analysis failed: {exc}")

        def finished() -> None:
            self._analysis_task = None
            self._download_when_analysed = False
            self.analyse_button.setEnabled(True)
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)
            if self.summary_label.text().startswith("Comparing"):
                self.summary_label.setText("Analysis cancelled.")

        self._analysis_task = run_task(work, owner=self, on_result=done, on_progress=progress, on_error=failed,
                                       on_finished=finished)

    def cancel_analysis(self) -> None:
        if self._analysis_task is not None:
            self._analysis_task.cancel()

    def shutdown(self) -> None:
        for task in (self._refresh_task, self._analysis_task, self._rows_task):
            if task is not None:
                task.cancel()

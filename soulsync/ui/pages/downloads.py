"""Downloads: live Soulseek search with grouped, filterable results, and the download queue."""
from __future__ import annotations

import logging
from typing import Any, Callable

from PyQt6.QtCore import QModelIndex, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QHBoxLayout, QLineEdit, QMenu, QPushButton, QSplitter, QTabBar, QVBoxLayout, QWidget

from soulsync.context import AppContext
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.search import ResultAlbum, ResultItem, ResultTrack, SearchResults
from soulsync.core.search_filters import FilterSpec
from soulsync.core.search_text import query_terms
from soulsync.core.soulseek_query import UNSEARCHABLE_REASON
from soulsync.ui.models.search_results import ItemRole, SearchResultsModel
from soulsync.ui.pages.base import Page
from soulsync.ui.search_session import SearchProgress, SearchSession, SearchState
from soulsync.ui.workers import run_task
from soulsync.ui.widgets.fitting import ElidedLabel
from soulsync.ui.widgets.search_filters import SearchFilterBar
from soulsync.ui.widgets.search_results_view import SearchResultsView
from soulsync.ui.wording import counted

log = logging.getLogger(__name__)

TYPING_DEBOUNCE_MS = 1200
SEARCH_RETRIES = 2
"""A search's requests are tried again this often after a passing failure (see ``SlskdClient.retries``)."""
MAX_SEARCH_TABS = 12
"""Search tabs kept open; starting one more closes the oldest finished one (and its search in slskd)."""
_EMPTY = SearchResults()


def _set_primary(button: QPushButton, primary: bool) -> None:
    """Give ``button`` the accent look of the page's main action, or take it away."""
    if bool(button.property("primary")) != primary:
        button.setProperty("primary", primary)
        button.style().unpolish(button)
        button.style().polish(button)


class DownloadsPage(Page):
    page_id = "downloads"
    title = "Downloads"
    subtitle = "Search Soulseek, pick what to get, and follow the queue"

    download_requested = pyqtSignal(list)
    """A list of ResultTrack the user asked to download."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.sessions: list[SearchSession] = []
        self.rate: SearchRateLimiter = context.search_limiter
        self._preview: Callable[[ResultTrack], Any] | None = None

        # --- search row
        row = QHBoxLayout()
        self.search_input = QLineEdit()
        self.search_input.setObjectName("search_input")
        self.search_input.setPlaceholderText("Search Soulseek: artist, album or track…  (Enter to search; "
                                             "typing filters the results shown)")
        self.search_input.setClearButtonEnabled(True)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("search_button")
        self.search_button.setProperty("primary", True)
        self.stop_button = QPushButton("Show now")
        self.stop_button.setObjectName("stop_button")
        self.stop_button.setToolTip("slskd hands over what a search found only when the search ends: "
                                    "end it now and show what arrived so far")
        self.stop_button.setEnabled(False)
        self.again_button = QPushButton("Search again")
        self.again_button.setObjectName("again_button")
        self.again_button.setToolTip("Ask the network again and add what is new, keeping your place")
        self.again_button.setEnabled(False)
        row.addWidget(self.search_input, 1)
        row.addWidget(self.search_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.again_button)
        self.body.addLayout(row)
        self.status_label = ElidedLabel("Type what you are looking for and press Enter.")
        self.status_label.setObjectName("search_status")
        self.status_label.setProperty("muted", True)

        # --- tabs of searches
        self.tabs = QTabBar()
        self.tabs.setObjectName("search_tabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setExpanding(False)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        tab_row = QHBoxLayout()  # the searches' tabs, and the current one's status beside them
        tab_row.setSpacing(16)
        tab_row.addWidget(self.tabs)
        tab_row.addWidget(self.status_label, 1)
        self.body.addLayout(tab_row)

        # --- filters
        self.filters = SearchFilterBar()

        # --- results
        self.model = SearchResultsModel(self)
        self.model.set_status_provider(self._row_status)
        self.view = SearchResultsView(self.model)
        actions = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("download_button")
        self.download_button.setProperty("primary", True)
        self.download_button.setEnabled(False)
        self.download_button.setToolTip("Download the selected albums and tracks (double-click works too)")
        self.preview_button = QPushButton("▶ Preview")
        self.preview_button.setObjectName("preview_button")
        self.preview_button.setToolTip("Listen to the selected track in the player bar before downloading it")
        self.preview_button.setEnabled(False)
        self.counts_label = ElidedLabel("")
        self.counts_label.setProperty("muted", True)
        self.matched_button = QPushButton("Matched download…")
        self.matched_button.setObjectName("matched_button")
        self.matched_button.setToolTip("Link the selection to the official Spotify release, then download it "
                                       "tagged and filed perfectly")
        self.matched_button.setEnabled(False)
        actions.addWidget(self.download_button)
        actions.addWidget(self.matched_button)
        actions.addWidget(self.preview_button)
        actions.addWidget(self.counts_label, 1)

        results_box = QWidget()
        results_layout = QVBoxLayout(results_box)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.filters)
        results_layout.addWidget(self.view, 1)
        results_layout.addLayout(actions)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("downloads_splitter")
        self.splitter.addWidget(results_box)
        self.queue_area = QWidget()
        self.queue_layout = QVBoxLayout(self.queue_area)
        self.queue_layout.setContentsMargins(0, 0, 0, 0)
        self.splitter.addWidget(self.queue_area)
        self.splitter.setChildrenCollapsible(False)
        self.view.setMinimumHeight(90)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([600, 200])  # the results first; the queue keeps at least its buttons and a row
        self.body.addWidget(self.splitter, 1)

        # --- behaviour
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(TYPING_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._typing_paused)
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(1000)
        self._rate_timer.timeout.connect(self._drain_waiting)
        self.search_input.returnPressed.connect(self.search_now)
        self.search_input.textEdited.connect(self._text_edited)
        self.search_button.clicked.connect(self.search_now)
        self.stop_button.clicked.connect(self.stop_current)
        self.again_button.clicked.connect(self.search_again)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.filters.filters_changed.connect(self._filters_changed)
        self.filters.sort_changed.connect(self._sort_changed)
        self.model.counts_changed.connect(self._update_counts)
        self.view.doubleClicked.connect(self._double_clicked)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.download_button.clicked.connect(self.download_selected)
        self.preview_button.clicked.connect(self.preview_selected)
        self.matched_button.clicked.connect(self.matched_download_selected)
        copy = QAction("Copy path", self.view)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.triggered.connect(self._copy_paths)
        self.view.addAction(copy)

    # ---- searching --------------------------------------------------------------
    @property
    def current(self) -> SearchSession | None:
        index = self.tabs.currentIndex()
        return self.sessions[index] if 0 <= index < len(self.sessions) else None

    def search_now(self) -> None:
        """Start a search for the text in the box (Enter, the button)."""
        self._debounce.stop()
        text = self.search_input.text().strip()
        if not text:
            return
        current = self.current
        if current is not None and current.raw_query == text and current.running:
            return
        self.start_search(text)

    def start_search(self, text: str) -> SearchSession | None:
        if not self.context.slskd_configured():
            self.status_label.setText("slskd is not set up yet: add its URL and API key in Settings.")
            return None
        session = SearchSession(text, self)
        if not session.query:
            self.status_label.setText(f"Cannot search “{session.cleaned}”: {UNSEARCHABLE_REASON}." if session.cleaned
                                      else "Nothing left to search for once punctuation is removed.")
            session.deleteLater()
            return None
        session.progress.connect(lambda p, s=session: self._session_progress(s, p))
        session.completed.connect(lambda s=session: self._session_completed(s))
        session.merged.connect(lambda added, s=session: self._session_merged(s, added))
        session.failed.connect(lambda msg, s=session: self._session_failed(s, msg))
        self.sessions.append(session)
        index = self.tabs.addTab(session.query)
        self.tabs.setTabToolTip(index, session.query)
        self.tabs.setCurrentIndex(index)
        self._begin_or_wait(session)
        self._close_oldest_tabs()
        return session

    def _close_oldest_tabs(self) -> None:
        """Keep at most :data:`MAX_SEARCH_TABS` tabs: the oldest finished ones go first, running ones stay."""
        while len(self.sessions) > MAX_SEARCH_TABS:
            current = self.current
            oldest = next((i for i, s in enumerate(self.sessions)
                           if s is not current and (s.state.ended or s.state == SearchState.CANCELLED)), None)
            if oldest is None:
                return
            self.close_tab(oldest)

    def _begin_or_wait(self, session: SearchSession) -> None:
        if self.rate.submit(session):
            self._begin(session)
        else:
            session.state = SearchState.WAITING
            self._rate_timer.start()
        self._refresh_status()

    def _begin(self, session: SearchSession) -> None:
        d = self.context.settings.downloads
        client = self.context.slskd()
        client.retries = SEARCH_RETRIES
        session.start(client, d.search_timeout_ms, d.response_limit, list(d.quality_order))

    def _drain_waiting(self) -> None:
        for session in self.rate.release_due():
            self._begin(session)
        if not self.rate.queued():
            self._rate_timer.stop()
        self._refresh_status()

    def search_again(self) -> None:
        """Run the current tab's search once more; new results join the view."""
        session = self.current
        if session is not None and session.state.ended:
            self._begin_or_wait(session)

    def _session_merged(self, session: SearchSession, added: SearchResults) -> None:
        idx = self.sessions.index(session) if session in self.sessions else -1
        if idx >= 0 and session.results is not None:
            self.tabs.setTabText(idx, f"{session.query} ({session.results.listed_files})")
        if session is self.current:
            state = self.view.capture_state()
            self.model.merge_results(added)
            self.view.restore_state(state)
            self._refresh_status()
            self.status_label.setText(self.status_label.text() + f" (+{len(added.albums) + len(added.singles)} new)")

    def stop_current(self) -> None:
        session = self.current
        if session is not None:
            session.stop_and_show()
            self._refresh_status()

    def close_tab(self, index: int) -> None:
        session = self.sessions.pop(index)
        session.forget()
        self.rate.cancel(session)
        self.tabs.removeTab(index)
        session.deleteLater()
        if not self.sessions:
            self.model.set_results(_EMPTY, "")
            self._refresh_status()

    def _session_progress(self, session: SearchSession, p: SearchProgress) -> None:
        if session is self.current:
            self._refresh_status()

    def _session_completed(self, session: SearchSession) -> None:
        idx = self.sessions.index(session) if session in self.sessions else -1
        if idx >= 0 and session.results is not None:
            self.tabs.setTabText(idx, f"{session.query} ({session.results.listed_files})")
        if session is self.current:
            self._show_session(session)

    def _session_failed(self, session: SearchSession, message: str) -> None:
        if session is self.current:
            self._refresh_status()
        self.announce(message)

    def _refresh_status(self) -> None:
        session = self.current
        searching = bool(session and session.state == SearchState.SEARCHING)
        found = session.last_progress.files if searching and session.last_progress else 0
        self.stop_button.setEnabled(searching)
        self.stop_button.setText(f"Show {counted(found, 'file')} now" if found else "Show now")
        _set_primary(self.stop_button, found > 0)  # files are waiting: showing them is the thing to do
        _set_primary(self.search_button, not found)
        self.again_button.setEnabled(bool(session and session.state.ended))
        if session is None:
            self.status_label.setText("Type what you are looking for and press Enter.")
            return
        p = session.last_progress
        if session.state == SearchState.WAITING:
            wait = self.rate.wait_for(session) or 0.0
            text = (f"Queued: Soulseek allows about {self.rate.limit} searches per {self.rate.window:.0f} s. "
                    f"This one starts in {wait:.0f} s.")
        elif session.state == SearchState.SEARCHING and p is not None and p.queued:
            text = f"“{session.query}”: {p.waiting_text()}; slskd runs two searches at a time."
        elif session.state.running:
            counts = f"{counted(p.responses, 'user')}, {counted(p.files, 'file')}" if p else "asking the network"
            verb = "Stopping" if session.state == SearchState.STOPPING else "Searching"
            text = f"{verb} “{session.query}”: {counts} so far" + (f" ({p.elapsed:.0f} s)" if p else "")
            if found:
                listen = self.context.settings.downloads.search_timeout_ms / 1000
                text += (f". They show when the search ends ({listen:.0f} s after the last answer; "
                         "Settings can shorten that), or now with Show now")
        elif session.state == SearchState.FAILED:
            text = f"Search failed: {session.error}"
        elif session.state == SearchState.DONE and session.results is not None:
            r = session.results
            extra = f"; {r.skipped} malformed entries skipped" if r.skipped else ""
            locked = f"; {len(r.locked)} locked files hidden" if r.locked else ""
            text = (f"“{session.query}”: {r.users} users, {len(r.albums)} albums and "
                    f"{len(r.singles)} single tracks{locked}{extra}")
        else:
            text = f"“{session.query}”: {session.state}"
        self.status_label.setText(text)

    # ---- showing results ----------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        session = self.current
        if session is None:
            return
        self._load_controls(session)
        self._show_session(session)

    def _show_session(self, session: SearchSession) -> None:
        self._refresh_status()
        if session.results is None:
            self.model.set_results(_EMPTY, session.query)
            return
        state = self.view.capture_state()
        self.model.set_sort(session.sort, self.context.settings.downloads.quality_order)
        self.model.set_filter(session.filter)
        self.model.set_results(session.results, session.query, session.sort_keys)
        self.view.restore_state(state)

    def _load_controls(self, session: SearchSession) -> None:
        """Put a tab's own filters and order back into the controls."""
        spec = session.filter
        self.filters.show_spec(spec, session.sort)
        self.search_input.setText(session.raw_query if not spec.text else spec.text)

    def _current_filter(self, text: str | None = None) -> FilterSpec:
        session = self.current
        if text is None:
            text = session.filter.text if session else ""
        return self.filters.filter_spec(text)

    def _apply_filter(self, spec: FilterSpec) -> None:
        session = self.current
        if session is not None:
            session.filter = spec
        state = self.view.capture_state()
        self.model.set_filter(spec)
        self.view.restore_state(state)

    def _filters_changed(self) -> None:
        self._apply_filter(self._current_filter())

    def _sort_changed(self) -> None:
        by = self.filters.sort()
        session = self.current
        if session is not None:
            session.sort = by
        state = self.view.capture_state()
        self.model.set_sort(by, self.context.settings.downloads.quality_order)
        self.view.restore_state(state)

    def _text_edited(self, text: str) -> None:
        """Typing: filter the shown results at once when it refines them; search after a pause otherwise."""
        session = self.current
        if session is not None and session.results is not None and self._refines(session, text):
            self._apply_filter(self._current_filter(text))
            self._debounce.stop()
            return
        if session is not None and session.filter.text:
            self._apply_filter(self._current_filter(""))
        self._debounce.start()

    @staticmethod
    def _refines(session: SearchSession, text: str) -> bool:
        """Whether ``text`` keeps every term of the session's query (so a local filter suffices)."""
        old, _ = query_terms(session.query)
        new, _ = query_terms(text)
        return bool(old) and all(any(n.startswith(o) or o.startswith(n) for n in new) for o in old) \
            and len(new) >= len(old)

    def _typing_paused(self) -> None:
        text = self.search_input.text().strip()
        session = self.current
        if len(text) < 3 or (session is not None and self._refines(session, text)):
            return
        self.start_search(text)

    def _update_counts(self, shown: int, total: int) -> None:
        hidden = total - shown
        self.counts_label.setText(f"{shown} results shown" + (f", {hidden} hidden by filters" if hidden else ""))

    # ---- actions ---------------------------------------------------------------------
    def selected_items(self) -> list[ResultItem]:
        return [self.model.data(i, ItemRole) for i in self.view.selectionModel().selectedRows()]

    def _selection_changed(self) -> None:
        items = self.selected_items()
        self.download_button.setEnabled(bool(items))
        self.preview_button.setEnabled(self._previewable(items) is not None)
        self.matched_button.setEnabled(len(items) == 1)

    @staticmethod
    def _previewable(items: list[ResultItem]):
        """The track a preview would play: the selected track, or an album's first track."""
        if len(items) != 1:
            return None
        item = items[0]
        if isinstance(item, ResultAlbum):
            return item.tracks[0] if item.tracks else None
        return item

    def matched_download_selected(self) -> None:
        items = self.selected_items()
        if len(items) == 1:
            self.matched_download(items[0])

    def matched_download(self, item: ResultItem) -> None:
        """Open the matched-download dialog for one album or track result."""
        from soulsync.ui.dialogs.matched_download import MatchedDownloadDialog

        service = getattr(self, "service", None)
        if service is None:
            return
        dialog = MatchedDownloadDialog(self.context, item, service, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.queued.connect(lambda n: self.announce(f"Queued {n} matched file{'s' if n != 1 else ''}"))
        self.matched_dialog = dialog
        dialog.open()

    def preview_selected(self) -> None:
        track = self._previewable(self.selected_items())
        if track is not None and self._preview is not None:
            self._preview(track)

    def _double_clicked(self, index: QModelIndex) -> None:
        item = self.model.data(index, ItemRole)
        if item is not None and type(item) is not ResultAlbum:
            self.download_items([item])

    def download_selected(self) -> None:
        self.download_items(self.selected_items())

    def download_items(self, items: list[ResultItem]) -> None:
        """Queue the files of the given albums and tracks (an album's tracks once, even if also selected)."""
        tracks, seen = [], set()
        for item in items:
            for track in (item.tracks if isinstance(item, ResultAlbum) else [item]):
                if track.key not in seen:
                    seen.add(track.key)
                    tracks.append(track)
        if tracks:
            self.download_requested.emit(tracks)

    def _context_menu(self, pos) -> None:
        items = self.selected_items()
        if not items:
            return
        menu = QMenu(self)
        menu.addAction("Download", lambda: self.download_items(items))
        if len(items) == 1:
            menu.addAction("Matched download…", lambda: self.matched_download(items[0]))
        if self._previewable(items) is not None:
            menu.addAction("Preview", self.preview_selected)
        menu.addAction("Copy path", self._copy_paths)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _copy_paths(self) -> None:
        from PyQt6.QtWidgets import QApplication

        paths = [i.folder if isinstance(i, ResultAlbum) else i.file.filename for i in self.selected_items()]
        if paths:
            QApplication.clipboard().setText("\n".join(paths))

    def attach(self, service) -> None:
        """Connect to the app's download queue (the main window calls this)."""
        from soulsync.ui.widgets.queue_panel import QueuePanel

        self.service = service
        self.queue_panel = QueuePanel(service, self)
        self.queue_panel.fix_requested.connect(self.fix_download)
        self.queue_layout.addWidget(self.queue_panel)
        self.download_requested.connect(self._enqueue)
        service.diff_ready.connect(lambda _diff: self.model.refresh_status())
        service.error.connect(lambda text: self.announce(f"slskd: {text}") if text else None)
        service.filing.connect(lambda text: self.announce(text) if text else None)
        store = self.context.store
        run_task(lambda ctx: store.queue_items(), owner=self, on_result=self.queue_panel.load)

    def fix_download(self, item) -> None:
        """Manual correction of a failed or wrong download: pick another source by hand."""
        from soulsync.ui.dialogs.manual_correction import ManualCorrectionDialog

        dialog = ManualCorrectionDialog.for_download(self.context, item, self.service, self, rate_limiter=self.rate)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.fix_dialog = dialog
        dialog.open()

    def _enqueue(self, tracks: list) -> None:
        """Queue plain downloads: each file as it is (no fallback: nothing says what it should be)."""
        by_album: dict[str, list] = {}
        for track in tracks:
            by_album.setdefault(track.folder if track.in_album else "", []).append(track)
        for folder, group in by_album.items():
            files = [(t.username, t.file.filename, t.size) for t in group]
            self.service.enqueue(files, source="manual", group_id=folder or None)
        self.announce(f"Queued {len(tracks)} file{'s' if len(tracks) != 1 else ''} for download")

    def set_previewer(self, preview: Callable[[ResultTrack], Any]) -> None:
        """What plays a preview of a result (the main window passes its player bar's)."""
        self._preview = preview

    def attach_library(self, library) -> None:
        """The shared library index, for "in library" badges (the main window calls this)."""
        self.library = library
        self._owned: dict[tuple[str, str], bool] = {}
        library.changed.connect(self._library_changed)

    def _library_changed(self) -> None:
        self._owned.clear()
        self.model.refresh_status()

    def _in_library(self, track) -> bool:
        """Whether the library already has the recording this file's path names (cached per file)."""
        known = self._owned.get(track.key)
        if known is None:
            from soulsync.core.models import Track

            g = track.guess
            wanted = Track(title=g.title, artists=[g.artist] if g.artist else [], album=g.album or "",
                           duration_ms=track.file.length * 1000 if track.file.length else None)
            known = self._owned[track.key] = bool(g.title) and self.library.index.find(wanted) is not None
        return known

    def _row_status(self, item: ResultItem) -> str:
        """"known fake" / "queued" / "in library" badges for a result row (albums: how many of their tracks)."""
        tracks = item.tracks if isinstance(item, ResultAlbum) else [item]
        service = getattr(self, "service", None)
        if service is not None:
            fakes = sum(1 for t in tracks if service.known_fake(t.username, t.file.filename))
            if fakes:
                return "known fake" if fakes == len(tracks) == 1 else f"{fakes} known fake{'s' * (fakes > 1)}"
            queued = sum(1 for t in tracks if service.is_active(t.username, t.file.filename))
            if queued:
                return "queued" if queued == len(tracks) else f"{queued} queued"
        library = getattr(self, "library", None)
        if library is not None and library.ready:
            owned = sum(1 for t in tracks if self._in_library(t))
            if owned:
                return "in library" if owned == len(tracks) else f"{owned} of {len(tracks)} in library"
        return ""

    def shutdown(self) -> None:
        for session in self.sessions:
            session.cancel()


"""Matched download: link a Soulseek search result to the official Spotify album or track before downloading.

``MatchedDownloadDialog(context, item, download_service, parent)`` takes an
album or single-track search result. It proposes Spotify albums (or tracks),
searched in a worker from the result's path guesses and ranked by the matching
engine (cover, year, track count, confidence); the user confirms one or edits
the artist and name and searches again. For the chosen album every file is
shown next to its Spotify track, and files and tracks without a partner are
listed, before anything is written. Confirming enqueues every checked pair
through the :class:`~soulsync.ui.download_service.DownloadService` with the
complete Spotify metadata as the wanted track, so post-processing tags, names
and files it exactly.
"""
from __future__ import annotations

import logging
import uuid
from html import escape
from typing import cast

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.matching import MATCH_THRESHOLD
from soulsync.core.models import Album, Track
from soulsync.core.pairing import (
    AlbumFile,
    AlbumGuess,
    AlbumProposal,
    Pair,
    Pairing,
    SearchCancelled,
    TrackProposal,
    album_file_from_result,
    album_guess_from_result,
    find_albums,
    find_isrcs,
    find_tracks,
    load_album,
    matched_tracks,
    wanted_from_result,
)
from soulsync.core.search import ResultAlbum, ResultTrack
from soulsync.core.store_records import QueueMeta
from soulsync.ui.models.matched import THUMB, PairingModel, Proposal, ProposalModel, proposal_image
from soulsync.ui.models.playlists import fmt_ms
from soulsync.ui.theme import MUTED
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)

COVER = 160
"""Cover size next to the pairing (pixels)."""
MATCHED_SOURCE = "matched"
"""The queue items' ``source``."""


def _spotify_error(exc: Exception) -> str:
    from soulsync.services.checks import describe_error

    return describe_error(exc, "Spotify")[1]


def _fetch_cover(ctx, url: str) -> QImage | None:
    """Worker body: an image from ``url``, decoded and scaled (QImage is safe off the GUI thread)."""
    from soulsync.services.images import fetch_image

    data = fetch_image(url)
    if not data:
        return None
    image = QImage()
    if not image.loadFromData(data):
        return None
    return image.scaled(COVER, COVER, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


class MatchedDownloadDialog(QDialog):
    """Choose the official release for a search result, check the pairing, then download it matched.

    Signals: ``queued(int)``: that many files were handed to the download
    service (emitted just before the dialog accepts).
    """

    queued = pyqtSignal(int)

    def __init__(self, context: AppContext, item: ResultAlbum | ResultTrack, download_service,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.item = item
        self.download_service = download_service
        self.is_album = isinstance(item, ResultAlbum)
        self.files: list[AlbumFile] = ([album_file_from_result(t) for t in item.tracks]
                                       if isinstance(item, ResultAlbum) else [album_file_from_result(item)])
        self.setObjectName("matched_download_dialog")
        self.setWindowTitle("Matched download")
        self.setModal(True)
        self.resize(980, 720)
        self._search_task: TaskHandle | None = None
        self._load_task: TaskHandle | None = None
        self._confirm_task: TaskHandle | None = None
        self._cover_tasks: set[str] = set()
        self._images: dict[str, QImage] = {}
        """Covers by URL, at :data:`COVER` size."""
        self._albums: dict[str, Album] = {}
        """Albums of track proposals, read when one is chosen (by Spotify album id)."""
        self._tasks: list[TaskHandle] = []
        self.pairing: Pairing | None = None

        layout = QVBoxLayout(self)
        self.source_label = QLabel(self._describe_source())
        self.source_label.setObjectName("source_label")
        self.source_label.setWordWrap(True)
        layout.addWidget(self.source_label)

        row = QHBoxLayout()
        self.artist_input = QLineEdit()
        self.artist_input.setObjectName("artist_input")
        self.artist_input.setPlaceholderText("Artist")
        self.title_input = QLineEdit()
        self.title_input.setObjectName("title_input")
        self.title_input.setPlaceholderText("Album" if self.is_album else "Title")
        self.search_button = QPushButton("Search again")
        self.search_button.setObjectName("search_again")
        row.addWidget(QLabel("Artist"))
        row.addWidget(self.artist_input, 2)
        row.addWidget(QLabel("Album" if self.is_album else "Title"))
        row.addWidget(self.title_input, 3)
        row.addWidget(self.search_button)
        layout.addLayout(row)

        self.status_label = QLabel("")
        self.status_label.setObjectName("match_status")
        self.status_label.setProperty("muted", True)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        self.proposal_model = ProposalModel(tracks=not self.is_album, parent=self)
        self.proposal_view = QTableView()
        self.proposal_view.setObjectName("proposal_view")
        self.proposal_view.setModel(self.proposal_model)
        self.proposal_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.proposal_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.proposal_view.setIconSize(QSize(THUMB, THUMB))
        self.proposal_view.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.proposal_view.verticalHeader().setVisible(False)
        header = self.proposal_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

        details = QWidget()
        details_layout = QHBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        side = QVBoxLayout()
        self.cover_label = QLabel()
        self.cover_label.setObjectName("cover_label")
        self.cover_label.setFixedSize(COVER, COVER)
        self.cover_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.release_label = QLabel("")
        self.release_label.setObjectName("release_label")
        self.release_label.setWordWrap(True)
        self.release_label.setFixedWidth(COVER)
        side.addWidget(self.cover_label)
        side.addWidget(self.release_label)
        side.addStretch(1)
        details_layout.addLayout(side)
        self.pairing_model = PairingModel(self)
        self.pairing_view = QTableView()
        self.pairing_view.setObjectName("pairing_view")
        self.pairing_view.setModel(self.pairing_model)
        self.pairing_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pairing_view.verticalHeader().setVisible(False)
        pair_header = self.pairing_view.horizontalHeader()
        pair_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        pair_header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        pair_header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        details_layout.addWidget(self.pairing_view, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.proposal_view)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter, 1)

        self.summary_label = QLabel("")
        self.summary_label.setObjectName("pairing_summary")
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)

        buttons = QDialogButtonBox()
        self.download_button = buttons.addButton("Download matched", QDialogButtonBox.ButtonRole.AcceptRole)
        self.download_button.setObjectName("download_matched")
        self.download_button.setProperty("primary", True)
        self.download_button.setEnabled(False)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        layout.addWidget(buttons)

        self.search_button.clicked.connect(self.search)
        self.artist_input.returnPressed.connect(self.search)
        self.title_input.returnPressed.connect(self.search)
        self.proposal_view.selectionModel().selectionChanged.connect(self._proposal_selected)
        self.pairing_model.dataChanged.connect(self._update_summary)
        self.download_button.clicked.connect(self.confirm)
        self.cancel_button.clicked.connect(self.reject)

        self._guess = album_guess_from_result(item) if isinstance(item, ResultAlbum) else None
        if self._guess is not None:
            guess = self._guess
            self.artist_input.setText("" if guess.artist.casefold() == "various artists" else guess.artist)
            self.title_input.setText(guess.album)
        else:
            wanted = wanted_from_result(cast(ResultTrack, item))
            self.artist_input.setText(wanted.artist)
            self.title_input.setText(wanted.title)
        if not context.spotify_configured():
            self.status_label.setText("Connect Spotify in Settings first: matched downloads take their "
                                      "metadata from Spotify.")
            self.search_button.setEnabled(False)
        else:
            self.search()

    # ---- describing ---------------------------------------------------------------
    def _describe_source(self) -> str:
        """The search result in words (peer-supplied names escaped: this is rich text)."""
        item = self.item
        if isinstance(item, ResultAlbum):
            return (f"<b>{escape(item.display_name)}</b> from {escape(item.username)}: {item.track_count} files, "
                    f"{item.family}<br><span style='color:{MUTED}'>{escape(item.folder)}</span>")
        return (f"<b>{escape(item.display_name)}</b> from {escape(item.username)}: {item.family}"
                + (f", {fmt_ms(item.file.length * 1000)}" if item.file.length else "")
                + f"<br><span style='color:{MUTED}'>{escape(item.file.filename)}</span>")

    def selected_row(self) -> int | None:
        rows = self.proposal_view.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_proposal(self) -> Proposal | None:
        row = self.selected_row()
        return self.proposal_model.rows[row] if row is not None else None

    # ---- searching -----------------------------------------------------------------
    def search(self) -> None:
        """Search Spotify (in a worker) with the artist and name in the boxes."""
        artist, title = self.artist_input.text().strip(), self.title_input.text().strip()
        if not title and not artist:
            self.status_label.setText("Type an artist or a name to search for.")
            return
        for task in (self._search_task, self._load_task):
            if task is not None:
                task.cancel()
        self.proposal_model.set_rows([])
        self._show_pairing(None)
        self.status_label.setText("Searching Spotify…")
        context, files, is_album = self.context, list(self.files), self.is_album
        if self._guess is not None:
            # the folder's year only helps while the name is still the folder's
            year = self._guess.year if title == self._guess.album else None
            guess = AlbumGuess(artist, title, year, len(files))
        else:
            wanted = wanted_from_result(cast(ResultTrack, self.item))  # no album guess: a single file
            wanted.title, wanted.artists = title, [artist] if artist else []

        def work(ctx):
            client = context.spotify()
            cancel = lambda: ctx.cancelled  # noqa: E731
            try:
                if is_album:
                    return find_albums(client, guess, files, cancel=cancel)
                return find_tracks(client, wanted, cancel=cancel)
            except SearchCancelled:
                ctx.check()
                raise

        self._search_task = self._start(work, on_result=self._proposals_found,
                                        on_error=lambda exc: self.status_label.setText(
                                            f"Spotify search failed: {_spotify_error(exc)}"))

    def _start(self, fn, *args, **callbacks) -> TaskHandle:
        handle = run_task(fn, *args, owner=self, **callbacks)
        self._tasks = [t for t in self._tasks if not t.done] + [handle]
        return handle

    def _proposals_found(self, proposals: list[Proposal]) -> None:
        self.proposal_model.set_rows(proposals)
        if not proposals:
            self.status_label.setText("Spotify knows nothing by that name. Edit the artist or name and search "
                                      "again.")
            return
        best = proposals[0]
        what = "album" if self.is_album else "track"
        if best.score >= MATCH_THRESHOLD:
            self.status_label.setText(f"Best {what}: {best.reason}. Pick another below if it is not the right "
                                      "one.")
        else:
            self.status_label.setText(f"No {what} matches well; check the proposals or search again.")
        self.proposal_view.selectRow(0)
        for p in proposals:
            url = proposal_image(p, self.proposal_model.album_images)
            if url:
                self._load_cover(url)

    def _load_cover(self, url: str) -> None:
        if url in self._cover_tasks:
            return
        self._cover_tasks.add(url)
        self._start(_fetch_cover, url, on_result=lambda image, u=url: self._cover_ready(u, image))

    def _cover_ready(self, url: str, image: QImage | None) -> None:
        if image is None:
            return
        self._images[url] = image
        self.proposal_model.set_cover(url, image)
        p = self.selected_proposal()
        if p is not None and proposal_image(p, self.proposal_model.album_images) == url:
            self.cover_label.setPixmap(QPixmap.fromImage(image))

    # ---- choosing ------------------------------------------------------------------
    def _proposal_selected(self) -> None:
        p = self.selected_proposal()
        self._show_release(p)
        if p is None:
            self._show_pairing(None)
            return
        if isinstance(p, TrackProposal):
            self._show_pairing(Pairing(pairs=[Pair(self.files[0], p.track, p.score, p.reason)]))
            self._read_track_album(p)
            return
        if p.pairing is not None:
            self._show_pairing(p.pairing)
            return
        self._show_pairing(None)
        self.summary_label.setText("Reading the album's tracks…")
        if self._load_task is not None:
            self._load_task.cancel()
        context, files, row = self.context, list(self.files), self.selected_row()

        def work(ctx):
            return load_album(context.spotify(), p, files)

        self._load_task = self._start(work, on_result=lambda loaded: self._album_loaded(row, loaded),
                                      on_error=lambda exc: self.summary_label.setText(
                                          f"Could not read the album: {_spotify_error(exc)}"))

    def _read_track_album(self, p: TrackProposal) -> None:
        """Read a chosen track's album (cover, year, track count, release date) in a worker."""
        album_id = p.track.spotify_album_id
        if not album_id or album_id in self._albums:
            return
        context = self.context

        def work(ctx):
            return context.spotify().album(album_id)

        def done(album: Album) -> None:
            self._albums[album_id] = album
            if album.image_url:
                self.proposal_model.album_images[album_id] = album.image_url
                self._load_cover(album.image_url)
            if self.selected_proposal() is p:
                self._show_release(p)

        self._start(work, on_result=done, on_error=lambda exc: log.info("Reading album %s failed: %s",
                                                                        album_id, exc))

    def _album_loaded(self, row: int, proposal: AlbumProposal) -> None:
        self.proposal_model.replace(row, proposal)
        if self.selected_proposal() is proposal:
            self._show_release(proposal)
            self._show_pairing(proposal.pairing)

    def _show_release(self, p: Proposal | None) -> None:
        self.cover_label.clear()
        if p is None:
            self.release_label.setText("")
            return
        album = p.album if isinstance(p, AlbumProposal) else self._albums.get(p.track.spotify_album_id or "")
        if album is not None:
            total = album.total_tracks or len(album.tracks)
            lines = [f"<b>{escape(album.title)}</b>", escape(", ".join(album.artists)),
                     " · ".join(x for x in (album.release_date or str(album.year or ""),
                                             f"{total} tracks" if total else "",
                                             f"{album.disc_total} discs" if album.disc_total > 1 else "") if x)]
            if album.label:
                lines.append(escape(album.label))
        else:
            t = cast(TrackProposal, p).track  # (an album proposal always has its album)
            lines = [f"<b>{escape(t.album)}</b>", escape(", ".join(t.artists)), str(t.year or "")]
        self.release_label.setText("<br>".join(x for x in lines if x))
        url = proposal_image(p, self.proposal_model.album_images)
        if url in self._images:
            self.cover_label.setPixmap(QPixmap.fromImage(self._images[url]))
        elif url:
            self._load_cover(url)

    def _show_pairing(self, pairing: Pairing | None) -> None:
        self.pairing = pairing
        self.pairing_model.set_pairing(pairing)
        self._update_summary()

    def _update_summary(self) -> None:
        pairing = self.pairing
        if pairing is None:
            self.summary_label.setText("")
            self.download_button.setEnabled(False)
            self.download_button.setText("Download matched")
            return
        chosen = len(self.pairing_model.chosen())
        parts = [f"{len(pairing.pairs)} of {len(self.files)} file{'s' if len(self.files) != 1 else ''} paired"]
        if pairing.unpaired_files:
            n = len(pairing.unpaired_files)
            parts.append(f"{n} file{'s' if n != 1 else ''} without a track will not be downloaded")
        if pairing.unpaired_tracks:
            n = len(pairing.unpaired_tracks)
            parts.append(f"{n} track{'s' if n != 1 else ''} of the album {'have' if n != 1 else 'has'} no file")
        weak = sum(1 for p in pairing.pairs if p.score < MATCH_THRESHOLD)
        if weak:
            parts.append(f"{weak} doubtful pair{'s' if weak != 1 else ''} (check the Match column)")
        self.summary_label.setText("; ".join(parts) + ".")
        self.download_button.setEnabled(chosen > 0 and self._confirm_task is None)
        self.download_button.setText(f"Download {chosen} matched file{'s' if chosen != 1 else ''}")

    # ---- confirming ----------------------------------------------------------------
    def confirm(self) -> None:
        """Complete the metadata (album, ISRCs) in a worker, then enqueue every checked pair and close."""
        p = self.selected_proposal()
        pairs = self.pairing_model.chosen()
        if p is None or not pairs or self._confirm_task is not None:
            return
        if not self.context.slskd_configured():
            self.summary_label.setText("slskd is not set up: add its URL and API key in Settings.")
            return
        self.download_button.setEnabled(False)
        self.summary_label.setText("Completing the metadata…")
        context = self.context
        known = self._albums.get(p.track.spotify_album_id or "") if isinstance(p, TrackProposal) else None

        def work(ctx):
            client = context.spotify()
            cancel = lambda: ctx.cancelled  # noqa: E731
            if isinstance(p, AlbumProposal):
                album = p.album
                tracks = find_isrcs(client, album, matched_tracks(album, [x.track for x in pairs]), cancel=cancel)
            else:
                track = p.track
                album = known or (client.album(track.spotify_album_id) if track.spotify_album_id else Album(
                    track.album, [track.album_artist or track.artist], year=track.year))
                tracks = matched_tracks(album, [track])
            return album, [(x.file.ref, t) for x, t in zip(pairs, tracks)]

        def failed(exc: Exception) -> None:
            self._confirm_task = None
            self.summary_label.setText(f"Could not complete the metadata: {_spotify_error(exc)}")
            self._update_summary()

        self._confirm_task = self._start(work, on_result=self._enqueue, on_error=failed)

    def _enqueue(self, value: tuple[Album, list[tuple[ResultTrack, Track]]]) -> None:
        album, entries = value
        group_id = f"matched-{uuid.uuid4().hex[:12]}"
        meta = QueueMeta(cover_url=album.image_url, release_date=album.release_date,
                         spotify_album_id=album.spotify_id)
        for ref, wanted in entries:
            self.download_service.enqueue([(ref.username, ref.file.filename, ref.size)], wanted=wanted,
                                          source=MATCHED_SOURCE, group_id=group_id, meta=meta)
        log.info("Matched download: %d files of %s queued as %s", len(entries), album.title, group_id)
        self.queued.emit(len(entries))
        self._confirm_task = None
        self.accept()

    def done(self, result: int) -> None:
        """Closing (either way) drops whatever still runs for this dialog."""
        for task in self._tasks:
            if not task.done:
                task.cancel()
        super().done(result)

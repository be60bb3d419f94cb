"""Album mode: find one user's folder on Soulseek that covers a release, checked track by track.

For each release (a Spotify album with its tracks) the release is searched
(a few query forms), every album folder of the results is paired with the
release's tracks by :func:`soulsync.core.pairing.pair_album`, and the folder
that covers most of the wanted tracks (then: best quality, free slot, speed)
wins, provided it covers enough of them. The chosen files come back paired
with fully tagged Spotify tracks, ready to be queued as matched downloads;
tracks no folder covers are left for the single-track pipeline.

:func:`download_releases` is the album stage of the main job (:mod:`soulsync.core.sync_run`): it queues
the chosen folders' files and follows them until each has ended.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from soulsync.core.queue_model import QueueState

from soulsync.core.models import Album, Track
from soulsync.core.pairing import album_file_from_result, matched_tracks, pair_album
from soulsync.core.peers import finish_class, finish_seconds
from soulsync.core.quality import QualityPrefs, quality_key
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.run_progress import Phase, TrackProgress
from soulsync.core.search import ResultAlbum
from soulsync.core.search_grouping import group_results
from soulsync.core.search_run import SearchCancelled, search_and_wait
from soulsync.core.soulseek_query import network_query
from soulsync.core.store_records import QueueMeta, wanted_key

log = logging.getLogger(__name__)

MIN_COVERAGE = 0.75
"""A folder must hold at least this share of the wanted tracks to be used."""


@dataclass
class AlbumSource:
    """A folder chosen for a release: which file brings which wanted track."""

    username: str
    folder: str
    files: list[tuple[tuple[str, str, int], Track]]
    """((username, remote filename, size), the Spotify track it is, fully tagged)."""
    coverage: float
    quality: str


@dataclass
class AlbumPlan:
    release: Album
    wanted: list[Track]
    source: AlbumSource | None = None
    uncovered: list[Track] = field(default_factory=list)
    """Wanted tracks the chosen folder does not bring (or all of them when there is no folder)."""
    reason: str = ""


def album_search_forms(artist: str, title: str) -> list[str]:
    """Soulseek searches for a release, best first: artist and title, then the title alone.

    Each is what slskd really searches (:func:`~soulsync.core.soulseek_query.network_query`);
    forms with nothing searchable left are skipped."""
    forms: list[str] = []
    for text in (f"{artist} {title}", title):
        query = network_query(text)
        if query and query.lower() not in (f.lower() for f in forms):
            forms.append(query)
    return forms


def _acceptable(album: ResultAlbum, prefs: QualityPrefs) -> bool:
    return prefs.acceptable(album.ext, album.min_bitrate)


def choose_source(release: Album, wanted: list[Track], albums: list[ResultAlbum], prefs: QualityPrefs,
                  min_coverage: float = MIN_COVERAGE) -> AlbumSource | None:
    """The best folder among ``albums`` for the ``wanted`` tracks of ``release``, or None."""
    want = {wanted_key(t) for t in wanted}
    tagged = {wanted_key(t): t for t in matched_tracks(release)}
    best: tuple | None = None
    for album in albums:
        if not _acceptable(album, prefs) or not album.tracks:
            continue
        files = [album_file_from_result(t) for t in album.tracks if prefs.acceptable(t.ext, t.bitrate)]
        pairing = pair_album(files, release.tracks)
        chosen = [(p.file.ref, tagged.get(wanted_key(p.track), p.track)) for p in pairing.pairs
                  if wanted_key(p.track) in want]
        coverage = len(chosen) / len(want) if want else 0.0
        if coverage < min_coverage:
            continue
        finish = finish_seconds(album.size, album.upload_speed, album.has_free_slot, album.queue_length)
        rank = (-coverage, quality_key(album.ext, album.bitrate, album.bit_depth, album.sample_rate, album.is_vbr,
                                       prefs.order), finish_class(finish), album.queue_length, -album.upload_speed)
        if best is None or rank < best[0]:
            best = (rank, album, chosen, coverage)
    if best is None:
        return None
    _rank, album, chosen, coverage = best
    from soulsync.core.quality import quality_label

    sources = [((r.username, r.file.filename, r.size), track) for r, track in chosen]
    return AlbumSource(album.username, album.folder, sources, coverage,
                       quality_label(album.ext, album.bitrate, album.bit_depth, album.sample_rate, album.is_vbr))


def plan_release(client: Any, release: Album, wanted: list[Track], prefs: QualityPrefs, timeout_ms: int = 6000,
                 response_limit: int = 250, before_search: Callable[[], None] | None = None,
                 cancelled: Callable[[], bool] = lambda: False) -> AlbumPlan:
    """Search for the release (a couple of query forms) and choose a folder for its wanted tracks.

    ``before_search()`` is called before each search (e.g. to wait for the
    search rate limiter). Search failures leave every track uncovered with the
    reason, so the single-track pipeline can still try.
    """
    plan = AlbumPlan(release, list(wanted))
    seen_folders: set[tuple[str, str]] = set()
    albums: list[ResultAlbum] = []
    try:
        for query in album_search_forms(release.artist, release.title):
            if cancelled():
                break
            if before_search is not None:
                before_search()
            results = group_results(search_and_wait(client, query, timeout_ms, response_limit,
                                                    cancelled=cancelled, forget=True))
            albums.extend(a for a in results.albums if a.key not in seen_folders)
            seen_folders.update(a.key for a in results.albums)
            plan.source = choose_source(release, wanted, albums, prefs)
            if plan.source is not None and plan.source.coverage >= 1.0:
                break
    except Exception as exc:  # a failed search is not fatal: the tracks go to the single-track pipeline
        log.warning("Album search for %s failed: %s", release.title, exc)
        plan.reason = f"album search failed: {exc}"
    covered = {wanted_key(t) for _f, t in plan.source.files} if plan.source else set()
    plan.uncovered = [t for t in wanted if wanted_key(t) not in covered]
    if plan.source is None and not plan.reason:
        plan.reason = "no folder on Soulseek covers this release"
    return plan


# ----------------------------------------------------------------------------- the album stage of a run

_ITEM_PHASES = {QueueState.SUCCEEDED: Phase.DOWNLOADED, QueueState.FAILED: Phase.FAILED,
                QueueState.CANCELLED: Phase.CANCELLED}
"""Queue item end states and the phase a run's row takes from them."""


def download_releases(releases: Sequence[Any], *, client: Any, queue: Any, prefs: QualityPrefs,
                      limiter: SearchRateLimiter, timeout_ms: int, response_limit: int,
                      on_rows: Callable[[list[TrackProgress]], None], on_track: Callable[[TrackProgress], None],
                      on_note: Callable[[str], None], cancelled: Callable[[], bool],
                      wait: Callable[[float], bool]) -> list[TrackProgress]:
    """Album mode: queue each release's missing tracks from one folder that covers it, and follow them.

    ``releases`` are :class:`~soulsync.core.discography.ReleaseState` objects. Returns a row per track
    handled here; the caller sends those not downloaded on to the single-track stage. ``wait(s)``
    waits (the download queue is ticked by someone else meanwhile) and returns True when cancelled."""
    rows: list[TrackProgress] = []

    def slot() -> None:
        """Wait for a search slot (the rate limit is shared with every other search of the app)."""
        while not limiter.try_acquire():
            if wait(min(5.0, max(0.5, limiter.time_until_free()))) or cancelled():
                raise SearchCancelled("cancelled while waiting for a search slot")

    for n, release in enumerate(releases):
        if cancelled():
            break
        album, missing = release.album, release.missing_tracks
        if not missing:
            continue
        on_note(f"Looking for a folder with “{album.title}” ({n + 1} of {len(releases)})…")
        plan = plan_release(client, album, missing, prefs, timeout_ms, response_limit,
                            before_search=slot, cancelled=cancelled)
        if plan.source is None:
            continue
        group = f"album:{album.spotify_id or uuid.uuid4().hex}"
        meta = QueueMeta(cover_url=album.image_url, release_date=album.release_date,
                         spotify_album_id=album.spotify_id)
        for remote, track in plan.source.files:
            items = queue.enqueue([remote], wanted=track, source="album", group_id=group, meta=meta)
            rows.append(TrackProgress(wanted_key(track), track, [], Phase.QUEUED,
                                      f"from {plan.source.username}'s folder ({plan.source.quality})",
                                      queue_item_id=items[0].id if items else None))
        on_rows(list(rows))
    while rows and not cancelled():
        pending = 0
        for row in rows:
            item = queue.get(row.queue_item_id) if row.queue_item_id else None
            if item is None or row.phase.finished:
                continue
            state = QueueState(item.state)
            phase = _ITEM_PHASES.get(state)
            if phase is None:
                pending += 1
                row.phase = Phase.DOWNLOADING if state is QueueState.IN_PROGRESS else Phase.QUEUED
                row.percent = item.percent
            else:
                row.phase, row.final_path = phase, item.final_path
                row.detail = item.reason if phase is not Phase.DOWNLOADED else row.detail
            on_track(row)
        if not pending or wait(0.5):
            break
    return rows

"""The fault matrix (issue 10, item 1): every service fault, driven through the page that uses the service.

Rows are page operations: Sync -> "Refresh playlists" (Spotify; the fault on the first request, or on
page 3 of the 650-track playlist), Sync -> "Rescan library" (Plex), Artists -> an artist's discography
(Spotify), Downloads -> search (slskd), a download followed in the Downloads queue (slskd), and Sync ->
"Download missing" searching slskd and queueing what it found. Columns are faults injected at run time
into the simulations: the generic HTTP faults of ``soulsync/sim/base.py``, a stopped server (connection
refused on the same port), Spotify's token expiry and revocation, slskd logged out of Soulseek and slskd
restarted with its transfer list gone. Every cell asserts:

* no crash, no freeze: a 20 ms QTimer heartbeat on the GUI thread never goes quiet for more than 1 s
  (and the suite's network guard fails the test if the GUI thread opens a socket);
* the user is told: the expected words on the page concerned and in the status bar;
* retries: a passing fault (a few hits) ends in success; a lasting one ends in words that say so;
* nothing is lost: cached playlists still shown (and never half a playlist stored as if complete), the
  library index unchanged after a failed rescan, a loaded discography still shown after a failed reload,
  a queued download still listed, then finished exactly once, a missing track downloaded (or reported)
  and queued only once.

Client timeouts are 1 s here (each service's "Network timeout" setting), so a "timeout" is an
answer delayed by 2.5 s; the slskd simulation runs at time scale 50.
"""
from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import pytest
from PyQt6.QtCore import QThreadPool, QTimer

from soulsync.core.models import Playlist, Track
from soulsync.sim.base import FaultRule
from soulsync.ui.main_window import MainWindow
from soulsync.ui.workers import run_task

CLIENT_TIMEOUT_S = 1.0
SLOW_S = CLIENT_TIMEOUT_S + 1.5
"""Latency of a "timeout" fault: well beyond the client's timeout."""
MAX_GAP_S = 1.0
"""The GUI thread may not go quiet for longer than this during an operation."""
OP_TIMEOUT_MS = 30_000
RETRY_BASE_S = 0.25
"""The pages' first retry wait (1 s in the app), so that a cell with two retries takes under a second."""


# ---------------------------------------------------------------------------------------------------
# the matrix
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """What one fault must lead to for one operation.

    ``outcome``: ``recovers`` (ends in success once the fault is used up; ``words``, when given, is
    the retry notice shown meanwhile on the page and in the status bar; without, the client's own
    retries or token renewal keep it silent), ``reports`` (ends in ``words`` on the page and in the
    status bar, nothing lost) or, for the queue, ``resumes`` (the queue shows ``words`` while the
    fault lasts, keeps the item, and finishes it afterwards).
    """

    outcome: str
    words: str = ""


FAULTS = ("refused", "timeout", "5xx", "5xx-lasting", "429", "401-rejected", "token-expired",
          "reset-mid-body", "malformed", "truncated", "logged-out", "restart")

NOT_SLSKD = "only slskd has a Soulseek login and a transfer list"
AGAIN = r"Trying again in [\d.]+ s \(attempt 2 of 3\)"
MATRIX: dict[str, dict[str, Cell | str]] = {
    "spotify-refresh": {
        "refused": Cell("reports", r"Cannot reach Spotify"),
        "timeout": Cell("reports", r"Spotify did not answer in time"),
        "5xx": Cell("recovers"),
        "5xx-lasting": Cell("reports", r"Spotify reported an error: Spotify failed \(503\)"),
        "429": Cell("recovers"),
        "401-rejected": Cell("reports", r"Spotify refused the request: .*press Connect"),
        "token-expired": Cell("recovers"),
        "reset-mid-body": Cell("recovers", rf"Spotify: the answer was cut off.*{AGAIN}"),
        "malformed": Cell("recovers", rf"Spotify: the answer was not JSON.*{AGAIN}"),
        "truncated": Cell("recovers", rf"Spotify: the answer was cut off.*{AGAIN}"),
        "logged-out": NOT_SLSKD,
        "restart": NOT_SLSKD,
    },
    "spotify-paging": {
        # the fault hits page 3 (items 101-150) of "Everything I Love" (650 tracks), the first playlist fetched
        "refused": Cell("reports", r"Cannot reach Spotify"),
        "timeout": Cell("reports", r"could not read: Everything I Love \(Spotify did not answer in time"),
        "5xx": Cell("recovers"),
        "5xx-lasting": Cell("reports", r"could not read: Everything I Love \(Spotify reported an error: "
                                       r"Spotify failed \(503\)"),
        "429": Cell("recovers"),
        "401-rejected": Cell("reports", r"could not read: Everything I Love \(Spotify refused the request: "
                                        r".*press Connect"),
        "token-expired": Cell("recovers"),
        "reset-mid-body": Cell("recovers", rf"Spotify: the answer was cut off.*{AGAIN}"),
        "malformed": Cell("recovers", rf"Spotify: the answer was not JSON.*{AGAIN}"),
        "truncated": Cell("recovers", rf"Spotify: the answer was cut off.*{AGAIN}"),
        "logged-out": NOT_SLSKD,
        "restart": NOT_SLSKD,
    },
    "plex-rescan": {
        "refused": Cell("reports", r"Library scan failed: Cannot reach Plex"),
        "timeout": Cell("reports", r"Library scan failed: Plex did not answer in time"),
        "5xx": Cell("recovers", rf"Plex reported an error: the server failed \(503\).*{AGAIN}"),
        "5xx-lasting": Cell("reports", r"Library scan failed: Plex reported an error: .*\(503\)"),
        "429": Cell("recovers", rf"Plex asks to slow down\. {AGAIN}"),
        "401-rejected": Cell("reports", r"Library scan failed: Plex refused the request: .*Plex token"),
        "token-expired": "Plex tokens do not expire; a revoked token is the 401-rejected cell",
        "reset-mid-body": Cell("recovers", rf"Plex: the answer was cut off.*{AGAIN}"),
        "malformed": Cell("recovers", rf"Plex: the answer was not valid XML.*{AGAIN}"),
        "truncated": Cell("recovers", rf"Plex: the answer was cut off.*{AGAIN}"),
        "logged-out": NOT_SLSKD,
        "restart": NOT_SLSKD,
    },
    "artists-discography": {
        "refused": Cell("reports", r"Cannot reach Spotify"),
        "timeout": Cell("reports", r"Spotify did not answer in time"),
        "5xx": Cell("recovers"),
        "5xx-lasting": Cell("reports", r"Spotify reported an error: Spotify failed \(503\) while listing an "
                                       r"artist's albums"),
        "429": Cell("recovers"),
        "401-rejected": Cell("reports", r"Spotify refused the request: .*press Connect"),
        "token-expired": Cell("recovers"),
        "reset-mid-body": Cell("recovers", rf"Spotify: the answer was cut off.*{AGAIN}"),
        "malformed": Cell("recovers", rf"Spotify: the answer was not JSON.*{AGAIN}"),
        "truncated": Cell("recovers", rf"Spotify: the answer was cut off.*{AGAIN}"),
        "logged-out": NOT_SLSKD,
        "restart": NOT_SLSKD,
    },
    "slskd-search": {
        "refused": Cell("reports", r"Cannot reach slskd"),
        "timeout": Cell("reports", r"slskd did not answer in time"),
        "5xx": Cell("recovers"),
        "5xx-lasting": Cell("reports", r"slskd reported an error: slskd failed while reading a search"),
        "429": Cell("recovers"),
        "401-rejected": Cell("reports", r"slskd refused the request: slskd rejected the API key"),
        "token-expired": Cell("recovers"),
        "reset-mid-body": Cell("recovers"),
        "malformed": Cell("recovers"),
        "truncated": Cell("recovers"),
        "logged-out": Cell("reports", r"slskd is up but not ready: slskd is not logged in to the Soulseek network"),
        "restart": Cell("reports", r"that search no longer exists in slskd"),
    },
    "slskd-queue": {
        "refused": Cell("resumes", r"connection refused"),
        "timeout": Cell("resumes", r"no answer in time"),
        "5xx": Cell("resumes", r"slskd failed while listing downloads"),
        "5xx-lasting": Cell("resumes", r"slskd failed while listing downloads"),
        "429": Cell("resumes", r"slskd is busy"),
        "401-rejected": Cell("resumes", r"slskd rejected the API key"),
        "token-expired": Cell("recovers"),
        "reset-mid-body": Cell("resumes", r"cut off|reset"),
        "malformed": Cell("resumes", r"not valid JSON"),
        "truncated": Cell("resumes", r"cut off"),
        "logged-out": Cell("resumes", r"not logged in to the Soulseek network"),
        "restart": Cell("resumes", r"connection refused|no answer in time"),
    },
    "sync-download-missing": {
        "refused": Cell("resumes", r"Cannot reach slskd"),
        "timeout": Cell("recovers", r"slskd did not answer in time"),
        "5xx": Cell("recovers", r"slskd reported an error: slskd failed while reading a search"),
        "5xx-lasting": Cell("reports", r"slskd reported an error: slskd failed while reading a search"),
        "429": Cell("recovers", r"slskd asks to slow down"),
        "401-rejected": Cell("reports", r"slskd refused the request: slskd rejected the API key"),
        "token-expired": Cell("recovers"),
        "reset-mid-body": Cell("recovers", r"slskd: the answer was cut off|Cannot reach slskd: the connection was "
                                           r"reset"),
        "malformed": Cell("recovers", r"slskd: slskd sent an answer that is not valid JSON"),
        "truncated": Cell("recovers", r"slskd: the answer was cut off"),
        "logged-out": Cell("resumes", r"slskd is up but not ready: slskd is not logged in"),
        "restart": Cell("recovers", r"that search no longer exists in slskd"),
    },
}


def _cells() -> list:
    params = []
    for op, row in MATRIX.items():
        for fault in FAULTS:
            cell = row[fault]
            if isinstance(cell, str):
                params.append(pytest.param(op, fault, None, id=f"{op}-{fault}",
                                           marks=pytest.mark.skip(reason=f"does not apply: {cell}")))
            else:
                params.append(pytest.param(op, fault, cell, id=f"{op}-{fault}"))
    return params


# ---------------------------------------------------------------------------------------------------
# watching the GUI
# ---------------------------------------------------------------------------------------------------

class Heartbeat:
    """A QTimer on the GUI thread; ``max_gap`` is the longest quiet spell between two beats (a freeze)."""

    def __init__(self, interval_ms: int = 20, on_beat: Callable[[], None] | None = None) -> None:
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._on_beat = on_beat
        self._last = 0.0
        self.max_gap = 0.0
        self.beats = 0

    def start(self) -> None:
        self._last = time.monotonic()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._beat()

    def _beat(self) -> None:
        now = time.monotonic()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.beats += 1
        if self._on_beat is not None:
            self._on_beat()


@dataclass
class Seen:
    """Everything the user was shown during one operation."""

    status_bar: list[str]
    page: list[str]

    def assert_told(self, words: str) -> None:
        pattern = re.compile(words)
        assert any(pattern.search(m) for m in self.page), f"page never said {words!r}: {self.page}"
        assert any(pattern.search(m) for m in self.status_bar), \
            f"status bar never said {words!r}: {self.status_bar}"


def _record(signal, into: list[str]) -> None:
    signal.connect(lambda text: into.append(text) if text else None)


def _watch(seen: Seen, label) -> bool:
    """Note the label's text when it changed (called while waiting); always True, to sit inside a waitUntil."""
    text = label.text()
    if text and (not seen.page or seen.page[-1] != text):
        seen.page.append(text)
    return True


def _watch_dialog(seen: Seen, dialog) -> bool:
    """Note every new text of a Download missing dialog: its rows' details and its counts line."""
    for text in [row.detail for row in dialog.model.rows] + [dialog.counts.text()]:
        if text and text not in seen.page:
            seen.page.append(text)
    return True


# ---------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------

@pytest.fixture
def context(demo_context):
    """The demo context with 1 s network timeouts for every service (their settings) and a 0.2 s queue poll."""
    ctx = demo_context
    for service in (ctx.settings.spotify, ctx.settings.plex, ctx.settings.slskd):
        service.timeout_s = CLIENT_TIMEOUT_S
    ctx.settings.downloads.poll_interval_s = 0.2
    return ctx


@pytest.fixture(autouse=True)
def healthy_world(sim_world):
    """Every cell starts and ends with healthy simulations."""
    yield
    sim_world.spotify.start()
    sim_world.plex.start()
    sim_world.slskd.start()
    for server in (sim_world.spotify, sim_world.plex, sim_world.slskd):
        server.faults.clear()
        server.faults.__dict__.pop("take", None)  # an on_request() watcher
    sim_world.slskd.transfer_faults.clear()
    sim_world.slskd.login()


@pytest.fixture
def window(qtbot, context):
    win = MainWindow(context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    for page in win.pages.values():  # a Download missing run still going (a failed cell) is cancelled
        dialog = getattr(page, "download_dialog", None)
        if dialog is not None and dialog.running:
            dialog.reject()
            qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    win.downloads.stop()


def use_slskd_password(context, sim_world) -> None:
    """Log in to slskd with a username and password (a JWT that can expire) instead of the API key."""
    s = context.settings.slskd
    s.auth_mode, s.username = "password", sim_world.slskd.username
    context.secrets.set("slskd_password", sim_world.slskd.password)


# ---------------------------------------------------------------------------------------------------
# fault injection
# ---------------------------------------------------------------------------------------------------

PAGED_PLAYLIST = r"^GET /v1/playlists/{id}/(items|tracks)$"
"""A playlist's tracks, 50 per page: every page is a request to this path (the offset is in the query)."""
FAULTY_PAGE = 3
TARGETS = {
    "spotify-refresh": r"^GET /v1/me/playlists",
    "plex-rescan": r"^GET /library/sections/\d+/all",
    "artists-discography": r"^GET /v1/artists/[^/]+/albums$",
    "slskd-search": r"^GET /api/v0/searches/[0-9a-f-]+$",
    "slskd-queue": r"^GET /api/v0/transfers/downloads$",
    "sync-download-missing": r"^GET /api/v0/searches/[0-9a-f-]+$",
}
"""The request each operation depends on most (its listing, or the search's state polls)."""
RATE_LIMITED = {
    "slskd-search": r"^POST /api/v0/searches$",
    "slskd-queue": r"^POST /api/v0/transfers/downloads/",
    "sync-download-missing": r"^POST /api/v0/searches$",
}
"""slskd answers 429 when starting a search or enqueueing, so that is where its 429 goes."""
SERVICE_OF = {"spotify-refresh": "spotify", "spotify-paging": "spotify", "plex-rescan": "plex",
              "artists-discography": "spotify", "slskd-search": "slskd", "slskd-queue": "slskd",
              "sync-download-missing": "slskd"}


def server_of(op: str, world):
    """The simulation an operation talks to."""
    return {"spotify": world.spotify, "plex": world.plex, "slskd": world.slskd}[SERVICE_OF[op]]


def on_request(sim, match: str, nth: int, action: Callable[[], None], drop: bool = False) -> threading.Event:
    """Run ``action`` in the simulation's request thread when the ``nth`` request matching ``match``
    arrives, before the simulation looks at it (a sim-level fault at an exact moment, e.g. a token
    expiring between page 2 and page 3); ``drop``: that request's connection is then reset without an
    answer (the server went down under it). The returned event is set once it ran."""
    pattern, count, fired = re.compile(match), [0], threading.Event()
    take = sim.faults.take

    def watching(method: str, path: str):
        if pattern.search(f"{method} {path}"):
            count[0] += 1
            if count[0] == nth:
                action()
                fired.set()
                if drop:
                    return FaultRule("reset")
        return take(method, path)

    sim.faults.take = watching  # removed again by the healthy_world fixture
    return fired


def on_page(sim, match: str, kind: str, tries: int | None, repeat: int = 1, **rule) -> None:
    """A fault on page ``FAULTY_PAGE`` of a paged listing: a 0 s latency rule lets the pages before
    it through untouched (the first matching rule fires), then the fault hits ``tries`` requests (the
    client's own retries of that page); ``repeat`` times, for a page-level retry of the whole listing."""
    for _ in range(repeat):
        sim.faults.add("latency", match=match, seconds=0.0, count=FAULTY_PAGE - 1)
        sim.faults.add(kind, match=match, count=tries, **rule)


def inject_paging(fault: str, world, match: str) -> threading.Event | None:
    """Apply a fault to page ``FAULTY_PAGE`` of the paged listing ``match``; the event tells a sim-level one fired."""
    sim = world.spotify
    if fault == "refused":  # Spotify goes down just as page 3 is asked for
        return on_request(sim, match, FAULTY_PAGE, sim.stop, drop=True)
    if fault == "timeout":
        on_page(sim, match, "latency", 2, seconds=SLOW_S)
    elif fault == "5xx":
        on_page(sim, match, "status", 2, status=503)
    elif fault == "5xx-lasting":
        on_page(sim, match, "status", None, status=503)
    elif fault == "429":
        on_page(sim, match, "status", 2, status=429, retry_after=0.3)
    elif fault == "401-rejected":  # the user removed the app's access while the listing ran
        return on_request(sim, match, FAULTY_PAGE,
                          lambda: (sim.revoke_refresh_tokens(), sim.expire_tokens()))
    elif fault == "token-expired":
        return on_request(sim, match, FAULTY_PAGE, sim.expire_tokens)
    elif fault == "reset-mid-body":
        on_page(sim, match, "reset", 1, repeat=2, mid_body=True)
    elif fault == "malformed":
        on_page(sim, match, "malformed", 1, repeat=2)
    elif fault == "truncated":
        on_page(sim, match, "truncate", 1, repeat=2)
    return None


def inject(op: str, fault: str, world, context) -> None:
    """Apply a request-level fault before the operation starts (the sim-level ones are applied by the drivers)."""
    sim = server_of(op, world)
    match = TARGETS[op]
    passing = 2 if op != "slskd-queue" else 3
    if fault == "refused":
        sim.stop()
    elif fault == "timeout":
        sim.faults.add("latency", match=match, seconds=SLOW_S, count=2)
    elif fault == "5xx":
        sim.faults.add("status", match=match, status=503, count=passing)
    elif fault == "5xx-lasting":
        sim.faults.add("status", match=match, status=503 if op != "slskd-queue" else 500)
    elif fault == "429":
        sim.faults.add("status", match=RATE_LIMITED.get(op, match), status=429, retry_after=0.3, count=2)
    elif fault == "401-rejected":
        if op == "spotify-refresh":
            world.spotify.revoke_refresh_tokens()
        elif op == "artists-discography":  # an access token is in hand from the first load: it goes too
            world.spotify.revoke_refresh_tokens()
            world.spotify.expire_tokens()
        else:
            sim.faults.add("status", match=match, status=401, count=None if op != "slskd-queue" else passing)
    elif fault == "token-expired":
        if SERVICE_OF[op] == "slskd":
            use_slskd_password(context, world)
        else:
            world.spotify.expire_tokens()
    elif fault == "reset-mid-body":
        sim.faults.add("reset", match=match, mid_body=True, count=passing)
    elif fault == "malformed":
        sim.faults.add("malformed", match=match, count=passing)
    elif fault == "truncated":
        sim.faults.add("truncate", match=match, count=passing)


# ---------------------------------------------------------------------------------------------------
# the operations
# ---------------------------------------------------------------------------------------------------

def spotify_refresh(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen, paged: bool = False) -> None:
    """Sync page, Refresh playlists: cached playlists stay on screen whatever Spotify does.

    ``paged``: the fault hits page 3 of the first playlist's tracks (650 of them, 50 a page) instead of the
    playlist list; a failed or cut-short listing must never be stored as the playlist's tracks, and the
    next refresh after the fault must fetch it whole."""
    store = context.store
    real = world.catalog.playlists[0]
    assert len(real.tracks) > FAULTY_PAGE * 50, "the paged cells need a playlist longer than three pages"
    cached = [Playlist(id=real.id, name=real.name, owner="", source="spotify", snapshot_id="old",
                       tracks=[Track(title="Cached song", artists=["Cached artist"])]),
              Playlist(id="csv:kept", name="Imported list", source="csv",
                       tracks=[Track(title="Imported song", artists=["Someone"])])]
    for playlist in cached:
        store.save_playlist_tracks(playlist)
    page = window.pages["sync"]
    fired = None
    if paged:
        fired = inject_paging(fault, world, PAGED_PLAYLIST.format(id=re.escape(real.id)))
    else:
        inject("spotify-refresh", fault, world, context)
    page._loaded = True  # the operation under test is the explicit refresh, not the first-show one
    window.show_page("sync")
    page.load_cached()
    qtbot.waitUntil(lambda: page.playlist_model.rowCount() == 2, timeout=5000)
    page.retry_base_s = RETRY_BASE_S
    page.refresh_playlists()
    qtbot.waitUntil(lambda: _watch(seen, page.playlist_status) and page._refresh_task is None, timeout=OP_TIMEOUT_MS)
    assert fired is None or fired.is_set(), "the fault never fired: the cell proved nothing"
    names = lambda: {p.name for p in page.playlist_model.playlists}  # noqa: E731
    if cell.outcome == "recovers":
        if cell.words:
            seen.assert_told(cell.words)
        text = page.playlist_status.text()
        assert re.match(r"\d+ playlists; fetched \d+ that changed", text), text
        # the simulation has followed playlists whose tracks the API refuses (403); nothing else may fail
        unreadable = re.findall(r"\(Spotify refused the request: ([^(]*)", text)
        assert all(why.startswith("Spotify does not allow") for why in unreadable), text
        qtbot.waitUntil(lambda: {"Liked Songs", real.name, "Imported list"} <= names(), timeout=5000)
        assert len(store.playlist_tracks(real.id)) == len(real.tracks)  # fetched again: its snapshot changed
        assert not store.playlist_needs_fetch(real.id)
    elif not paged:
        seen.assert_told(cell.words)
        qtbot.waitUntil(lambda: names() == {real.name, "Imported list"}, timeout=5000)
        assert [t.title for t in store.playlist_tracks(real.id)] == ["Cached song"]
        assert page.refresh_button.isEnabled()
    else:
        seen.assert_told(cell.words)
        # the list may have been stored before page 3 failed; the playlist's tracks were not: its cached
        # tracks are still the old ones, and it still counts as not fetched
        qtbot.waitUntil(lambda: {real.name, "Imported list"} <= names(), timeout=5000)
        assert [t.title for t in store.playlist_tracks(real.id)] == ["Cached song"]
        assert store.playlist_needs_fetch(real.id), "a playlist that failed on page 3 was marked as fetched"
        assert page.refresh_button.isEnabled()
        if fault == "401-rejected":
            return  # only a new sign-in (Connect) helps; the first-page row shows the words for it
        # once Spotify is well again, one more refresh fetches the whole playlist
        world.spotify.faults.clear()
        world.spotify.faults.__dict__.pop("take", None)
        world.spotify.start()
        page.refresh_playlists()
        qtbot.waitUntil(lambda: page._refresh_task is None, timeout=OP_TIMEOUT_MS)
        assert len(store.playlist_tracks(real.id)) == len(real.tracks), page.playlist_status.text()


def plex_rescan(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen) -> None:
    """Sync page, Rescan library: a failed rescan leaves the library index as it was."""
    store = context.store
    before = [Track(title=f"Indexed {n}", artists=["Artist"], plex_rating_key=str(900000 + n)) for n in range(3)]
    store.replace_library("plex", before)
    library = window.library
    library.reload()
    qtbot.waitUntil(lambda: library.ready and len(library.tracks) == 3, timeout=5000)
    page = window.show_page("sync")
    library.retry_base_s = RETRY_BASE_S
    inject("plex-rescan", fault, world, context)
    page.rescan_library()
    qtbot.waitUntil(lambda: _watch(seen, page.summary_label) and not library.scanning
                    and page.rescan_button.isEnabled(), timeout=OP_TIMEOUT_MS)
    if cell.outcome == "recovers":
        seen.assert_told(cell.words)
        expected = len(world.catalog.library)
        qtbot.waitUntil(lambda: len(library.tracks) == expected, timeout=10000)
        assert page.summary_label.text().startswith("Full library read"), page.summary_label.text()
        assert store.count_library("plex") == expected
    else:
        seen.assert_told(cell.words)
        assert sorted(t.plex_rating_key for t in store.library_tracks("plex")) == \
            sorted(t.plex_rating_key for t in before)
        assert len(library.tracks) == 3 and library.ready


def _discography_artist(world):
    """A catalog artist (plain ASCII name) with 4 to 6 releases, some of them in the simulated library."""
    releases: dict[str, int] = {}
    for album in world.catalog.albums:
        releases[album.artist] = releases.get(album.artist, 0) + 1
    in_library = {t.album_artist for t in world.catalog.library}
    return min(name for name, n in releases.items() if 4 <= n <= 6 and name.isascii() and name in in_library)


def _release_rows(view) -> list[str]:
    """Every release title shown in the discography tree, in order."""
    model = view.model_
    return [model.index(r, 0, model.index(g, 0)).data() for g in range(model.rowCount())
            for r in range(model.rowCount(model.index(g, 0)))]


def artists_discography(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen) -> None:
    """Artists page: an artist's discography loaded, then reloaded under the fault. A failed reload says
    why, keeps the artist list and the discography loaded before; Reload works once Spotify is well."""
    name = _discography_artist(world)
    others = sorted({t.album_artist for t in world.catalog.library} - {name})[:2]
    library_tracks = [t for t in world.catalog.library if t.album_artist in {name, *others}]
    context.store.replace_library("plex", library_tracks)
    library = window.library
    library.reload()
    qtbot.waitUntil(lambda: library.ready and len(library.tracks) == len(library_tracks), timeout=5000)
    page = window.show_page("artists")
    qtbot.waitUntil(lambda: page.list_model.rowCount() == 3, timeout=5000)
    row = next(r for r in range(page.proxy.rowCount()) if page.proxy.index(r, 0).data() == name)
    page.list_view.setCurrentIndex(page.proxy.index(row, 0))
    qtbot.waitUntil(lambda: page.discography is not None and page._detail_task.done, timeout=OP_TIMEOUT_MS)
    before, shown = page.discography, _release_rows(page.disco_view)
    assert len(before.releases) >= 4 and shown
    seen.page.clear()
    seen.status_bar.clear()
    page.retry_base_s = RETRY_BASE_S
    inject("artists-discography", fault, world, context)
    page.reload_discography_button.click()
    qtbot.waitUntil(lambda: _watch(seen, page.artist_info) and page._detail_task.done, timeout=OP_TIMEOUT_MS)
    assert page.list_model.rowCount() == 3  # the library's artists stay listed
    if cell.outcome == "recovers":
        if cell.words:
            seen.assert_told(cell.words)
        assert page.discography is not before, page.artist_info.text()  # loaded again
        assert re.match(rf"{len(before.releases)} releases: ", page.artist_info.text()), page.artist_info.text()
        assert _release_rows(page.disco_view) == shown
        return
    seen.assert_told(cell.words)
    assert page.discography is before and _release_rows(page.disco_view) == shown, \
        "a failed reload wiped the discography"
    assert "The discography below is from the last load" in page.artist_info.text(), page.artist_info.text()
    assert page.download_all_button.isEnabled() == bool(before.missing_tracks)
    if fault == "401-rejected":
        return  # only a new sign-in (Connect) helps
    # once Spotify is well again, Reload loads it
    world.spotify.faults.clear()
    world.spotify.start()
    assert page.reload_discography_button.isEnabled()
    page.reload_discography_button.click()
    qtbot.waitUntil(lambda: page._detail_task.done, timeout=OP_TIMEOUT_MS)
    assert page.discography is not before and _release_rows(page.disco_view) == shown, page.artist_info.text()


def slskd_search(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen) -> None:
    """Downloads page, search: results, or words saying why not; Search again works once slskd is back."""
    page = window.show_page("downloads")
    album = next(a for a in world.catalog.albums if a.title.isascii() and a.artist.isascii())
    if fault in ("restart", "token-expired"):
        # a search that runs long enough (2.5 s) for slskd to restart or expire the token under it
        context.settings.downloads.search_timeout_ms = int(2500 * world.slskd.time_scale)
    inject("slskd-search", fault, world, context)
    if fault == "logged-out":
        world.slskd.logout()
    page.search_input.setText(album.artist)
    page.search_now()
    session = page.current
    assert session is not None
    if fault in ("restart", "token-expired"):
        qtbot.waitUntil(lambda: session.search_id is not None, timeout=10000)
        if fault == "restart":
            restarting = threading.Thread(target=world.slskd.restart, kwargs={"downtime": 0.3})
            restarting.start()
            qtbot.waitUntil(lambda: not restarting.is_alive(), timeout=10000)
        else:
            world.slskd.expire_tokens()
        assert session.state == "searching", "the search ended before the fault hit it"
    qtbot.waitUntil(lambda: _watch(seen, page.status_label) and session.state in ("done", "failed"),
                    timeout=OP_TIMEOUT_MS)
    if cell.outcome == "recovers":
        assert session.state == "done", page.status_label.text()
        assert session.results is not None and session.results.users > 0
        assert "users" in page.status_label.text()
        return
    assert session.state == "failed"
    assert page.status_label.text().startswith("Search failed: ")
    seen.assert_told(cell.words)
    # once slskd is well again, one click on "Search again" finds what was asked for
    world.slskd.faults.clear()
    world.slskd.start()
    world.slskd.login()
    context.settings.downloads.search_timeout_ms = 6000
    assert page.again_button.isEnabled()
    page.again_button.click()
    qtbot.waitUntil(lambda: session.state in ("done", "failed"), timeout=OP_TIMEOUT_MS)
    assert session.state == "done", page.status_label.text()


def _small_files(world, n: int) -> list[tuple[str, str, int]]:
    """The ``n`` smallest genuine MP3 files of fast peers with a free slot: (username, remote path, size).
    The sim's fakes (band-limited "320"s) are left out: post-processing refuses them."""
    found = []
    for peer in world.slskd.peers:
        if peer.kind == "fast" and peer.free_slot:
            found.extend((world.slskd.factory.size(f.spec), peer.username, f.path)
                         for f in peer.files if f.is_audio and f.extension == "mp3" and not f.locked
                         and not f.spec.lowpass)
    return [(user, path, size) for size, user, path in sorted(found)[:n]]


def slskd_queue(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen, tmp_path: Path) -> None:
    """A download followed in the Downloads queue: shown while slskd misbehaves, never dropped, done once."""
    (tmp_path / "library").mkdir(exist_ok=True)
    context.settings.downloads.library_dir = str(tmp_path / "library")
    context.settings.library.source = "folder"  # filing a download rescans this folder, not the shared Plex
    files = _small_files(world, len(FAULTS) + 1)
    index = FAULTS.index(fault)
    wanted = files[index]
    page = window.show_page("downloads")
    panel = page.queue_panel
    service = window.downloads
    queue = service.queue
    queue.missing_grace_s = 1.0  # a transfer slskd forgot is noticed after 1 s (15 s in the app)
    shown = {"ever": False, "vanished": False}

    def look() -> None:  # every beat: once listed, the wanted download stays listed
        listed = any(i.filename == wanted[1] for i in _items(panel))
        shown["vanished"] |= shown["ever"] and not listed
        shown["ever"] |= listed

    beat = Heartbeat(on_beat=look)
    service.start()
    if fault == "token-expired":
        use_slskd_password(context, world)  # the queue's client is rebuilt for the new login
        first = files[-1]
        service.enqueue([first])
        qtbot.waitUntil(lambda: _states(panel) == ["succeeded"], timeout=OP_TIMEOUT_MS)
        world.slskd.expire_tokens()  # the queue's JWT is now refused: it must log in again by itself
        wanted_states = ["succeeded", "succeeded"]
    else:
        wanted_states = ["succeeded"]
    stall = None
    if fault == "restart":
        stall = world.slskd.transfer_faults.add("stall", user=wanted[0], match=re.escape(wanted[1]), at=0.4)
    elif fault == "logged-out":
        world.slskd.logout()
    elif fault != "token-expired":
        inject("slskd-queue", fault, world, context)
    beat.start()
    service.enqueue([wanted])
    if fault == "refused":
        qtbot.waitUntil(lambda: any("refused" in m for m in seen.page), timeout=10000)
        world.slskd.start()
    elif fault == "5xx-lasting":
        failing = world.slskd.faults.hits.get("status", 0) + 8
        qtbot.waitUntil(lambda: world.slskd.faults.hits.get("status", 0) >= failing, timeout=10000)
        assert [i.finished for i in _items(panel)] == [False]  # 8 failed polls later: kept, not given up
        world.slskd.faults.clear()
    elif fault == "logged-out":
        qtbot.waitUntil(lambda: any("not logged in" in m for m in seen.page), timeout=10000)
        assert [i.state for i in _items(panel)] == ["queued"]
        world.slskd.login()
    elif fault == "restart":
        qtbot.waitUntil(lambda: [i.state for i in _items(panel)] == ["in_progress"], timeout=10000)

        def restart() -> None:
            world.slskd.restart(downtime=1.5)
            world.slskd.transfer_faults.remove(stall)

        restarting = threading.Thread(target=restart)
        restarting.start()
        qtbot.waitUntil(lambda: not restarting.is_alive(), timeout=10000)
    qtbot.waitUntil(lambda: _states(panel) == wanted_states, timeout=OP_TIMEOUT_MS)
    beat.stop()
    assert beat.max_gap < MAX_GAP_S, f"the GUI thread froze for {beat.max_gap:.2f} s"
    assert shown["ever"] and not shown["vanished"], "the queued download vanished from the queue for a moment"
    items = context.store.queue_items()
    assert sorted(i.state for i in items) == wanted_states
    placed = sorted(p.name for p in (tmp_path / "library").rglob("*.mp3"))
    assert len(placed) == len(wanted_states), placed
    if cell.outcome == "resumes":
        seen.assert_told(cell.words)
        qtbot.waitUntil(lambda: panel.error_label.text() == "", timeout=5000)
    else:
        assert not seen.page, f"an expired token was renewed, nothing to tell: {seen.page}"


PATIENCE_S = 2.0
"""How long the Download missing run lets slskd fail before it stops, in the cells where the fault lasts
(2 minutes in the app)."""


def _wanted_tracks(world) -> list[Track]:
    """Catalog tracks (ASCII names) that only fast peers with a free slot share unlocked, shortest first,
    none of them among the slskd-queue row's files: one per fault, so no cell finds a file another left."""
    taken = {path for _user, path, _size in _small_files(world, len(FAULTS) + 1)}
    holders: dict[str, list] = {}
    tracks: dict[str, Track] = {}
    for peer in world.slskd.peers:
        for shared in peer.files:
            if shared.track is not None and shared.is_audio:
                key = shared.track.spotify_id or shared.track.title
                holders.setdefault(key, []).append((peer, shared))
                tracks[key] = shared.track
    good = [tracks[key] for key, found in holders.items()
            if all(p.kind in ("fast", "archivist") and p.free_slot and not f.locked and f.path not in taken
                   for p, f in found) and tracks[key].title.isascii() and tracks[key].artist.isascii()]
    return sorted(good, key=lambda t: (t.duration_ms or 0, t.title))


def sync_download_missing(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen, tmp_path: Path,
                          monkeypatch) -> None:
    """Sync page, Download missing, one missing track: slskd's searches fail under it. The dialog's row
    says what happened; the track ends downloaded once the fault passes, or reported when it lasts (and
    downloaded by running Download missing again afterwards); never lost, never queued twice."""
    from soulsync.ui.dialogs.download_missing import DownloadMissingDialog

    (tmp_path / "library").mkdir(exist_ok=True)
    context.settings.downloads.library_dir = str(tmp_path / "library")
    context.settings.library.source = "folder"  # filing a download rescans this folder, not the shared Plex
    track = _wanted_tracks(world)[FAULTS.index(fault)]
    page = window.pages["sync"]
    page._loaded = True  # no playlist refresh on first show: the operation is the dialog's run
    window.show_page("sync")
    window.downloads.start()
    if cell.outcome == "reports":
        monkeypatch.setattr(DownloadMissingDialog, "service_patience_s", PATIENCE_S)
    if fault in ("restart", "token-expired"):  # a search that runs long enough (1 s) for the fault to hit it
        context.settings.downloads.search_timeout_ms = int(1000 * world.slskd.time_scale)
    if fault == "token-expired":
        use_slskd_password(context, world)
    elif fault == "logged-out":
        world.slskd.logout()
    elif fault != "restart":
        inject("sync-download-missing", fault, world, context)
    transfers_before = {t.id for t in world.slskd.transfers()}
    with shared_pool_busy():  # as when another long run (the Artists page's Download missing) is going
        _download_missing_run(qtbot, page, world, context, fault, cell, seen, tmp_path, monkeypatch, track,
                              transfers_before)


@contextmanager
def shared_pool_busy():
    """All threads of the app's shared pool but one held meanwhile."""
    held = threading.Event()
    for _ in range(QThreadPool.globalInstance().maxThreadCount() - 1):
        run_task(lambda ctx: held.wait(OP_TIMEOUT_MS / 1000))
    try:
        yield
    finally:
        held.set()


def _download_missing_run(qtbot, page, world, context, fault, cell, seen, tmp_path, monkeypatch, track,
                          transfers_before) -> None:
    """The run under the fault, and what must hold after it (see :func:`sync_download_missing`)."""
    from soulsync.core.store_records import wanted_key

    def run_dialog():
        page._open_download_dialog([(track, None)], [])
        return page.download_dialog

    def row():
        return dialog.model.rows[0] if dialog.model.rows else None

    dialog = run_dialog()
    if fault in ("refused", "logged-out"):  # slskd comes back once the row has said why it waits
        qtbot.waitUntil(lambda: _watch_dialog(seen, dialog) and row() is not None
                        and bool(re.search(cell.words, row().detail)), timeout=10000)
        world.slskd.start()
        world.slskd.login()
    elif fault in ("restart", "token-expired"):
        qtbot.waitUntil(lambda: _watch_dialog(seen, dialog) and row() is not None
                        and row().phase.value == "searching", timeout=10000)
        if fault == "restart":
            restarting = threading.Thread(target=world.slskd.restart, kwargs={"downtime": 0.3})
            restarting.start()
            qtbot.waitUntil(lambda: _watch_dialog(seen, dialog) and not restarting.is_alive(), timeout=10000)
        else:
            world.slskd.expire_tokens()
        assert row().phase.value == "searching", "the search ended before the fault hit it"
    qtbot.waitUntil(lambda: _watch_dialog(seen, dialog) and dialog.report is not None, timeout=OP_TIMEOUT_MS)
    report = dialog.report

    def queued() -> list:
        return [i for i in context.store.queue_items() if i.wanted is not None
                and wanted_key(i.wanted) == wanted_key(track)]

    if cell.outcome == "reports":
        seen.assert_told(cell.words)
        assert report.progress.failed == 1, report.summary()
        assert re.search(cell.words, report.tracks[0].detail), report.tracks[0].detail  # the row says why
        assert queued() == []
        # the dialog says where the track went: the wishlist only if it is there
        wished = [t for t, _reason, _tries in context.store.wishlist() if wanted_key(t) == wanted_key(track)]
        assert ("went to the wishlist" in dialog.counts.text()) == bool(wished), dialog.counts.text()
        # once slskd is well again, Download missing once more gets it
        world.slskd.faults.clear()
        monkeypatch.undo()
        dialog = run_dialog()
        qtbot.waitUntil(lambda: dialog.report is not None, timeout=OP_TIMEOUT_MS)
        report = dialog.report
    elif cell.words:
        seen.assert_told(cell.words)
    else:  # the client renewed its login by itself: nothing to tell
        assert not any("slskd" in m for m in seen.status_bar), seen.status_bar
    assert report.progress.downloaded == 1 and report.complete, (report.summary(), report.tracks[0].detail)
    items = queued()
    assert [i.state for i in items] == ["succeeded"], "the track was queued twice" if len(items) > 1 else items
    placed = [p.name for p in (tmp_path / "library").rglob("*") if p.is_file() and p.suffix != ".jpg"]
    assert placed == [Path(items[0].final_path).name], placed
    assert not any(wanted_key(t) == wanted_key(track) for t, _reason, _tries in context.store.wishlist())
    asked = [t for t in world.slskd.transfers() if t.id not in transfers_before]
    assert [(t.username, t.filename) for t in asked] == [(items[0].username, items[0].filename)], \
        "slskd was asked for the file more than once"


def _items(panel) -> list:
    return [panel.active_model.item(r) for r in range(panel.active_model.rowCount())] + \
        [panel.finished_model.item(r) for r in range(panel.finished_model.rowCount())]


def _states(panel) -> list[str]:
    return sorted(i.state for i in _items(panel))


# ---------------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------------

DRIVERS = {
    "spotify-refresh": spotify_refresh,
    "spotify-paging": partial(spotify_refresh, paged=True),
    "plex-rescan": plex_rescan,
    "artists-discography": artists_discography,
    "slskd-search": slskd_search,
    "sync-download-missing": sync_download_missing,
}


@pytest.mark.parametrize("op, fault, cell", _cells())
def test_fault_matrix(qtbot, window, sim_world, context, gui_network_guard, tmp_path, monkeypatch, op, fault, cell):
    seen = Seen(status_bar=[], page=[])
    _record(window.statusBar().messageChanged, seen.status_bar)
    if op == "slskd-queue":
        _record(window.downloads.error, seen.page)
        slskd_queue(qtbot, window, sim_world, context, fault, cell, seen, tmp_path)
    else:
        beat = Heartbeat()
        beat.start()
        extra = {"tmp_path": tmp_path, "monkeypatch": monkeypatch} if op == "sync-download-missing" else {}
        DRIVERS[op](qtbot, window, sim_world, context, fault, cell, seen, **extra)
        beat.stop()
        assert beat.beats > 0 and beat.max_gap < MAX_GAP_S, f"the GUI thread froze for {beat.max_gap:.2f} s"
    if cell.outcome != "reports":
        assert not server_of(op, sim_world).faults.rules(), "the fault was not used up: the cell proved nothing"

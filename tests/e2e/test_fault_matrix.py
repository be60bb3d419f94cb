"""The fault matrix (issue 10, item 1): every service fault, driven through the page that uses the service.

Rows are page operations: Sync -> "Refresh playlists" (Spotify), Sync -> "Rescan library" (Plex),
Downloads -> search (slskd), and a download followed in the Downloads queue (slskd). Columns are faults
injected at run time into the simulations: the generic HTTP faults of ``soulsync/sim/base.py``, a stopped
server (connection refused on the same port), Spotify's token expiry and revocation, slskd logged out of
Soulseek and slskd restarted with its transfer list gone. Every cell asserts:

* no crash, no freeze: a 20 ms QTimer heartbeat on the GUI thread never goes quiet for more than 1 s
  (and the suite's network guard fails the test if the GUI thread opens a socket);
* the user is told: the expected words on the page concerned and in the status bar;
* retries: a passing fault (a few hits) ends in success; a lasting one ends in words that say so;
* nothing is lost: cached playlists still shown, the library index unchanged after a failed rescan,
  a queued download still listed, then finished exactly once.

Client timeouts are 1 s here (each service's "Network timeout" setting), so a "timeout" is an
answer delayed by 2.5 s; the slskd simulation runs at time scale 50.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from PyQt6.QtCore import QTimer

from soulsync.core.models import Playlist, Track
from soulsync.ui.main_window import MainWindow

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
    sim_world.slskd.transfer_faults.clear()
    sim_world.slskd.login()


@pytest.fixture
def window(qtbot, context):
    win = MainWindow(context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.downloads.stop()


def use_slskd_password(context, sim_world) -> None:
    """Log in to slskd with a username and password (a JWT that can expire) instead of the API key."""
    s = context.settings.slskd
    s.auth_mode, s.username = "password", sim_world.slskd.username
    context.secrets.set("slskd_password", sim_world.slskd.password)


# ---------------------------------------------------------------------------------------------------
# fault injection
# ---------------------------------------------------------------------------------------------------

TARGETS = {
    "spotify-refresh": r"^GET /v1/me/playlists",
    "plex-rescan": r"^GET /library/sections/\d+/all",
    "slskd-search": r"^GET /api/v0/searches/[0-9a-f-]+$",
    "slskd-queue": r"^GET /api/v0/transfers/downloads$",
}
"""The request each operation depends on most (its listing, or the search's state polls)."""
RATE_LIMITED = {
    "slskd-search": r"^POST /api/v0/searches$",
    "slskd-queue": r"^POST /api/v0/transfers/downloads/",
}
"""slskd answers 429 when starting a search or enqueueing, so that is where its 429 goes."""


def server_of(op: str, world):
    """The simulation an operation talks to."""
    return {"spotify": world.spotify, "plex": world.plex, "slskd": world.slskd}[op.split("-")[0]]


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
        else:
            sim.faults.add("status", match=match, status=401, count=None if op != "slskd-queue" else passing)
    elif fault == "token-expired":
        if op.startswith("slskd"):
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

def spotify_refresh(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen) -> None:
    """Sync page, Refresh playlists: cached playlists stay on screen whatever Spotify does."""
    store = context.store
    real = world.catalog.playlists[0]
    cached = [Playlist(id=real.id, name=real.name, owner="", source="spotify", snapshot_id="old",
                       tracks=[Track(title="Cached song", artists=["Cached artist"])]),
              Playlist(id="csv:kept", name="Imported list", source="csv",
                       tracks=[Track(title="Imported song", artists=["Someone"])])]
    for playlist in cached:
        store.save_playlist_tracks(playlist)
    page = window.pages["sync"]
    inject("spotify-refresh", fault, world, context)
    page._loaded = True  # the operation under test is the explicit refresh, not the first-show one
    window.show_page("sync")
    page.load_cached()
    qtbot.waitUntil(lambda: page.playlist_model.rowCount() == 2, timeout=5000)
    page.retry_base_s = RETRY_BASE_S
    page.refresh_playlists()
    qtbot.waitUntil(lambda: _watch(seen, page.playlist_status) and page._refresh_task is None, timeout=OP_TIMEOUT_MS)
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
    else:
        seen.assert_told(cell.words)
        qtbot.waitUntil(lambda: names() == {real.name, "Imported list"}, timeout=5000)
        assert [t.title for t in store.playlist_tracks(real.id)] == ["Cached song"]
        assert page.refresh_button.isEnabled()


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
    """The ``n`` smallest MP3 files of fast peers with a free slot: (username, remote path, size)."""
    found = []
    for peer in world.slskd.peers:
        if peer.kind == "fast" and peer.free_slot:
            found.extend((world.slskd.factory.size(f.spec), peer.username, f.path)
                         for f in peer.files if f.is_audio and f.extension == "mp3" and not f.locked)
    return [(user, path, size) for size, user, path in sorted(found)[:n]]


def slskd_queue(qtbot, window, world, context, fault: str, cell: Cell, seen: Seen, tmp_path: Path) -> None:
    """A download followed in the Downloads queue: shown while slskd misbehaves, never dropped, done once."""
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


def _items(panel) -> list:
    return [panel.active_model.item(r) for r in range(panel.active_model.rowCount())] + \
        [panel.finished_model.item(r) for r in range(panel.finished_model.rowCount())]


def _states(panel) -> list[str]:
    return sorted(i.state for i in _items(panel))


# ---------------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op, fault, cell", _cells())
def test_fault_matrix(qtbot, window, sim_world, context, gui_network_guard, tmp_path, op, fault, cell):
    seen = Seen(status_bar=[], page=[])
    _record(window.statusBar().messageChanged, seen.status_bar)
    if op == "slskd-queue":
        _record(window.downloads.error, seen.page)
        slskd_queue(qtbot, window, sim_world, context, fault, cell, seen, tmp_path)
    else:
        beat = Heartbeat()
        beat.start()
        driver = {"spotify-refresh": spotify_refresh, "plex-rescan": plex_rescan, "slskd-search": slskd_search}[op]
        driver(qtbot, window, sim_world, context, fault, cell, seen)
        beat.stop()
        assert beat.beats > 0 and beat.max_gap < MAX_GAP_S, f"the GUI thread froze for {beat.max_gap:.2f} s"
    if cell.outcome != "reports":
        assert not server_of(op, sim_world).faults.rules(), "the fault was not used up: the cell proved nothing"

"""SlskdClient against the slskd simulation over real HTTP: happy paths, reply styles and every fault.

Each fault is injected in the simulation and must reach the caller as the
project exception a person can read. Simulated time runs fast; waits poll a
condition with a deadline.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mutagen
import pytest

from soulsync.core.models import SearchFile, Track, TransferState
from soulsync.services.errors import (
    AuthError, BadResponse, NotFound, NotReady, RateLimited, Refused, ServerError, ServiceTimeout, TLSFailure,
    Unreachable, WrongServer,
)
from soulsync.services.slskd import EnqueueResult, SlskdClient
from soulsync.sim.catalog import build_catalog
from soulsync.sim.peers import ENCODINGS, Peer, SharedFile, voice_of
from soulsync.sim.slskd import SlskdSim


def wait_for(check, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def small_peer(username: str, titles: list[str], encoding: str = "flac", seconds: int = 8, **fields) -> Peer:
    enc = ENCODINGS[encoding]
    files = []
    for number, title in enumerate(titles, 1):
        track = Track(title=title, artists=["Alpha Artist"], album=f"{username} Album", duration_ms=seconds * 1000)
        files.append(SharedFile(f"@@{username}\\Music\\Alpha Artist\\{username} Album\\{number:02d} - {title}.{enc.fmt}",
                                enc.spec(seconds, voice_of(track), ()), track))
    values = {"speed": 400_000, "upload_speed": 400_000, "free_slot": True, "queue_length": 0, "latency": 0.3,
              **fields}
    return Peer(username=username, kind="fast", files=files, **values)


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(seed=1)


@pytest.fixture
def make_sim(tmp_path):
    sims: list[SlskdSim] = []

    def make(peers, **kwargs) -> SlskdSim:
        kwargs.setdefault("time_scale", 20.0)
        sim = SlskdSim(peers, tmp_path / f"slskd{len(sims)}" / "downloads", **kwargs)
        sims.append(sim.start())
        return sim

    yield make
    for sim in sims:
        sim.close()


@pytest.fixture
def sim(make_sim):
    return make_sim([small_peer("alice", ["Song One", "Song Two"]), small_peer("bob", ["Song One"], "mp3_320"),
                     small_peer("gone", ["Song One"], offline=True)])


@pytest.fixture
def api(sim):
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    yield client
    client.close()


def finished(client: SlskdClient, username: str, transfer_id: str, timeout: float = 20):
    return wait_for(lambda: (lambda t: t if t.state.is_finished else None)(client.transfer(username, transfer_id)),
                    timeout, "the transfer to finish")


def completed_search(client: SlskdClient, text: str, **kwargs):
    handle = client.start_search(text, **kwargs)
    return wait_for(lambda: (lambda st: st if st.complete else None)(client.search_state(handle.id)),
                    what=f"search {text!r}")


class CannedServer:
    """A tiny HTTP server answering fixed bodies, for servers that are not (quite) slskd."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, ctype, body = outer.routes.get(self.path.split("?")[0], (404, "text/plain", b""))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.routes = routes
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# application, options, auth
# ---------------------------------------------------------------------------

def test_application_state_and_options(sim, api):
    state = api.application_state()
    assert (state.version, state.connected, state.logged_in) == ("0.26.0", True, True)
    assert state.username == "soulsync_demo" and state.server_state == "Connected, LoggedIn"
    sim.logout()
    down = api.application_state()
    assert not down.logged_in and down.username is None and down.server_state == "Disconnected"
    assert api.downloads_dir() == str(sim.downloads_dir)
    assert api.incomplete_dir() == str(sim.incomplete_dir)
    assert sim.api_key not in repr(api)


def test_jwt_login_and_renewal(sim):
    client = SlskdClient(sim.url, username="slskd", password="slskd", timeout=5)
    assert client.application_state().logged_in
    sim.expire_tokens()
    assert client.searches() == [], "a 401 on an expired token logs in again once"
    sim.faults.add("status", status=401, match="GET /api/v0/options", count=1)
    assert client.downloads_dir() == str(sim.downloads_dir)
    with pytest.raises(AuthError, match="username or password"):
        SlskdClient(sim.url, username="slskd", password="wrong", timeout=5).application_state()
    sim.faults.add("status", status=401, match="GET /api/v0/searches")
    with pytest.raises(AuthError, match="rejected the login"):
        client.searches()


def test_bad_or_missing_api_key(sim):
    with pytest.raises(AuthError, match="API key"):
        SlskdClient(sim.url, api_key="not-the-key-at-all", timeout=5).application_state()
    with pytest.raises(AuthError, match="needs an API key"):
        SlskdClient(sim.url, timeout=5).application_state()


def test_url_base(make_sim):
    behind_proxy = make_sim([small_peer("alice", ["Song One"])], url_base="/slskd")
    client = SlskdClient(behind_proxy.url, api_key=behind_proxy.api_key, url_base="slskd/", timeout=5)
    assert client.api_url.endswith("/slskd/api/v0") and client.application_state().version == "0.26.0"


def test_wrong_servers(sim):
    with pytest.raises(WrongServer, match="web page"):
        SlskdClient(sim.url, api_key=sim.api_key, url_base="/wrong", timeout=5).application_state()
    with pytest.raises(WrongServer, match="no slskd API"):
        SlskdClient(sim.url + "/__sim", api_key=sim.api_key, timeout=5).application_state()
    other = CannedServer({"/api/v0/application": (200, "application/json", b'{"status": "ok"}')})
    try:
        with pytest.raises(WrongServer, match="not with slskd"):
            SlskdClient(other.url, api_key="x" * 16, timeout=5).application_state()
    finally:
        other.close()


# ---------------------------------------------------------------------------
# searches
# ---------------------------------------------------------------------------

def test_search_flow(make_sim):
    peers = [small_peer(f"peer{i}", ["Song One", "Song Two"], latency=0.4 + 0.5 * i) for i in range(4)]
    sim = make_sim(peers, time_scale=4.0)
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    handle = client.start_search("alpha song", search_timeout_ms=1500, response_limit=500)
    assert handle.state in ("Queued", "InProgress") and not handle.complete and not handle.completed
    seen: list[int] = []
    sim.completion_window_max_s = 1e6
    sim.completion_window_s = 1e6  # hold slskd's second write (endedAt and responses) until seen

    def running():
        state = client.search_state(handle.id)
        assert not state.complete, "completed before the counts were seen rising"
        assert client.search_responses(handle.id) == []
        seen.append(state.response_count)
        return state.response_count >= 2

    wait_for(running, what="responses counted while running")
    assert len(set(seen)) >= 2
    completed = wait_for(lambda: (lambda st: st if st.completed else None)(client.search_state(handle.id)))
    assert not completed.complete and completed.ended_at is None and not completed.queued
    assert client.search_responses(handle.id) == [], "Completed comes before the stored responses"
    sim.finalize_searches()
    done = wait_for(lambda: (lambda st: st if st.complete else None)(client.search_state(handle.id)))
    assert done.state == "Completed, TimedOut" and done.outcome == "timed_out"
    assert (done.response_count, done.file_count, done.locked_file_count) == (4, 8, 0)
    responses = client.search_responses(handle.id)
    assert sorted(r["username"] for r in responses) == ["peer0", "peer1", "peer2", "peer3"]
    assert all(len(r["files"]) == 2 for r in responses) and client.skipped_records == 0
    assert [s.id for s in client.searches()] == [handle.id]
    client.delete_search(handle.id)
    client.delete_search(handle.id)
    with pytest.raises(NotFound):
        client.search_state(handle.id)


def test_stop_search_keeps_responses(make_sim):
    sim = make_sim([small_peer("fast", ["Song One"], latency=0.2), small_peer("late", ["Song One"], latency=60)])
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    handle = client.start_search("song one", search_timeout_ms=60_000)
    wait_for(lambda: client.search_state(handle.id).response_count == 1)
    client.stop_search(handle.id)
    stopped = wait_for(lambda: (lambda st: st if st.complete else None)(client.search_state(handle.id)))
    assert stopped.state == "Completed, Cancelled" and stopped.outcome == "cancelled"
    assert [r["username"] for r in client.search_responses(handle.id)] == ["fast"]
    with pytest.raises(ValueError):
        client.start_search("   ")


def test_a_search_slskd_refuses_raises_refused(make_sim):
    """slskd answers 400 when no term is longer than one character (reference 1.5); retrying cannot help."""
    sim = make_sim([small_peer("fast", ["Song One"], latency=0.2)])
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    with pytest.raises(Refused) as caught:
        client.start_search("R E M")
    assert caught.value.kind == "refused" and "length greater than 1" in caught.value.message
    refused = client.searches()
    assert [s.state for s in refused] == ["Completed, Errored"] and refused[0].complete


def test_a_queued_search_says_so(make_sim):
    sim = make_sim([small_peer("fast", ["Song One"], latency=0.2)])
    sim.max_concurrent_searches = 0  # slskd's two slots are busy with another tool's searches
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    handle = client.start_search("song one")
    state = client.search_state(handle.id)
    assert state.queued and not state.completed and state.outcome == "running"
    sim.max_concurrent_searches = 2
    wait_for(lambda: not client.search_state(handle.id).queued, what="the search to start")


def test_search_while_logged_out_and_concurrent(sim, api):
    sim.logout()
    with pytest.raises(NotReady, match="not logged in") as info:
        api.start_search("song one")
    assert "currently: Disconnected" in info.value.message
    sim.login()
    sim.search_post_delay = 0.4 * sim.time_scale
    barrier = threading.Barrier(2)

    def start(i: int):
        barrier.wait()
        try:
            return SlskdClient(sim.url, api_key=sim.api_key, timeout=5).start_search(f"song {i}")
        except RateLimited as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(start, range(2)))
    assert sum(isinstance(r, RateLimited) for r in results) == 1


# ---------------------------------------------------------------------------
# downloads
# ---------------------------------------------------------------------------

def test_enqueue_and_download_list(sim, api):
    alice = sim.peer("alice")
    files = [SearchFile("alice", f.path, sim.factory.size(f.spec)) for f in alice.files]
    result = api.enqueue("alice", files)
    assert isinstance(result, EnqueueResult) and not result.legacy_reply and result.failed == []
    assert [t.filename for t in result.enqueued] == [f.filename for f in files]
    assert all(t.state is TransferState.QUEUED_LOCALLY and t.raw_state == "Queued, Locally" for t in result.enqueued)
    again = api.enqueue("alice", [(files[0].filename, files[0].size)])
    assert again.enqueued == [] and again.failed == [], "0.26 does not name its refusals (0.24: test_..._downloads)"
    for transfer in result.enqueued:
        done = finished(api, "alice", transfer.id)
        assert done.state is TransferState.SUCCEEDED and done.percent_complete == 100
        assert done.bytes_transferred == done.size and done.started_at and done.ended_at
    listed = api.downloads()
    assert sorted(t.id for t in listed) == sorted(t.id for t in result.enqueued)
    api.clear_completed()
    assert api.downloads() == [] and len(api.downloads(include_removed=True)) == 2


def test_legacy_enqueue_reply(make_sim):
    sim = make_sim([small_peer("alice", ["Song One", "Song Two"])], enqueue_style="legacy")
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    files = [{"filename": f.path, "size": sim.factory.size(f.spec)} for f in sim.peer("alice").files]
    result = client.enqueue("alice", files)
    assert result.legacy_reply and result.failed == []
    assert [t.filename for t in result.enqueued] == [f["filename"] for f in files]
    assert all(finished(client, "alice", t.id).state is TransferState.SUCCEEDED for t in result.enqueued)


def test_enqueue_failures(sim, api):
    shared = sim.peer("gone").files[0]
    with pytest.raises(ServerError, match="User gone appears to be offline") as info:
        api.enqueue("gone", [(shared.path, sim.factory.size(shared.spec))])
    assert info.value.status == 500
    sim.logout()
    with pytest.raises(NotReady):
        api.enqueue("alice", [(sim.peer("alice").files[0].path, 1)])
    with pytest.raises(ValueError):
        api.enqueue("alice", [])


def test_cancel_remove_and_place_in_queue(make_sim):
    sim = make_sim([small_peer("busy", ["Song One", "Song Two"], seconds=30, speed=40_000, free_slot=False,
                               queue_length=4, queue_seconds=1.0)], time_scale=4.0)
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=5)
    files = [(f.path, sim.factory.size(f.spec)) for f in sim.peer("busy").files]
    first, second = client.enqueue("busy", files).enqueued
    wait_for(lambda: client.transfer("busy", second.id).state is TransferState.QUEUED_REMOTELY)
    assert client.place_in_queue("busy", second.id) >= 5
    assert client.transfer("busy", second.id).place_in_queue is not None
    client.cancel("busy", second.id, remove=True)
    cancelled = finished(client, "busy", second.id)
    assert cancelled.state is TransferState.CANCELLED and cancelled.exception == "The operation was canceled."
    assert second.id in [t.id for t in client.downloads()], "remove only applies once it is finished"
    client.cancel("busy", second.id, remove=True)
    assert second.id not in [t.id for t in client.downloads()]
    client.cancel("busy", "3f2b8f1e-7c55-4c0e-9d36-0b7f4e9f8a21", remove=True)
    with pytest.raises(NotFound):
        client.transfer("busy", "3f2b8f1e-7c55-4c0e-9d36-0b7f4e9f8a21")
    client.cancel("busy", first.id)
    assert finished(client, "busy", first.id).state is TransferState.CANCELLED


@pytest.mark.parametrize("outcome, expected", [
    ("rejected", TransferState.REJECTED), ("timed_out", TransferState.TIMED_OUT),
    ("errored", TransferState.ERRORED), ("aborted", TransferState.ABORTED),
])
def test_failed_transfers_map_to_states(sim, api, outcome, expected):
    sim.transfer_faults.add(outcome, user="alice")
    shared = sim.peer("alice").files[0]
    transfer = api.enqueue("alice", [(shared.path, sim.factory.size(shared.spec))]).enqueued[0]
    done = finished(api, "alice", transfer.id)
    assert done.state is expected and done.state.is_failure and done.exception


def test_stalled_transfer_stays_in_progress(sim, api):
    rule = sim.transfer_faults.add("stall", user="alice", at=0.25)
    shared = sim.peer("alice").files[0]
    transfer = api.enqueue("alice", [(shared.path, sim.factory.size(shared.spec))]).enqueued[0]
    stalled = wait_for(lambda: (lambda t: t if t.bytes_transferred >= t.size // 4 else None)(
        api.transfer("alice", transfer.id)))
    until = sim.clock.now() + 5
    wait_for(lambda: sim.clock.now() >= until)
    still = api.transfer("alice", transfer.id)
    assert still.state is TransferState.IN_PROGRESS and still.bytes_transferred == stalled.bytes_transferred
    sim.transfer_faults.remove(rule)
    assert finished(api, "alice", transfer.id).state is TransferState.SUCCEEDED


def test_restart_forgets_transfers(sim, api):
    shared = sim.peer("alice").files[0]
    transfer = api.enqueue("alice", [(shared.path, sim.factory.size(shared.spec))]).enqueued[0]
    sim.restart()
    assert api.downloads() == []
    with pytest.raises(NotFound):
        api.transfer("alice", transfer.id)


def test_search_to_download_flac_and_mp3(make_sim, catalog):
    sim = make_sim(catalog, time_scale=50.0)
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=10)
    for fmt in ("flac", "mp3"):
        peer, shared = next((p, f) for p in sim.peers if p.kind in ("fast", "archivist") and p.free_slot
                            for f in p.files if f.is_audio and f.spec.fmt == fmt and not f.locked
                            and abs(f.spec.duration_s * 1000 - f.track.duration_ms) < 600)
        state = completed_search(client, f"{shared.track.artist} {shared.track.title}".replace("-", " "),
                                 search_timeout_ms=1500)
        assert state.file_count > 0
        offered = next(f for r in client.search_responses(state.id) if r["username"] == peer.username
                       for f in r["files"] if f["filename"] == shared.path)
        transfer = client.enqueue(peer.username, [offered]).enqueued[0]
        assert finished(client, peer.username, transfer.id, 60).state is TransferState.SUCCEEDED
        folder, name = shared.path.split("\\")[-2:]
        audio = mutagen.File(sim.downloads_dir / folder / name)
        assert audio.info.length == pytest.approx(offered["length"], abs=0.05)
        assert abs(audio.info.length * 1000 - shared.track.duration_ms) < 600


# ---------------------------------------------------------------------------
# generic faults
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule, error, words", [
    ({"kind": "latency", "seconds": 1.5}, ServiceTimeout, "no answer in time"),
    ({"kind": "status", "status": 500}, ServerError, "An unexpected error occurred"),
    ({"kind": "status", "status": 502}, ServerError, "502 Bad Gateway"),
    ({"kind": "status", "status": 429, "retry_after": 3}, RateLimited, "busy"),
    ({"kind": "status", "status": 401}, AuthError, "rejected the API key"),
    ({"kind": "status", "status": 403}, AuthError, "Forbidden"),
    ({"kind": "reset"}, Unreachable, "reset"),
    ({"kind": "reset", "mid_body": True}, BadResponse, "cut off"),
    ({"kind": "truncate"}, BadResponse, "cut off"),
    ({"kind": "malformed"}, BadResponse, "not valid JSON"),
])
def test_generic_faults(sim, rule, error, words):
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=0.5)
    sim.faults.add(match="GET /api/v0/transfers/downloads", count=1, **rule)
    with pytest.raises(error, match=words) as info:
        client.downloads()
    assert sim.api_key not in str(info.value) and sim.api_key not in info.value.detail
    if error is RateLimited:
        assert info.value.retry_after == 3
    if error is ServerError:
        assert info.value.status == rule["status"]
    assert client.downloads() == [], "the fault is gone after one hit"


def test_unreachable_and_tls(sim):
    client = SlskdClient(sim.url, api_key=sim.api_key, timeout=2)
    with pytest.raises(TLSFailure):
        SlskdClient(sim.url.replace("http://", "https://"), api_key=sim.api_key, timeout=2).application_state()
    sim.stop()
    with pytest.raises(Unreachable, match="refused"):
        client.application_state()
    sim.start()
    assert client.application_state().logged_in


def test_malformed_records_are_skipped_and_counted():
    listing = [{"username": "peer", "directories": [{"directory": "@@x\\A", "fileCount": 3, "files": [
        {"id": "3f2b8f1e-7c55-4c0e-9d36-0b7f4e9f8a21", "username": "peer", "filename": "@@x\\A\\1.flac",
         "size": 10, "state": "Completed, Succeeded", "bytesTransferred": 10, "percentComplete": 100},
        {"id": 5, "state": "InProgress"},
        "garbage",
    ]}, None]}, 7]
    server = CannedServer({"/api/v0/transfers/downloads": (200, "application/json", json.dumps(listing).encode())})
    try:
        client = SlskdClient(server.url, api_key="k" * 16, timeout=5)
        transfers = client.downloads()
    finally:
        server.close()
    assert [t.state for t in transfers] == [TransferState.SUCCEEDED]
    assert client.skipped_records == 4

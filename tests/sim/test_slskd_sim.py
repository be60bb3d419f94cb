"""The slskd simulation over real HTTP: wire format, search and transfer semantics, faults.

Driven with plain ``requests`` so every status code, body and header is the
simulation's own. Waits poll a condition with a deadline; simulated time runs
fast (``time_scale``).
"""
from __future__ import annotations

import io
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import av
import mutagen
import pytest
import requests

from soulsync.core.models import Track
from soulsync.sim.catalog import build_catalog
from soulsync.sim.peers import ANNOUNCE_BASIC, ANNOUNCE_NONE, ENCODINGS, Peer, SharedFile, voice_of
from soulsync.sim.slskd import CANCELLED_MESSAGE, CONCURRENCY_MESSAGE, SlskdSim, dotnet_ticks

API = "/api/v0"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LOGGED_OUT_SEARCH = ("The server connection must be connected and logged in to perform a search "
                     "(currently: Disconnected)")
TRANSFER_FIELDS = {"id", "username", "direction", "filename", "size", "state", "requestedAt", "bytesTransferred",
                   "averageSpeed", "bytesRemaining", "percentComplete", "attempts", "removed"}
"""A 0.26 transfer record's fields (no ``startOffset``; ``attempts`` and ``removed`` written)."""


def wait_for(check, timeout: float = 15.0, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def no_nulls(value) -> bool:
    """slskd serializes with WhenWritingNull: no JSON null anywhere."""
    if value is None:
        return False
    if isinstance(value, dict):
        return all(no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(no_nulls(v) for v in value)
    return True


def hand_track(title: str, artist: str = "Alpha Artist", album: str = "First Album", seconds: int = 8) -> Track:
    return Track(title=title, artists=[artist], album=album, duration_ms=seconds * 1000, album_artist=artist)


def hand_peer(username: str, tracks: list[Track], encoding: str = "flac", *, speed: int = 400_000,
              latency: float = 0.3, root: str = "@@hand", folder: str | None = None, **fields) -> Peer:
    """A peer with a few short files, for precise control over timings."""
    enc = ENCODINGS[encoding]
    files = []
    for number, track in enumerate(tracks, 1):
        directory = folder or f"{root}\\Music\\{track.artist}\\{track.album}"
        spec = enc.spec(round(track.duration_ms / 1000), voice_of(track), (("title", track.title),))
        files.append(SharedFile(f"{directory}\\{number:02d} - {track.title}.{enc.fmt}", spec, track))
    values = {"free_slot": True, "queue_length": 0, "upload_speed": speed, **fields}
    return Peer(username=username, kind="fast", files=files, speed=speed, latency=latency, **values)


TRACKS = [hand_track("Song One"), hand_track("Song Two"), hand_track("Other Tune", "Beta Band", "Second Album")]


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(seed=1)


@pytest.fixture
def make_sim(tmp_path, catalog):
    sims: list[SlskdSim] = []

    def make(peers: list[Peer] | None = None, **kwargs) -> SlskdSim:
        kwargs.setdefault("time_scale", 20.0)
        sim = SlskdSim(catalog if peers is None else peers, tmp_path / f"slskd{len(sims)}" / "downloads", **kwargs)
        sims.append(sim.start())
        return sim

    yield make
    for sim in sims:
        sim.close()


def client(sim: SlskdSim) -> requests.Session:
    session = requests.Session()
    session.headers["X-API-Key"] = sim.api_key
    session.base = sim.url + API  # type: ignore[attr-defined]
    return session


def get(s: requests.Session, path: str, **kw) -> requests.Response:
    return s.get(s.base + path, timeout=10, **kw)  # type: ignore[attr-defined]


def post(s: requests.Session, path: str, body, **kw) -> requests.Response:
    return s.post(s.base + path, json=body, timeout=10, **kw)  # type: ignore[attr-defined]


def ended(s: requests.Session, sid: str) -> dict:
    """The search once ``endedAt`` is set: only then are its responses stored (reference 1.5, "Completion")."""
    return wait_for(lambda: (lambda st: st if "endedAt" in st else None)(get(s, f"/searches/{sid}").json()),
                    what=f"search {sid} to end")


def run_search(s: requests.Session, text: str, timeout_ms: int = 1500, **options) -> dict:
    started = post(s, "/searches", {"searchText": text, "searchTimeout": timeout_ms, **options})
    assert started.status_code == 200, started.text
    return ended(s, started.json()["id"])


def transfer_json(s: requests.Session, username: str, tid: str) -> dict:
    return get(s, f"/transfers/downloads/{username}/{tid}").json()


def wait_state(s: requests.Session, username: str, tid: str, prefix: str = "Completed", timeout: float = 20) -> dict:
    return wait_for(lambda: (lambda t: t if t["state"].startswith(prefix) else None)(transfer_json(s, username, tid)),
                    timeout, f"transfer to reach {prefix}")


def wait_final(sim: SlskdSim, s: requests.Session, username: str, tid: str, timeout: float = 30) -> dict:
    """The record once it has ended for good (0.26 retries a failed attempt, so ``Completed, *`` may not be final)."""
    wait_for(lambda: not next(t for t in sim.transfers() if t.id == tid).active, timeout, "the transfer to end")
    return transfer_json(s, username, tid)


def enqueue(s: requests.Session, username: str, files: list[dict]) -> list[dict]:
    resp = post(s, f"/transfers/downloads/{username}", [{"filename": f["filename"], "size": f["size"]} for f in files])
    assert resp.status_code == 201, resp.text
    return resp.json()["enqueued"]


def search_file(s: requests.Session, text: str, username: str) -> dict:
    """Search and return the first file ``username`` offered."""
    sid = run_search(s, text)["id"]
    responses = get(s, f"/searches/{sid}/responses").json()
    return next(r for r in responses if r["username"] == username)["files"][0]


# ---------------------------------------------------------------------------
# auth, state, options
# ---------------------------------------------------------------------------

def test_auth_api_key_and_jwt(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)])
    url = sim.url + API
    anonymous = requests.get(url + "/application", timeout=5)
    assert anonymous.status_code == 401 and anonymous.content == b""
    assert requests.get(url + "/application", headers={"X-API-Key": "nope" * 5}, timeout=5).status_code == 401
    assert requests.get(url + "/session/enabled", timeout=5).json() is True
    assert requests.get(url + "/application", headers={"X-API-Key": sim.api_key}, timeout=5).status_code == 200

    bad = requests.post(url + "/session", json={"username": "slskd", "password": "wrong"}, timeout=5)
    assert bad.status_code == 401 and bad.content == b""
    assert requests.post(url + "/session", json={"username": ""}, timeout=5).status_code == 400
    login = requests.post(url + "/session", json={"Username": "slskd", "Password": "slskd"}, timeout=5)
    token = login.json()
    assert set(token) == {"expires", "issued", "name", "notBefore", "token", "tokenType"}
    assert token["tokenType"] == "Bearer" and token["expires"] > token["issued"]
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert requests.get(url + "/session", headers=bearer, timeout=5).status_code == 200
    assert requests.get(url + "/searches", headers=bearer, timeout=5).json() == []
    sim.expire_tokens()
    assert requests.get(url + "/searches", headers=bearer, timeout=5).status_code == 401


def test_application_server_and_options(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)], version="0.24.5", soulseek_username="me_on_slsk")
    s = client(sim)
    state = get(s, "/application").json()
    assert state["version"]["current"] == "0.24.5"
    assert state["server"]["state"] == "Connected, LoggedIn"
    assert state["server"]["isConnected"] and state["server"]["isLoggedIn"]
    assert state["user"]["username"] == "me_on_slsk" and no_nulls(state)
    assert get(s, "/application/version").json() == "0.24.5"

    assert s.delete(s.base + "/server", json="bye", timeout=5).status_code == 204
    server = get(s, "/server").json()
    assert server["state"] == "Disconnected" and not server["isLoggedIn"] and "address" not in server
    assert "username" not in get(s, "/application").json()["user"]
    assert s.put(s.base + "/server", timeout=5).status_code == 200
    assert get(s, "/server").json()["isLoggedIn"]

    options = get(s, "/options").json()
    assert options["directories"] == {"downloads": str(sim.downloads_dir), "incomplete": str(sim.incomplete_dir)}
    assert "*****" in json.dumps(options) and sim.api_key not in json.dumps(options)
    assert get(s, "/nothing/here").status_code == 404 and get(s, "/nothing/here").content == b""


# ---------------------------------------------------------------------------
# searches
# ---------------------------------------------------------------------------

def test_search_counts_rise_and_responses_arrive_on_completion(make_sim):
    peers = [hand_peer(f"peer{i}", TRACKS, latency=0.5 + i * 0.6) for i in range(4)]
    sim = make_sim(peers, time_scale=4.0)
    s = client(sim)
    started = post(s, "/searches", {"searchText": "alpha artist song", "searchTimeout": 2000})
    assert started.status_code == 200
    search = started.json()
    assert GUID.match(search["id"]) and search["state"] in ("Queued", "InProgress")
    assert search["responses"] == [] and not search["isComplete"] and "endedAt" not in search
    sim.completion_window_max_s = 1e6
    sim.completion_window_s = 1e6  # hold the second write until the test has seen the first
    sid = search["id"]

    seen_running: list[dict] = []

    def partial():
        state = get(s, f"/searches/{sid}", params={"includeResponses": "true"}).json()
        if state["isComplete"]:
            raise AssertionError("search completed before its counts were seen rising")
        responses = get(s, f"/searches/{sid}/responses").json()
        assert state["responses"] == [] and responses == [], "responses must wait for completion"
        seen_running.append(state)
        return state if state["responseCount"] >= 2 else None

    running = wait_for(partial, what="two responses counted while running")
    assert running["state"] == "InProgress" and running["fileCount"] == 2 * running["responseCount"]
    assert len({st["responseCount"] for st in seen_running}) >= 2, "counts rose over time"

    completed = wait_for(lambda: (lambda st: st if st["isComplete"] else None)(get(s, f"/searches/{sid}").json()))
    assert completed["state"] == "Completed, TimedOut" and completed["responseCount"] == 4
    assert "endedAt" not in completed and get(s, f"/searches/{sid}/responses").json() == [], \
        "Completed is written before endedAt and the responses"
    assert get(s, f"/searches/{sid}", params={"includeResponses": "true"}).json()["responses"] == []
    sim.finalize_searches()
    done = ended(s, sid)
    assert done["state"] == "Completed, TimedOut" and done["responseCount"] == 4 and done["fileCount"] == 8
    assert done["endedAt"].endswith("Z") and done["responses"] == []
    ended_at = datetime.fromisoformat(done["endedAt"][:26].rstrip("Z"))
    started_at = datetime.fromisoformat(done["startedAt"][:26].rstrip("Z"))
    # the timeout counts from the last response (~2.9 s simulated), not from the start
    assert (ended_at - started_at).total_seconds() >= 0.5 + 3 * 0.6 * 0.8 + 2.0
    responses = get(s, f"/searches/{sid}/responses").json()
    assert sorted(r["username"] for r in responses) == ["peer0", "peer1", "peer2", "peer3"]
    assert get(s, f"/searches/{sid}", params={"includeResponses": "True"}).json()["responses"] == responses
    assert [x["id"] for x in get(s, "/searches").json()] == [sid]
    assert all(no_nulls(r) for r in responses)


def test_search_limits(make_sim):
    sim = make_sim([hand_peer(f"peer{i}", TRACKS, latency=0.2 + i * 0.1) for i in range(6)])
    s = client(sim)
    by_responses = run_search(s, "song", timeout_ms=5000, responseLimit=3)
    assert by_responses["state"] == "Completed, ResponseLimitReached" and by_responses["responseCount"] == 3
    by_files = run_search(s, "song", timeout_ms=5000, fileLimit=5)
    assert by_files["state"] == "Completed, FileLimitReached" and by_files["fileCount"] == 6
    nothing = run_search(s, "zzzz nothing matches", timeout_ms=300)
    assert nothing["state"] == "Completed, TimedOut" and nothing["responseCount"] == 0
    filtered = run_search(s, "song", timeout_ms=800, minimumResponseFileCount=3)
    assert filtered["responseCount"] == 0
    sim.set_peer("peer0", queue_length=12)
    sim.set_peer("peer1", upload_speed=10)
    picky = run_search(s, "song", timeout_ms=800, maximumPeerQueueLength=12, minimumPeerUploadSpeed=11)
    assert picky["responseCount"] == 4, "queue length 12 is not below 12; speed 10 is below 11"
    unfiltered = run_search(s, "song", timeout_ms=800, maximumPeerQueueLength=12, filterResponses=False)
    assert unfiltered["responseCount"] == 6


def test_search_stop_delete_and_unknown(make_sim):
    sim = make_sim([hand_peer("fast", TRACKS, latency=0.2), hand_peer("slow", TRACKS, latency=30)])
    s = client(sim)
    sid = post(s, "/searches", {"searchText": "song", "searchTimeout": 60000}).json()["id"]
    wait_for(lambda: get(s, f"/searches/{sid}").json()["responseCount"] == 1, what="the fast peer's response")
    stop = s.put(s.base + f"/searches/{sid}", timeout=5)
    assert stop.status_code == 200 and stop.content == b""
    done = ended(s, sid)
    assert done["state"] == "Completed, Cancelled"
    assert [r["username"] for r in get(s, f"/searches/{sid}/responses").json()] == ["fast"]
    deleted = s.delete(s.base + f"/searches/{sid}", timeout=5)
    assert deleted.status_code == 204 and deleted.content == b""
    for method, path in (("GET", f"/searches/{sid}"), ("GET", f"/searches/{sid}/responses"),
                         ("PUT", f"/searches/{sid}"), ("DELETE", f"/searches/{sid}"), ("GET", "/searches/not-a-guid")):
        resp = s.request(method, s.base + path, timeout=5)
        assert resp.status_code == 404 and resp.content == b"", (method, path)


def test_search_errors(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)])
    s = client(sim)
    blank = post(s, "/searches", {"searchText": "   "})
    assert blank.status_code == 400
    assert blank.json() == "The field SearchText can not be null, empty, or consist of only whitespace"
    sim.logout()
    logged_out = post(s, "/searches", {"searchText": "song"})
    assert logged_out.status_code == 409 and logged_out.json() == LOGGED_OUT_SEARCH
    sim.login()

    sim.search_post_delay = 0.4 * sim.time_scale  # each POST takes 0.4 s real
    barrier = threading.Barrier(2)

    def start(i: int) -> requests.Response:
        barrier.wait()
        return post(client(sim), "/searches", {"searchText": f"song {i}"})

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(start, range(2)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 429]
    assert next(r for r in results if r.status_code == 429).json() == CONCURRENCY_MESSAGE


def test_search_matching_rules(make_sim):
    peers = [hand_peer("alice", [hand_track("Song One"), hand_track("Sóng Twó"), hand_track("Songbird")]),
             hand_peer("bob", [hand_track("Song Live", album="Live at Home")], encoding="mp3_320", root="@@bob")]
    peers[1].files[0].locked = True
    sim = make_sim(peers)
    s = client(sim)

    def names(text: str) -> tuple[list[str], dict]:
        state = run_search(s, text, timeout_ms=400)
        responses = get(s, f"/searches/{state['id']}/responses").json()
        return sorted(f["filename"].rsplit("\\", 1)[1] for r in responses for f in r["files"]), state

    found, _ = names("song")
    assert found == ["01 - Song One.flac", "02 - Sóng Twó.flac"], "whole words, accent-insensitive"
    assert names("SONG -one")[0] == ["02 - Sóng Twó.flac"]
    assert names("*bird")[0] == ["03 - Songbird.flac"]
    _, live = names("song live")
    assert live["responseCount"] == 1 and live["fileCount"] == 0 and live["lockedFileCount"] == 1
    responses = get(s, f"/searches/{live['id']}/responses").json()
    assert responses[0]["lockedFiles"][0]["filename"].endswith("Song Live.mp3")
    assert responses[0]["lockedFiles"][0]["isLocked"] is False


SHORT_TERMS = ("Search query must contain at least one non-exclusion term with length greater than 1 "
               "(Parameter 'query')")


def test_search_query_rules_of_soulseek_net(make_sim):
    """Soulseek.NET SearchQuery: split on spaces, one-character terms dropped, nothing left -> 400 (ref. 1.5)."""
    sim = make_sim([hand_peer("alice", [hand_track("Losing Song", artist="R E M"), hand_track("Other Tune")])])
    s = client(sim)
    for text in ("M Q", "R E M", "光 愛", "X 7"):
        refused = post(s, "/searches", {"searchText": text})
        assert refused.status_code == 400 and refused.json() == SHORT_TERMS, text
    only_exclusions = post(s, "/searches", {"searchText": "-live"})
    assert only_exclusions.status_code == 400
    assert only_exclusions.json() == "Search query must contain at least one non-exclusion term (Parameter 'query')"
    listed = get(s, "/searches").json()
    assert len(listed) == 5, "refused searches stay listed"
    for record in listed:
        assert record["state"] == "Completed, Errored" and record["isComplete"] is True
        assert record["endedAt"] == record["startedAt"] and record["responseCount"] == 0
    sim.logout()
    assert post(s, "/searches", {"searchText": "M Q"}).status_code == 409, "logged out is checked before the length"
    sim.login()
    # a character outside the BMP is two UTF-16 code units: a term
    assert post(s, "/searches", {"searchText": "𝄞 x"}).status_code == 200
    kept = run_search(s, "R E M Losing", timeout_ms=400)
    assert kept["searchText"] == "R E M Losing" and kept["responseCount"] == 1
    files = [f["filename"] for r in get(s, f"/searches/{kept['id']}/responses").json() for f in r["files"]]
    assert [f.rsplit("\\", 1)[1] for f in files] == ["01 - Losing Song.flac"]
    normalised = run_search(s, "song -tune  one", timeout_ms=200)
    assert normalised["searchText"] == "song one -tune", "terms, then exclusions, single spaces"


def test_at_most_two_searches_run_and_delete_does_not_stop_one(make_sim):
    """maximumConcurrentSearches: 2; a queued search's timeout starts at InProgress; DELETE keeps the slot (ref. 1.5)."""
    sim = make_sim([hand_peer("alice", TRACKS, latency=0.2)], time_scale=20.0)
    s = client(sim)
    long_ms = 3_600_000  # an hour of simulated silence: these two run until stopped
    first = post(s, "/searches", {"searchText": "song", "searchTimeout": long_ms}).json()
    second = post(s, "/searches", {"searchText": "song one", "searchTimeout": long_ms}).json()
    third = post(s, "/searches", {"searchText": "other tune", "searchTimeout": 500}).json()
    assert third["state"] == "Queued"
    wait_for(lambda: len(sim.searches_running()) == 2, what="two searches running")
    for sid in (first["id"], second["id"]):
        wait_for(lambda sid=sid: get(s, f"/searches/{sid}").json()["state"] == "InProgress")
    queued = get(s, f"/searches/{third['id']}").json()
    assert queued["state"] == "Queued" and queued["responseCount"] == 0 and not queued["isComplete"]
    # deleting a running search removes the record, not the network search: the third still waits
    assert s.delete(s.base + f"/searches/{first['id']}", timeout=5).status_code == 204
    assert get(s, f"/searches/{first['id']}").status_code == 404
    assert len(sim.searches_running()) == 2 and [x.id for x in sim.searches_queued()] == [third["id"]]
    # stopping one (PUT) frees its slot; the third starts and only then does its timeout run
    assert s.put(s.base + f"/searches/{second['id']}", timeout=5).status_code == 200
    wait_for(lambda: get(s, f"/searches/{third['id']}").json()["state"] != "Queued", what="the third to start")
    done = ended(s, third["id"])
    assert done["state"] == "Completed, TimedOut" and done["responseCount"] == 1
    stopped = ended(s, second["id"])
    assert stopped["state"] == "Completed, Cancelled"
    assert [x.text for x in sim.searches_running()] == ["song"], "the deleted search still holds its slot"


def test_stopping_a_queued_search_cancels_it_without_results(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS, latency=0.2)])
    sim.max_concurrent_searches = 0  # the slots are taken by another tool's searches
    s = client(sim)
    sid = post(s, "/searches", {"searchText": "song"}).json()["id"]
    assert get(s, f"/searches/{sid}").json()["state"] == "Queued"
    s.put(s.base + f"/searches/{sid}", timeout=5)
    done = ended(s, sid)
    assert done["state"] == "Completed, Cancelled" and done["responseCount"] == 0
    assert get(s, f"/searches/{sid}/responses").json() == []


def test_search_with_an_existing_id_fails_with_500_and_keeps_the_record(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)])
    s = client(sim)
    sid = "a7c1b9f2-4d8e-4c1a-9a61-2f0c3b9b5e11"
    assert post(s, "/searches", {"id": sid, "searchText": "song"}).status_code == 200
    again = post(s, "/searches", {"id": sid, "searchText": "other tune"})
    assert again.status_code == 500 and "saving the entity changes" in again.json()
    assert get(s, f"/searches/{sid}").json()["searchText"] == "song"


def test_response_wire_format(make_sim):
    full = hand_peer("full", TRACKS, sends_extension=True)
    basic = hand_peer("basic", TRACKS, encoding="mp3_v0", root="@@basic", announce=ANNOUNCE_BASIC)
    bare = hand_peer("bare", TRACKS, encoding="mp3_320", root="@@bare", announce=ANNOUNCE_NONE,
                     free_slot=False, queue_length=12)
    alac = hand_peer("alac", TRACKS, encoding="alac", root="@@alac")
    sim = make_sim([full, basic, bare, alac])
    s = client(sim)
    sid = run_search(s, "song one")["id"]
    responses = {r["username"]: r for r in get(s, f"/searches/{sid}/responses").json()}
    assert set(responses) == {"full", "basic", "bare", "alac"}
    for response in responses.values():
        assert set(response) == {"fileCount", "files", "hasFreeUploadSlot", "lockedFileCount", "lockedFiles",
                                 "queueLength", "token", "uploadSpeed", "username"}
        assert no_nulls(response)
    flac = responses["full"]["files"][0]
    assert flac["filename"] == "@@hand\\Music\\Alpha Artist\\First Album\\01 - Song One.flac"
    assert flac["extension"] == "flac" and flac["code"] == 1 and flac["isLocked"] is False
    assert (flac["bitDepth"], flac["sampleRate"], flac["length"]) == (16, 44100, 8) and "bitRate" not in flac
    v0 = responses["basic"]["files"][0]
    assert v0["extension"] == "" and v0["length"] == 8 and v0["bitRate"] > 150 and "isVariableBitRate" not in v0
    plain = responses["bare"]["files"][0]
    assert set(plain) == {"code", "extension", "filename", "size", "isLocked"}
    assert responses["bare"]["hasFreeUploadSlot"] is False and responses["bare"]["queueLength"] == 12
    assert flac["size"] == sim.factory.size(full.files[0].spec)
    m4a = responses["alac"]["files"][0]
    assert m4a["filename"].endswith(".m4a") and (m4a["bitDepth"], m4a["sampleRate"]) == (16, 44100)


# ---------------------------------------------------------------------------
# transfers
# ---------------------------------------------------------------------------

def test_download_lifecycle_and_progressive_file(make_sim):
    track = hand_track("Song One", seconds=20)
    peer = hand_peer("busy", [track], speed=150_000, latency=1.0, free_slot=False, queue_length=2,
                     queue_seconds=0.6)
    sim = make_sim([peer], time_scale=2.0)
    s = client(sim)
    shared = peer.files[0]
    size = sim.factory.size(shared.spec)
    sim.factory.path(shared.spec)  # synthesize up front so Initializing is short
    reply = post(s, "/transfers/downloads/busy", [{"filename": shared.path, "size": size}])
    assert reply.status_code == 201
    body = reply.json()
    assert body["failed"] == [] and len(body["enqueued"]) == 1
    record = body["enqueued"][0]
    assert record["state"] == "Queued, Locally" and TRANSFER_FIELDS <= set(record) and no_nulls(record)
    assert not record["requestedAt"].endswith("Z")
    tid = record["id"]

    states: list[str] = []
    growth: list[int] = []
    # 0.26: <incomplete>/<username>/<remote folders without the root>/<file>; "@@hand" is no SoulseekQt
    # root (those have 5+ letters), so it stays
    incomplete = sim.incomplete_dir / "busy" / "@@hand" / "Music" / "Alpha Artist" / "First Album" / "01 - Song One.flac"

    def watch():
        t = transfer_json(s, "busy", tid)
        if not states or states[-1] != t["state"]:
            states.append(t["state"])
        if t["state"] == "InProgress" and incomplete.exists():
            growth.append(incomplete.stat().st_size)
        return t if t["state"].startswith("Completed") else None

    final = wait_for(watch, timeout=30, what="the download to finish")
    lifecycle = ["Queued, Locally", "Requested", "Queued, Remotely", "Initializing", "InProgress",
                 "Completed, Succeeded"]
    assert sim.transfers()[0].history == lifecycle
    assert set(states) >= {"Queued, Remotely", "InProgress", "Completed, Succeeded"}
    assert states == [st for st in lifecycle if st in states], "seen over HTTP in the same order"
    assert len(set(growth)) >= 3 and growth == sorted(growth), "the file grows while in progress"
    assert final["percentComplete"] == 100 and final["bytesTransferred"] == size and final["bytesRemaining"] == 0
    assert final["startedAt"].endswith("Z") and final["endedAt"].endswith("Z") and "enqueuedAt" in final
    assert final["averageSpeed"] == pytest.approx(150_000, rel=0.35)
    assert "exception" not in final and no_nulls(final)
    target = sim.downloads_dir / "First Album" / "01 - Song One.flac"
    assert target.read_bytes() == sim.factory.path(shared.spec).read_bytes()
    assert not incomplete.exists() and list(sim.incomplete_dir.iterdir()) == [], "emptied folders are removed"
    listing = get(s, "/transfers/downloads/").json()
    assert listing == [{"username": "busy", "directories": [
        {"directory": "@@hand\\Music\\Alpha Artist\\First Album", "fileCount": 1, "files": [final]}]}]


@pytest.mark.parametrize("encoding", ["flac", "mp3_320", "ogg"])
def test_growing_file_plays_before_completion(make_sim, encoding):
    """What a preview player relies on: the incomplete file is a prefix of the final one that decodes."""
    peer = hand_peer("alice", [hand_track("Song One", seconds=40)], encoding=encoding)
    sim = make_sim([peer])
    sim.transfer_faults.add("stall", user="alice", at=0.5)
    s = client(sim)
    shared = peer.files[0]
    tid = enqueue(s, "alice", [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])[0]["id"]
    half = wait_for(lambda: (lambda t: t if t["bytesTransferred"] >= t["size"] // 2 else None)(
        transfer_json(s, "alice", tid)), what="half of the file")
    growing = (sim.incomplete_dir.joinpath("alice", *shared.path.split("\\"))).read_bytes()
    assert len(growing) == half["bytesTransferred"]
    assert sim.factory.path(shared.spec).read_bytes().startswith(growing)
    decoded = 0
    with av.open(io.BytesIO(growing)) as container:
        try:
            for frame in container.decode(audio=0):
                decoded += frame.samples / frame.sample_rate
        except av.error.FFmpegError:
            pass  # the cut-off end of a growing file
    assert decoded >= 0.4 * 40


def test_flac_and_mp3_search_to_download_play(make_sim):
    sim = make_sim(time_scale=50.0)
    s = client(sim)
    for fmt in ("flac", "mp3"):
        peer = next(p for p in sim.peers if p.kind in ("archivist", "fast") and p.free_slot
                    and any(f.is_audio and f.spec.fmt == fmt and not f.locked
                            and abs(f.spec.duration_s * 1000 - f.track.duration_ms) < 600 for f in p.files))
        shared = next(f for f in peer.files if f.is_audio and f.spec.fmt == fmt and not f.locked
                      and abs(f.spec.duration_s * 1000 - f.track.duration_ms) < 600)
        words = re.findall(r"[^\W_]+", f"{shared.track.artist} {shared.track.title}")
        sid = run_search(s, " ".join(words))["id"]
        offered = next(f for r in get(s, f"/searches/{sid}/responses").json() if r["username"] == peer.username
                       for f in r["files"] if f["filename"] == shared.path)
        record = enqueue(s, peer.username, [offered])[0]
        done = wait_state(s, peer.username, record["id"], timeout=60)
        assert done["state"] == "Completed, Succeeded", done
        folder, name = shared.path.split("\\")[-2:]
        local = sim.downloads_dir / folder / name
        audio = mutagen.File(local)
        assert local.stat().st_size == offered["size"]
        assert audio.info.length == pytest.approx(offered["length"], abs=0.05)
        assert audio.info.length * 1000 == pytest.approx(shared.track.duration_ms, abs=600)


def test_name_clash_gets_ticks_suffix(make_sim):
    same_name = [hand_track("Song One"), hand_track("Song One", artist="Beta Band")]
    alice = hand_peer("alice", same_name[:1], folder="@@alice\\Music\\Shared Folder")
    bob = hand_peer("bob", same_name[1:], folder="@@bob\\Stuff\\Shared Folder")
    sim = make_sim([alice, bob])
    s = client(sim)
    first = enqueue(s, "alice", [{"filename": alice.files[0].path, "size": sim.factory.size(alice.files[0].spec)}])
    wait_state(s, "alice", first[0]["id"])
    before = dotnet_ticks(sim.clock.utc())
    second = enqueue(s, "bob", [{"filename": bob.files[0].path, "size": sim.factory.size(bob.files[0].spec)}])
    wait_state(s, "bob", second[0]["id"])
    after = dotnet_ticks(sim.clock.utc())
    names = sorted(p.name for p in (sim.downloads_dir / "Shared Folder").iterdir())
    assert names[0] == "01 - Song One.flac"
    clash = re.fullmatch(r"01 - Song One_(\d+)\.flac", names[1])
    assert clash and before <= int(clash.group(1)) <= after, names


def test_cancel_and_remove_semantics(make_sim):
    peer = hand_peer("alice", [hand_track("Song One", seconds=60)], speed=20_000)
    sim = make_sim([peer], time_scale=2.0)
    s = client(sim)
    shared = peer.files[0]
    tid = enqueue(s, "alice", [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])[0]["id"]
    wait_state(s, "alice", tid, "InProgress")
    first = s.delete(s.base + f"/transfers/downloads/alice/{tid}", params={"remove": "True"}, timeout=5)
    assert first.status_code == 204 and first.content == b""
    # cancelling is asynchronous, so that remove could not apply: the record is still listed
    cancelled = wait_state(s, "alice", tid)
    assert cancelled["state"] == "Completed, Cancelled" and cancelled["exception"] == CANCELLED_MESSAGE
    listed = [f["id"] for u in get(s, "/transfers/downloads").json() for d in u["directories"] for f in d["files"]]
    assert listed == [tid]
    assert s.delete(s.base + f"/transfers/downloads/alice/{tid}", params={"remove": "true"},
                    timeout=5).status_code == 204
    assert get(s, "/transfers/downloads").json() == []
    assert get(s, "/transfers/downloads/alice").status_code == 404
    removed = get(s, "/transfers/downloads", params={"includeRemoved": "True"}).json()
    assert removed[0]["directories"][0]["files"][0]["id"] == tid
    assert get(s, f"/transfers/downloads/alice/{tid}").status_code == 200
    unknown = "3f2b8f1e-7c55-4c0e-9d36-0b7f4e9f8a21"
    assert s.delete(s.base + f"/transfers/downloads/alice/{unknown}", params={"remove": "true"},
                    timeout=5).status_code == 204
    assert s.delete(s.base + "/transfers/downloads/alice/not-a-guid", timeout=5).status_code == 400
    assert get(s, "/transfers/downloads/alice/not-a-guid").status_code == 400
    # a re-enqueue supersedes the old finished record
    again = enqueue(s, "alice", [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])[0]["id"]
    assert again != tid


@pytest.mark.parametrize("version", ["0.24.5", "0.26.0"])
def test_clear_completed_and_duplicate_enqueue(make_sim, version):
    peer = hand_peer("alice", TRACKS[:2], speed=200_000)
    sim = make_sim([peer], version=version)
    s = client(sim)
    files = [{"filename": f.path, "size": sim.factory.size(f.spec)} for f in peer.files]
    records = enqueue(s, "alice", files)
    duplicate = post(s, "/transfers/downloads/alice", files[:1]).json()
    # 0.24/0.25 name the file; 0.26's (filename, message) tuples serialise as {} (service-apis.md 1.6)
    expected = [files[0]["filename"]] if version == "0.24.5" else [{}]
    assert duplicate == {"enqueued": [], "failed": expected}
    for record in records:
        wait_state(s, "alice", record["id"])
    assert s.delete(s.base + "/transfers/downloads/all/completed", timeout=5).status_code == 204
    assert get(s, "/transfers/downloads").json() == []
    assert len(sim.transfers()) == 2


def test_enqueue_errors(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS), hand_peer("gone", TRACKS, root="@@gone", offline=True)])
    s = client(sim)
    shared = sim.peer("alice").files[0]
    good = [{"filename": shared.path, "size": sim.factory.size(shared.spec)}]
    empty = post(s, "/transfers/downloads/alice", [])
    assert empty.status_code == 400 and empty.json() == "At least one file is required"
    assert post(s, "/transfers/downloads/alice", [None]).json() == "One or more records in the request are null"
    offline = post(s, "/transfers/downloads/gone", good)
    assert offline.status_code == 500 and offline.json() == "User gone appears to be offline"
    unknown = post(s, "/transfers/downloads/nobody%20here", good)
    assert unknown.json() == "User nobody here appears to be offline"
    sim.logout()
    logged_out = post(s, "/transfers/downloads/alice", good)
    assert logged_out.status_code == 500 and "must be connected and logged in" in logged_out.json()
    sim.login()

    sim.enqueue_delay = 0.5 * sim.time_scale  # each enqueue takes 0.5 s real
    barrier = threading.Barrier(3)

    def start(i: int) -> requests.Response:
        barrier.wait()
        shared = sim.peer("alice").files[i]
        return post(client(sim), "/transfers/downloads/alice",
                    [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(start, range(3)))
    assert sorted(r.status_code for r in results) == [201, 201, 429]
    assert next(r for r in results if r.status_code == 429).json() == CONCURRENCY_MESSAGE


@pytest.mark.parametrize("outcome, state, exception", [
    ("rejected", "Completed, Rejected", "Transfer rejected: File not shared."),
    ("timed_out", "Completed, TimedOut", "The wait timed out after 15000 milliseconds"),
    ("errored", "Completed, Errored", "Transfer failed: The connection was closed unexpectedly"),
    ("aborted", "Completed, Aborted", "Transfer aborted: the remote size of"),
])
def test_transfer_fault_outcomes(make_sim, outcome, state, exception):
    """How each failure looks; pinned to 0.25, which never retries (0.26's retries: test_slskd_transfers.py)."""
    peer = hand_peer("alice", TRACKS[:2])
    sim = make_sim([peer], version="0.25.1")
    sim.transfer_faults.add(outcome, user="alice", match="Song One", count=1)
    s = client(sim)
    files = [{"filename": f.path, "size": sim.factory.size(f.spec)} for f in peer.files]
    hit, spared = enqueue(s, "alice", files)
    failed = wait_state(s, "alice", hit["id"])
    assert failed["state"] == state and failed["exception"].startswith(exception)
    assert wait_state(s, "alice", spared["id"])["state"] == "Completed, Succeeded"
    assert sim.transfer_faults.rules() == [], "count=1 used up"
    if outcome == "errored":
        assert 0 < failed["bytesTransferred"] < failed["size"]


def test_stalls_and_peer_behaviour(make_sim):
    def track(album: str):  # distinct folders: two transfers may not share an incomplete file
        return [hand_track("Song One", album=album, seconds=30)]

    sim = make_sim([hand_peer("alice", track("A"), speed=300_000), hand_peer("staller", track("B"), stall_at=0.3),
                    hand_peer("flaky", track("C"), fail_at=0.5), hand_peer("nope", track("D"),
                                                                           reject_reason="Queue full")])
    s = client(sim)

    def start(username: str) -> str:
        shared = sim.peer(username).files[0]
        return enqueue(s, username, [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])[0]["id"]

    rule = sim.transfer_faults.add("stall", user="alice", at=0.4)
    alice = start("alice")
    stalled = wait_for(lambda: (lambda t: t if t["bytesTransferred"] >= int(t["size"] * 0.4) else None)(
        transfer_json(s, "alice", alice)), what="the stall point")
    frozen = stalled["bytesTransferred"]
    assert stalled["state"] == "InProgress" and frozen == int(stalled["size"] * 0.4)
    observed_until = sim.clock.now() + 3.0
    wait_for(lambda: sim.clock.now() >= observed_until, what="3 simulated seconds")
    still = transfer_json(s, "alice", alice)
    assert still["state"] == "InProgress" and still["bytesTransferred"] == frozen
    sim.transfer_faults.remove(rule)
    assert wait_state(s, "alice", alice)["state"] == "Completed, Succeeded"

    staller = start("staller")
    wait_for(lambda: transfer_json(s, "staller", staller)["percentComplete"] >= 29)
    assert transfer_json(s, "staller", staller)["state"] == "InProgress"
    flaky = wait_final(sim, s, "flaky", start("flaky"))
    assert flaky["state"] == "Completed, Errored" and flaky["bytesTransferred"] == int(flaky["size"] * 0.5)
    assert flaky["attempts"] == 3, "0.26 retried the closed connection twice"
    assert wait_state(s, "nope", start("nope"))["exception"] == "Transfer rejected: Queue full"


def test_wrong_size_and_unshared_file(make_sim):
    peer = hand_peer("alice", TRACKS[:1])
    peer.files.append(SharedFile("@@hand\\Buddies\\secret.flac", peer.files[0].spec, TRACKS[0], locked=True))
    sim = make_sim([peer])
    s = client(sim)
    real = sim.factory.size(peer.files[0].spec)
    wrong = enqueue(s, "alice", [{"filename": peer.files[0].path, "size": real - 1}])[0]
    aborted = wait_state(s, "alice", wrong["id"])
    assert aborted["state"] == "Completed, Aborted"
    assert aborted["exception"] == f"Transfer aborted: the remote size of {real} does not match expected size {real - 1}"
    for name in ("@@hand\\Music\\nope.flac", "@@hand\\Buddies\\secret.flac"):
        record = enqueue(s, "alice", [{"filename": name, "size": real}])[0]
        assert wait_state(s, "alice", record["id"])["exception"] == "Transfer rejected: File not shared."


def test_peer_going_offline(make_sim):
    peer = hand_peer("alice", [hand_track("Song One", seconds=60)], speed=30_000)
    sim = make_sim([peer], time_scale=5.0)
    s = client(sim)
    shared = peer.files[0]
    tid = enqueue(s, "alice", [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])[0]["id"]
    wait_state(s, "alice", tid, "InProgress")
    sim.set_peer("alice", offline=True)
    gone = wait_final(sim, s, "alice", tid)
    assert gone["state"] == "Completed, Errored" and gone["attempts"] == 3
    assert post(s, "/transfers/downloads/alice", [{"filename": shared.path, "size": 1}]).status_code == 500


def test_place_in_queue_counts_down(make_sim):
    peer = hand_peer("busy", TRACKS[:2], free_slot=False, queue_length=5, queue_seconds=1.0)
    sim = make_sim([peer], time_scale=4.0)
    s = client(sim)
    files = [{"filename": f.path, "size": sim.factory.size(f.spec)} for f in peer.files]
    first, second = enqueue(s, "busy", files)
    wait_state(s, "busy", second["id"], "Queued, Remotely")
    assert "placeInQueue" not in transfer_json(s, "busy", second["id"]), "only known once asked for"
    places = [get(s, f"/transfers/downloads/busy/{second['id']}/position").json()]
    assert places[0] >= 6
    wait_for(lambda: places.append(get(s, f"/transfers/downloads/busy/{second['id']}/position").json())
             or places[-1] <= places[0] - 2, what="the queue to move")
    assert places == sorted(places, reverse=True)
    assert transfer_json(s, "busy", second["id"])["placeInQueue"] == places[-1]
    wait_state(s, "busy", first["id"], "InProgress")
    assert wait_state(s, "busy", second["id"])["state"] == "Completed, Succeeded"


def test_restart_forgets_transfers(make_sim):
    peer = hand_peer("alice", TRACKS[:2], speed=5_000)
    sim = make_sim([peer])
    s = client(sim)
    files = [{"filename": f.path, "size": sim.factory.size(f.spec)} for f in peer.files]
    enqueue(s, "alice", files)
    run_search(s, "song", timeout_ms=200)
    assert get(s, "/transfers/downloads").json() and get(s, "/searches").json()
    done = threading.Event()
    threading.Thread(target=lambda: (sim.restart(downtime=0.5), done.set()), daemon=True).start()
    with pytest.raises(requests.ConnectionError):
        wait_for(lambda: get(s, "/application") and None, timeout=5, what="slskd to go down")
    done.wait(5)
    assert get(s, "/transfers/downloads").json() == [] and get(s, "/searches").json() == []
    assert len(enqueue(s, "alice", files)) == 2, "the old records are gone, so nothing is a duplicate"


def test_legacy_versions(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)], version="0.23.2")
    s = client(sim)
    shared = sim.peer("alice").files[0]
    reply = post(s, "/transfers/downloads/alice", [{"filename": shared.path, "size": sim.factory.size(shared.spec)}])
    assert reply.status_code == 201 and reply.content == b""
    tid = get(s, "/transfers/downloads").json()[0]["directories"][0]["files"][0]["id"]
    early = s.delete(s.base + f"/transfers/downloads/alice/{tid}", params={"remove": "true"}, timeout=5)
    assert early.status_code == 500 and early.json() == "Invalid attempt to remove a download before it is complete"
    unknown = s.delete(s.base + "/transfers/downloads/alice/3f2b8f1e-7c55-4c0e-9d36-0b7f4e9f8a21",
                       params={"remove": "true"}, timeout=5)
    assert unknown.status_code == 404
    assert get(s, "/application/version").json() == "0.23.2"
    style_only = make_sim([hand_peer("bob", TRACKS)], enqueue_style="legacy")
    s2 = client(style_only)
    shared = style_only.peer("bob").files[0]
    assert post(s2, "/transfers/downloads/bob",
                [{"filename": shared.path, "size": style_only.factory.size(shared.spec)}]).content == b""


def test_control_endpoints(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)])
    s = client(sim)
    control = sim.url + "/__sim"
    assert requests.post(control + "/logout", timeout=5).json()["logged_in"] is False
    assert post(s, "/searches", {"searchText": "song"}).status_code == 409
    requests.post(control + "/login", timeout=5)
    peer = requests.post(control + "/peers/alice", json={"offline": True}, timeout=5).json()
    assert peer["offline"] is True and sim.peer("alice").offline
    assert requests.post(control + "/peers/alice", json={"wings": 2}, timeout=5).status_code == 400
    assert requests.post(control + "/peers/nobody", json={"offline": True}, timeout=5).status_code == 404
    rules = requests.post(control + "/transfer-faults", json={"outcome": "stall", "at": 0.2}, timeout=5).json()
    assert rules == [{"outcome": "stall", "user": None, "match": "", "at": 0.2, "count": None, "message": None}]
    assert requests.post(control + "/transfer-faults", json={"outcome": "melt"}, timeout=5).status_code == 400
    requests.delete(control + "/transfer-faults", timeout=5)
    assert sim.transfer_faults.rules() == []
    assert requests.post(control + "/time-scale", json={"time_scale": 7}, timeout=5).json() == {"time_scale": 7.0}
    requests.post(control + "/faults", json=[{"kind": "status", "status": 503, "match": "GET /api/v0/options"}],
                  timeout=5)
    proxy = get(s, "/options")
    assert proxy.status_code == 503 and "text/html" in proxy.headers["Content-Type"]
    state = requests.get(control + "/state", timeout=5).json()
    assert state["time_scale"] == 7.0 and state["faults"][0]["status"] == 503 and len(state["peers"]) == 1
    assert requests.post(control + "/expire-tokens", timeout=5).status_code == 204


def test_url_base(make_sim):
    sim = make_sim([hand_peer("alice", TRACKS)], url_base="/slskd")
    headers = {"X-API-Key": sim.api_key}
    assert sim.api_url.endswith("/slskd")
    assert requests.get(sim.api_url + API + "/application/version", headers=headers, timeout=5).json() == "0.26.0"
    assert requests.get(sim.url + API + "/application/version", headers=headers, timeout=5).status_code == 200
    page = requests.get(sim.url + "/slskd/searches", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]

"""``soulsync sync`` as a user runs it: a subprocess, real files, real JSON, clear exit statuses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mutagen
import pytest

from soulsync.core.models import Track
from soulsync.core.playlist_m3u import parse_m3u
from soulsync.core.tagging import write_tags
from tests.audio_fixtures import make_audio

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"

EXPORTIFY = ("\ufeffTrack URI,Track Name,Artist URI(s),Artist Name(s),Album Name,Track Duration (ms),ISRC,Popularity\n"
             "spotify:track:0DiWol3AO6WpXZgp0goxAV,One More Time,spotify:artist:4tZwfgrHOc3mvqYlEYSvVi,Daft Punk,"
             "Discovery,4000,,80\n"
             "spotify:track:3Nf1rGvq1a3Ks5ZQnWcGZm,Joga,spotify:artist:7w29UYBi0qsHi5RTcv3lmA,Bjork,Homogenic,3000,,60\n"
             "spotify:track:2cGxRwrMyEAp8dEbuZaVv6,Sexy Boy,spotify:artist:5K4W6rqBFWDnAN6FQUkS6x,Air,Moon Safari,"
             "3000,,55\n"
             "spotify:track:5W3cjX2J3tjhG8zb6u0qHn,Harder Better Faster Stronger,spotify:artist:4tZwfgrHOc3mvqYlEYSvVi,"
             "Daft Punk,Discovery,3000,,70\n"
             "spotify:track:1xzBco0xcoJEDXktl7Jxrr,Digital Love,spotify:artist:4tZwfgrHOc3mvqYlEYSvVi,Daft Punk,"
             "Discovery,3000,,65\n"
             "spotify:track:6habFhsOp2NvshLv26DqMb,Dreams,spotify:artist:08GQAI4eElDnROBrJRGE0X,Fleetwood Mac,Rumours,"
             "3000,,90\n"
             ",,,Someone,Some Album,1000,,\n")
"""Six tracks; the last row has no title: a bad row (line 8)."""


def run(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1")
    return subprocess.run([str(PYTHON if PYTHON.exists() else sys.executable), "-m", "soulsync", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def music(tmp_path: Path) -> Path:
    """A music folder of real, tagged files (and one the tags do not describe)."""
    root = tmp_path / "Music"
    files = [
        ("Daft Punk/Discovery (2001)/01 - One More Time.flac", Track("One More Time", ["Daft Punk"], album="Discovery")),
        ("Björk/Homogenic/03 - Jóga.mp3", Track("Jóga", ["Björk"], album="Homogenic")),
        ("Daft Punk/Discovery (2001)/03 - Digital Love (Live).flac",
         Track("Digital Love (Live at Wembley)", ["Daft Punk"], album="Alive")),
        ("Fleetwood Mac/Rumours/02 - Dreams.ogg", Track("Dreams", ["Fleetwood Mac"], album="Rumours")),
    ]
    for n, (relative, track) in enumerate(files):
        path = make_audio(root / relative, seconds=3.0 if "Dreams" not in relative else 40.0, freq=300 + 50 * n)
        write_tags(path, track)
    make_audio(root / "Air" / "Moon Safari (1998)" / "02 - Sexy Boy.flac", seconds=3.0)  # untagged: the path says
    (root / "Air" / "Moon Safari (1998)" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)
    (root / "broken.flac").write_bytes(b"fLaC" + b"\x00" * 300)
    return root


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "Road_Trip.csv"
    path.write_text(EXPORTIFY, encoding="utf-8")
    return path


def test_dry_run_json_against_a_folder_of_tagged_files(tmp_path: Path, music: Path, csv_file: Path) -> None:
    result = run("sync", "--playlist-file", str(csv_file), "--library-folder", str(music),
                 "--config-dir", str(tmp_path / "cfg"), "--dry-run", "--json")
    no_traceback(result)
    assert result.returncode == 1, result.stderr  # tracks are missing: a dry run says so in its status too
    payload = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert list(payload) == ["playlists"]
    [playlist] = payload["playlists"]
    assert playlist["name"] == "Road Trip" and (playlist["owned"], playlist["missing"]) == (3, 3)
    tracks = {t["title"]: t for t in playlist["tracks"]}
    assert [t["title"] for t in playlist["tracks"]] == [
        "One More Time", "Joga", "Sexy Boy", "Harder Better Faster Stronger", "Digital Love", "Dreams"]
    root = music.resolve()
    expected_owned = {"One More Time": root / "Daft Punk/Discovery (2001)/01 - One More Time.flac",
                      "Joga": root / "Björk/Homogenic/03 - Jóga.mp3",
                      "Sexy Boy": root / "Air/Moon Safari (1998)/02 - Sexy Boy.flac"}
    for title, path in expected_owned.items():
        assert tracks[title]["status"] == "owned" and tracks[title]["library_path"] == str(path)
        assert 0.8 <= tracks[title]["score"] <= 1.0
    # not in the library; a live take is not the studio track; a 40 s file is not a 3 s track
    for title in ("Harder Better Faster Stronger", "Digital Love", "Dreams"):
        assert (tracks[title]["status"], tracks[title]["library_path"], tracks[title]["score"]) == (
            "missing", None, None)
    assert tracks["Joga"]["artists"] == ["Bjork"]
    assert "line 8: no track name" in result.stderr  # the bad row, by line number


def test_dry_run_text_report_and_a_named_imported_playlist(tmp_path: Path, music: Path, csv_file: Path) -> None:
    config = str(tmp_path / "cfg")
    first = run("sync", "--playlist-file", str(csv_file), "--library-folder", str(music), "--config-dir", config,
                "--dry-run")
    no_traceback(first)
    assert first.returncode == 1
    assert "Road Trip: 3 owned, 3 missing" in first.stdout
    assert "missing  Daft Punk - Harder Better Faster Stronger" in first.stdout
    # the imported playlist is remembered: name it without the file (no Spotify needed)
    second = run("sync", "--playlist", "road trip", "--library-folder", str(music), "--config-dir", config,
                 "--dry-run", "--json")
    no_traceback(second)
    assert second.returncode == 1, second.stderr
    assert json.loads(second.stdout)["playlists"][0]["owned"] == 3
    assert "0 new or changed" in second.stderr  # the library rescan read nothing again


def test_a_dry_run_with_nothing_missing_exits_0(tmp_path: Path, music: Path) -> None:
    listing = tmp_path / "owned.csv"
    listing.write_text("Track Name,Artist Name(s)\nOne More Time,Daft Punk\nJoga,Bjork\n", encoding="utf-8")
    result = run("sync", "--playlist-file", str(listing), "--library-folder", str(music),
                 "--config-dir", str(tmp_path / "cfg"), "--dry-run")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "2 owned, 0 missing" in result.stdout


def test_m3u_playlist_file(tmp_path: Path, music: Path) -> None:
    m3u = tmp_path / "mix.m3u8"
    m3u.write_text("#EXTM3U\n#EXTINF:3,Daft Punk - One More Time\nelsewhere/one.flac\n"
                   "#EXTINF:200,Nobody - Nothing\nelsewhere/two.flac\n", encoding="utf-8")
    result = run("sync", "--playlist-file", str(m3u), "--library-folder", str(music),
                 "--config-dir", str(tmp_path / "cfg"), "--dry-run", "--json")
    no_traceback(result)
    [playlist] = json.loads(result.stdout)["playlists"]
    assert (playlist["name"], playlist["owned"], playlist["missing"]) == ("mix", 1, 1)


@pytest.mark.parametrize(("args", "message"), [
    ([], "name at least one --playlist or --playlist-file"),
    (["--playlist-file", "{tmp}/nope.csv", "--library-folder", "{music}"], "nope.csv: cannot be read"),
    (["--playlist-file", "{csv}", "--library-folder", "{tmp}/no-such-folder"], "does not exist"),
    (["--playlist-file", "{csv}"], "no library"),
    (["--playlist", "Unknown List", "--library-folder", "{music}"], "no playlist called 'Unknown List'"),
    (["--playlist-file", "{csv}", "--library-folder", "{music}"], "slskd is not set up"),
    (["--bogus"], "unrecognized arguments"),
])
def test_usage_and_configuration_errors_exit_2_in_words(tmp_path: Path, music: Path, csv_file: Path,
                                                        args: list[str], message: str) -> None:
    filled = [a.format(tmp=tmp_path, music=music, csv=csv_file) for a in args]
    result = run("sync", *filled, "--config-dir", str(tmp_path / "cfg"))
    no_traceback(result)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert result.stdout == ""


def test_a_file_that_is_not_a_playlist(tmp_path: Path, music: Path) -> None:
    bad = tmp_path / "notes.csv"
    bad.write_text("Foo,Bar\n1,2\n")
    result = run("sync", "--playlist-file", str(bad), "--library-folder", str(music),
                 "--config-dir", str(tmp_path / "cfg"), "--dry-run")
    no_traceback(result)
    assert result.returncode == 2 and "no track title column" in result.stderr


def test_unreachable_service_is_reported_without_a_traceback(tmp_path: Path, csv_file: Path, app_paths) -> None:
    from soulsync.context import AppContext

    context = AppContext.open(app_paths, secret_backend="file")
    context.settings.demo = True  # secrets in the file, as the CLI then reads them
    context.settings.plex.url = "http://127.0.0.1:9"  # nothing listens on the discard port
    context.settings.library.source = "plex"
    context.secrets.set("plex_token", "token-for-a-server-that-is-not-there")
    context.save()
    result = run("sync", "--playlist-file", str(csv_file), "--config-dir", str(app_paths.config_dir), "--dry-run")
    no_traceback(result)
    assert result.returncode == 2
    assert "Plex" in result.stderr and "token-for-a-server" not in result.stderr


def test_nothing_missing_needs_no_slskd_and_exports_m3u8(tmp_path: Path, music: Path) -> None:
    listing = tmp_path / "owned.csv"
    listing.write_text("Track Name,Artist Name(s)\nOne More Time,Daft Punk\nJoga,Bjork\n", encoding="utf-8")
    lists = tmp_path / "lists"
    result = run("sync", "--playlist-file", str(listing), "--library-folder", str(music),
                 "--config-dir", str(tmp_path / "cfg"), "--json", "--m3u8", str(lists))
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["playlists"][0]["missing"], payload["downloads"]["downloaded"]) == (0, 0)
    exported = parse_m3u((lists / "owned.m3u8").read_text(encoding="utf-8"), base_dir=lists)
    assert [Path(t.path).resolve() for t in exported.playlist.tracks] == [
        (music / "Daft Punk/Discovery (2001)/01 - One More Time.flac").resolve(),
        (music / "Björk/Homogenic/03 - Jóga.mp3").resolve()]


def test_check_without_configuration(tmp_path: Path) -> None:
    result = run("check", "--config-dir", str(tmp_path / "cfg"))
    no_traceback(result)
    assert result.returncode == 2 and "no service is configured" in result.stderr


# ----------------------------------------------------------------------------- against the simulations

PLAYLIST = "Chill — Rainy Days"


def test_sync_downloads_missing_tracks_into_the_library_and_mirrors_the_playlist(tmp_path: Path, demo_context,
                                                                                   sim_world) -> None:
    """The demo Plex account already has the user's own playlist called like the Spotify one (and a smart one
    whose title contains it): both survive the sync untouched, and the mirror goes under a distinct title."""
    users_own = {(p.rating_key, p.title, p.smart, p.summary, tuple(p.item_keys)) for p in sim_world.plex.playlists()}
    assert any(title == PLAYLIST and not smart for _rk, title, smart, _s, _i in users_own)
    demo_context.settings.downloads.stall_timeout_s = 20.0
    demo_context.save()
    m3u_dir = tmp_path / "lists"
    result = run("sync", "--playlist", PLAYLIST, "--config-dir", str(demo_context.paths.config_dir), "--json",
                 "--m3u8", str(m3u_dir), timeout=420.0)
    no_traceback(result)
    assert result.returncode in (0, 1), result.stderr
    payload = json.loads(result.stdout)
    [playlist] = payload["playlists"]
    downloads = payload["downloads"]
    assert downloads["downloaded"] > 0, result.stderr
    missing_after = playlist["missing"]
    assert missing_after == downloads["not_found"] + downloads["failed"] + downloads["cancelled"]
    assert result.returncode == (0 if missing_after == 0 else 1)

    library = Path(sim_world.library_dir).resolve()
    placed = [t for t in downloads["tracks"] if t["status"] == "downloaded"]
    assert len(placed) == downloads["downloaded"]
    owned_paths = {t["library_path"] for t in playlist["tracks"] if t["status"] == "owned"}
    for entry in placed:
        path = Path(entry["path"]).resolve()
        assert library in path.parents and path.exists()
        tags = mutagen.File(path, easy=True)
        assert tags is not None and entry["title"] in tags.get("title", [""])[0]
        assert str(path) in owned_paths  # Plex picked it up and the re-analysis found it

    after = {(p.rating_key, p.title, p.smart, p.summary, tuple(p.item_keys)) for p in sim_world.plex.playlists()}
    assert users_own <= after  # the user's playlists: same rating keys, titles, summaries and items
    keys = sim_world.plex.playlist_rating_keys(f"{PLAYLIST} (SoulSync)")
    assert len(keys) == len(owned_paths)  # every owned track once, in the playlist's order
    assert (f"Plex playlist '{PLAYLIST} (SoulSync)' created ({len(keys)} tracks). Your own Plex playlist "
            f"'{PLAYLIST}' (not made by SoulSync) was left untouched") in result.stderr
    text = (m3u_dir / f"{PLAYLIST}.m3u8").read_text(encoding="utf-8")
    assert text.count("#EXTINF") == len(owned_paths)
    wishlisted = {t.title for t, _reason, _n in demo_context.store.wishlist()}
    assert {t["title"] for t in playlist["tracks"] if t["status"] == "missing"} <= wishlisted


def test_sim_writes_a_config_that_sync_uses_as_is(tmp_path: Path) -> None:
    import signal

    env = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1")
    config = tmp_path / "cfg"
    proc = subprocess.Popen([str(PYTHON if PYTHON.exists() else sys.executable), "-m", "soulsync", "sim",
                             "--root", str(tmp_path / "sim"), "--tracks", "300", "--time-scale", "50",
                             "--write-config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["config_dir"] == str(config.resolve())
        result = run("sync", "--config-dir", info["config_dir"], "--playlist", "Road Trip '19", "--dry-run", "--json")
        no_traceback(result)
        assert result.returncode in (0, 1), result.stderr  # it ran: Spotify, Plex and their secrets all found
        [playlist] = json.loads(result.stdout)["playlists"]
        assert playlist["name"] == "Road Trip '19" and playlist["owned"] + playlist["missing"] > 0
        assert result.returncode == (1 if playlist["missing"] else 0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_prints_one_json_line_then_serves_until_terminated(tmp_path: Path) -> None:
    import signal

    import requests

    env = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1")
    proc = subprocess.Popen([str(PYTHON if PYTHON.exists() else sys.executable), "-m", "soulsync", "sim",
                             "--root", str(tmp_path / "sim"), "--tracks", "300", "--spotify-quota", "extended"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) >= {"spotify", "plex", "slskd", "seed"} and info["spotify"]["quota"] == "extended"
        me = requests.get(info["spotify"]["api_url"] + "me", timeout=5,
                          headers={"Authorization": f"Bearer {info['spotify']['access_token']}"}).json()
        assert "product" in me  # extended quota keeps the fields development mode drops
        plex = requests.get(info["plex"]["url"] + "/identity", timeout=5)
        slskd = requests.get(info["slskd"]["url"] + "/api/v0/application",
                             headers={"X-API-Key": info["slskd"]["api_key"]}, timeout=5)
        assert plex.status_code == 200 and slskd.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_playlist_spotify_will_not_hand_over_is_refused_in_words(demo_context, sim_world) -> None:
    """Spotify's development mode: Spotify's own playlists answer 404, other users' 403 (reference 2.5)."""
    for owner in ("spotify", "marta.k"):
        name = next(p.name for p in sim_world.catalog.playlists if p.owner == owner and not p.collaborative)
        result = run("sync", "--playlist", name, "--dry-run", "--config-dir", str(demo_context.paths.config_dir))
        no_traceback(result)
        assert result.returncode == 2, result.stderr
        assert f"{name!r} can't be read" in result.stderr and "--playlist-file" in result.stderr


def test_sync_into_a_library_folder_that_is_not_there_stops_before_downloading(tmp_path: Path, demo_context,
                                                                                 sim_world) -> None:
    """An unmounted share: nothing is asked of slskd, the folder is not created, the words say why."""
    nas = tmp_path / "nas"
    demo_context.settings.downloads.library_dir = str(nas / "Music")
    demo_context.save()
    before = len(sim_world.slskd.transfers())
    result = run("sync", "--playlist", "Workout Bangers!", "--config-dir", str(demo_context.paths.config_dir),
                 timeout=240.0)  # a playlist with missing tracks the other tests of this module do not download
    no_traceback(result)
    assert result.returncode == 2 and "is not there" in result.stderr and "mounted" in result.stderr
    assert not nas.exists() and len(sim_world.slskd.transfers()) == before

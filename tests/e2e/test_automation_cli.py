"""``soulsync keep`` and ``soulsync run --once`` as a home server runs them: subprocesses against the simulations."""
from __future__ import annotations

from pathlib import Path

import mutagen

from tests.e2e.test_cli_sync import no_traceback, run

PLAYLIST = "Chill — Rainy Days"


def test_a_kept_playlist_is_synced_by_run_once_headless_and_the_next_run_waits(demo_context, sim_world) -> None:
    demo_context.settings.downloads.stall_timeout_s = 20.0
    demo_context.save()
    config = str(demo_context.paths.config_dir)
    added = run("keep", "add", PLAYLIST, "--every", "6", "--mirror", "--config-dir", config)
    no_traceback(added)
    assert added.returncode == 0 and added.stdout.strip() == f"Kept in sync every 6 h: {PLAYLIST} (mirrored on Plex)"
    listed = run("keep", "list", "--config-dir", config)
    assert listed.stdout.strip() == f"{PLAYLIST}: every 6 h, mirrored on Plex"

    library = Path(sim_world.library_dir).resolve()
    before = {p for p in library.rglob("*") if p.suffix in (".flac", ".mp3", ".ogg", ".m4a")}
    first = run("run", "--once", "--config-dir", config, timeout=420.0)
    no_traceback(first)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = [line for line in first.stdout.splitlines() if " playlist:" in line]
    assert len(lines) == 1 and ": done: " in lines[0] and f"{PLAYLIST}: " in lines[0], first.stdout
    assert "downloads: " in lines[0] and " downloaded" in lines[0]

    placed = sorted({p for p in library.rglob("*") if p.suffix in (".flac", ".mp3", ".ogg", ".m4a")} - before)
    assert placed, "the run filed the missing tracks into the library"
    for path in placed:
        tags = mutagen.File(path, easy=True)
        assert tags is not None and tags.get("title")
    assert sim_world.plex.playlist_rating_keys(f"{PLAYLIST} (SoulSync)"), "mirrored on Plex"

    again = run("run", "--once", "--config-dir", config)
    no_traceback(again)
    assert again.returncode == 0 and "Nothing is due." in again.stdout, again.stdout

    removed = run("keep", "remove", PLAYLIST, "--config-dir", config)
    assert removed.returncode == 0 and removed.stdout.strip() == f"No longer kept in sync: {PLAYLIST}"
    assert run("keep", "list", "--config-dir", config).stdout.strip() == "No playlist is kept in sync."

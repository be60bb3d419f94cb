"""The music-folder library: tags first, path guesses second, incremental by mtime and size."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import soulsync.core.tagging as tagging
from soulsync.core.models import Track
from soulsync.core.store import Store
from soulsync.core.tagging import write_tags
from soulsync.services.library import FolderLibrarySource, LibraryError
from soulsync.services.local_library import FolderScanner
from tests.audio_fixtures import make_audio


@pytest.fixture
def opens(monkeypatch) -> list[Path]:
    """Every file mutagen opens through the tag reader, in order."""
    seen: list[Path] = []
    real = tagging.open_audio

    def counting(path):
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(tagging, "open_audio", counting)
    return seen


def tagged(path: Path, title: str, artists: list[str], album: str = "", fmt: str | None = None,
           freq: float = 440.0) -> Path:
    make_audio(path, fmt, seconds=0.3, freq=freq)
    write_tags(path, Track(title=title, artists=artists, album=album, track_number=1, year=2001,
                           isrc="GBARL9300135" if fmt == "mp3" else None))
    return path


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "Music"
    tagged(root / "Daft Punk" / "Discovery" / "01 - One More Time.flac", "One More Time", ["Daft Punk"], "Discovery")
    tagged(root / "Björk" / "Homogenic" / "03 - Jóga.mp3", "Jóga", ["Björk"], "Homogenic", fmt="mp3")
    make_audio(root / "Air" / "Moon Safari (1998)" / "02 - Sexy Boy.flac", seconds=0.3)  # no tags at all
    (root / "Broken").mkdir()
    (root / "Broken" / "01 - Noise.flac").write_bytes(b"fLaC" + os.urandom(400))
    (root / "Broken" / "cover.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 50)
    (root / "Broken" / "notes.txt").write_text("not music")
    (root / ".hidden").mkdir()
    make_audio(root / ".hidden" / "secret.flac", seconds=0.3)
    return root


def by_title(tracks: list[Track]) -> dict[str, Track]:
    return {t.title: t for t in tracks}


def test_scan_reads_tags_guesses_from_paths_and_skips_corrupt_files(music: Path) -> None:
    scan = FolderScanner(music).scan()
    found = by_title(scan.changed)
    assert set(found) == {"One More Time", "Jóga", "Sexy Boy"}
    one = found["One More Time"]
    assert one.artists == ["Daft Punk"] and one.album == "Discovery"
    assert one.duration_ms is not None and 250 <= one.duration_ms <= 350
    assert one.path == str((music / "Daft Punk" / "Discovery" / "01 - One More Time.flac").resolve())
    assert found["Jóga"].isrc == "GBARL9300135"
    sexy = found["Sexy Boy"]  # untagged: everything from Artist/Album (Year)/NN - Title
    assert (sexy.artists, sexy.album, sexy.year, sexy.track_number) == (["Air"], "Moon Safari", 1998, 2)
    assert scan.files == 4 and scan.corrupt == 1 and scan.guessed == 1
    assert any("01 - Noise.flac" in p for p in scan.problems)
    assert set(scan.stats) == {t.path for t in scan.changed}


def test_rescan_of_an_unchanged_folder_opens_no_file(music: Path, opens: list[Path]) -> None:
    scanner = FolderScanner(music)
    first = scanner.scan()
    assert len(opens) == 4  # three good files and the corrupt one
    opens.clear()
    again = scanner.scan(dict(first.stats), unreadable=first.unreadable)
    assert opens == []
    assert again.changed == [] and again.removed == [] and again.unchanged == 3
    assert again.corrupt == 1 and again.unreadable == first.unreadable  # still counted, not read again
    broken = music / "Broken" / "01 - Noise.flac"
    broken.write_bytes(b"fLaC" + os.urandom(500))  # changed: worth another try
    third = scanner.scan(dict(first.stats), unreadable=first.unreadable)
    assert opens == [broken.resolve()] and third.corrupt == 1


def test_rescan_reads_only_changed_and_new_files_and_reports_removed_ones(music: Path, opens: list[Path]) -> None:
    scanner = FolderScanner(music)
    known = dict(scanner.scan().stats)
    flac = music / "Daft Punk" / "Discovery" / "01 - One More Time.flac"
    write_tags(flac, Track(title="One More Time (Radio Edit)", artists=["Daft Punk"], album="Discovery"))
    os.utime(flac, (1_700_000_000, 1_700_000_000))  # a different mtime whatever the clock's resolution
    gone = music / "Björk" / "Homogenic" / "03 - Jóga.mp3"
    gone.unlink()
    new = tagged(music / "Air" / "Talkie Walkie" / "01 - Venus.flac", "Venus", ["Air"], "Talkie Walkie")
    opens.clear()
    scan = scanner.scan(known)
    read = {p.name for p in opens}
    assert read == {"01 - One More Time.flac", "01 - Venus.flac", "01 - Noise.flac"}
    assert {t.title for t in scan.changed} == {"One More Time (Radio Edit)", "Venus"}
    assert scan.removed == [str(gone.resolve())]
    assert str(new.resolve()) in scan.stats


def test_folder_source_keeps_the_store_in_step(music: Path, tmp_path: Path, opens: list[Path]) -> None:
    store = Store(tmp_path / "db.sqlite3")
    source = FolderLibrarySource(music)
    report = source.refresh(store)
    assert (report.total, report.changed, report.skipped) == (3, 3, 1)
    assert store.library_file_stats("folder").keys() == {t.path for t in store.library_tracks("folder")}
    opens.clear()
    again = source.refresh(store)
    assert opens == []
    assert again.skipped == 1
    assert (again.total, again.changed, again.removed, again.unchanged) == (3, 0, 0, 3)
    (music / "Björk" / "Homogenic" / "03 - Jóga.mp3").unlink()
    third = source.refresh(store)
    assert (third.total, third.removed) == (2, 1)
    assert "Jóga" not in {t.title for t in store.library_tracks("folder")}
    full = source.refresh(store, full=True)
    assert full.full and full.total == 2 and full.changed == 2


def test_cancelled_scan_keeps_what_it_read_and_the_next_one_resumes(music: Path, tmp_path: Path,
                                                                    opens: list[Path]) -> None:
    store = Store(tmp_path / "db.sqlite3")
    source = FolderLibrarySource(music)
    report = source.refresh(store, cancel=lambda: len(opens) >= 2)
    assert report.cancelled and len(opens) == 2
    kept = {t.path for t in store.library_tracks("folder")}
    assert report.total == len(kept) >= 1
    assert kept <= {str(p.resolve()) for p in opens}
    opens.clear()
    reports: list[tuple[int, int]] = []
    resumed = source.refresh(store, progress=lambda done, total: reports.append((done, total)))
    assert not resumed.cancelled and resumed.total == 3
    every_file = {str(p.resolve()) for p in music.rglob("*.flac") if ".hidden" not in p.parts}
    every_file |= {str(p.resolve()) for p in music.rglob("*.mp3")}
    assert {str(p.resolve()) for p in opens} <= every_file - kept  # what was kept is not read again
    assert len(opens) + len(kept) + len(store.library_unreadable("folder")) >= 4
    assert reports[-1] == (len(opens), len(opens))


def test_progress_reports_every_file_read(music: Path) -> None:
    seen: list[tuple[int, int]] = []
    FolderScanner(music).scan(progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4)
    assert all(done <= total for done, total in seen if total)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    with pytest.raises(LibraryError, match="does not exist"):
        FolderLibrarySource(tmp_path / "nowhere").refresh(store)


def test_unlistable_subfolder_does_not_remove_its_tracks(music: Path, monkeypatch) -> None:
    scanner = FolderScanner(music)
    known = dict(scanner.scan().stats)
    locked = (music / "Björk").resolve()
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    scan = scanner.scan(known)
    assert scan.removed == []
    assert any("cannot be listed" in p and "Permission denied" in p for p in scan.problems)

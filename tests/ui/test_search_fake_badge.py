"""Search results say "known fake" for peers' files refused as fakes before."""
from __future__ import annotations

from types import SimpleNamespace

from soulsync.core.search_grouping import group_results
from soulsync.ui.pages.downloads import DownloadsPage

FOLDER = "@@x\\Music\\Band\\Album [FLAC]"


def files(count: int) -> list[dict]:
    return [{"filename": f"{FOLDER}\\{n:02d} - Song {n}.flac", "size": 1000 + n} for n in range(1, count + 1)]


def response(username: str, shared: list[dict]) -> dict:
    return {"username": username, "files": shared, "lockedFiles": [], "hasFreeUploadSlot": True,
            "uploadSpeed": 1_000_000, "queueLength": 0, "token": 1}


class Service:
    """The two questions the page asks the download service about a row."""

    def __init__(self, fakes: dict[tuple[str, str], str]) -> None:
        self.fakes = fakes

    def is_active(self, username: str, filename: str) -> bool:
        return False

    def known_fake(self, username: str, filename: str) -> str | None:
        return self.fakes.get((username, filename))


def status(item, fakes: dict[tuple[str, str], str]) -> str:
    page = SimpleNamespace(service=Service(fakes), library=None)
    return DownloadsPage._row_status(page, item)


def test_known_fakes_are_badged():
    album = group_results([response("faker", files(3))]).albums[0]
    first, second = (f"{FOLDER}\\01 - Song 1.flac", f"{FOLDER}\\02 - Song 2.flac")
    why = "FLAC looks transcoded from a lossy source: nothing above 16.0 kHz"
    assert status(album, {}) == ""
    assert status(album, {("faker", first): why}) == "1 known fake"
    assert status(album, {("faker", first): why, ("faker", second): why}) == "2 known fakes"
    assert status(album, {("someone else", first): why}) == ""
    single = group_results([response("faker", files(1)[:1])])
    track = (single.singles or single.albums[0].tracks)[0]
    assert status(track, {("faker", first): why}) == "known fake"

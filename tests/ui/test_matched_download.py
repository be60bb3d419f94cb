"""Matched download dialog against the Spotify and slskd simulations: proposals, pairing, enqueueing."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from soulsync.core.search import ResultAlbum
from soulsync.core.search_grouping import group_results
from soulsync.sim.audio import AudioSpec
from soulsync.ui.dialogs.matched_download import MatchedDownloadDialog
from soulsync.ui.download_service import DownloadService
from soulsync.ui.models.matched import PairingModel

SEARCH_TIMEOUT = 20000


def peer_response(world, peer, shared_files) -> dict:
    """What slskd reports for these files of one peer (as the sim's search would)."""
    return {"username": peer.username, "hasFreeUploadSlot": True, "uploadSpeed": peer.upload_speed,
            "queueLength": 0, "files": [
                {"filename": f.path, "size": world.slskd.factory.size(f.spec), "extension": f.extension,
                 "length": f.spec.duration_s if isinstance(f.spec, AudioSpec) else None} for f in shared_files]}


def album_folders(peer) -> dict[str, list]:
    """The peer's audio files per catalog album id (files of one album share a folder)."""
    out: dict[str, list] = {}
    for f in peer.files:
        if f.is_audio and f.track is not None and not f.locked:
            out.setdefault(f.track.spotify_album_id, []).append(f)
    return out


@pytest.fixture
def archivist(sim_world):
    return next(p for p in sim_world.slskd.peers if p.kind == "archivist")


def pick_album(world, peer, discs: int = 1, exact_lengths: bool = True):
    """A catalog album the peer shares completely, with the wanted number of discs."""
    catalog = {a.spotify_id: a for a in world.catalog.albums}
    for album_id, files in album_folders(peer).items():
        album = catalog.get(album_id)
        if album is None or album.disc_total != discs or len(files) != len(album.tracks) or len(files) < 5:
            continue
        if exact_lengths and any(abs(f.spec.duration_s * 1000 - f.track.duration_ms) > 1500 for f in files):
            continue
        if album.album_type.value != "album" or not album.title.isascii():
            continue
        return album, files
    raise AssertionError("no suitable album shared by the peer")


def result_album(world, peer, files) -> ResultAlbum:
    results = group_results([peer_response(world, peer, files)])
    assert len(results.albums) == 1, [a.folder for a in results.albums]
    return results.albums[0]


@pytest.fixture
def service(qtbot, demo_context):
    svc = DownloadService(demo_context)
    yield svc
    svc.stop()


def open_dialog(qtbot, context, item, service) -> MatchedDownloadDialog:
    dialog = MatchedDownloadDialog(context, item, service)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def wait_for_pairing(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: dialog.pairing is not None, timeout=SEARCH_TIMEOUT)


def test_album_result_proposes_the_release_and_pairs_every_file(qtbot, demo_context, sim_world, archivist,
                                                               service):
    album, files = pick_album(sim_world, archivist, discs=2)
    item = result_album(sim_world, archivist, files)
    dialog = open_dialog(qtbot, demo_context, item, service)
    assert dialog.artist_input.text() == album.artist
    wait_for_pairing(qtbot, dialog)

    top = dialog.proposal_model.rows[0]
    assert top.album.spotify_id == album.spotify_id
    assert top.score > 0.9
    model = dialog.proposal_model
    assert model.data(model.index(0, 1)) == album.title
    assert model.data(model.index(0, 3)) == album.year
    assert model.data(model.index(0, 4)) == len(album.tracks)
    qtbot.waitUntil(lambda: model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None,
                    timeout=SEARCH_TIMEOUT)
    qtbot.waitUntil(lambda: dialog.cover_label.pixmap() is not None and not dialog.cover_label.pixmap().isNull(),
                    timeout=SEARCH_TIMEOUT)
    assert str(album.year) in dialog.release_label.text()

    pairing = dialog.pairing
    assert pairing.complete
    by_path = {f.path: f.track for f in files}
    for pair in pairing.pairs:
        assert by_path[pair.file.ref.file.filename].spotify_id == pair.track.spotify_id
    pm = dialog.pairing_model
    assert pm.rowCount() == len(files)
    assert pm.data(pm.index(0, 3)) == "1-01"  # two discs: disc-track numbers
    assert pm.data(pm.index(0, 4)) == pairing.pairs[0].track.title
    assert f"{len(files)} of {len(files)} files paired." == dialog.summary_label.text()
    assert dialog.download_button.isEnabled()
    assert dialog.download_button.text() == f"Download {len(files)} matched files"


def test_confirm_enqueues_every_pair_with_complete_spotify_metadata(qtbot, demo_context, sim_world, archivist,
                                                                  service):
    album, files = pick_album(sim_world, archivist)
    dialog = open_dialog(qtbot, demo_context, result_album(sim_world, archivist, files), service)
    wait_for_pairing(qtbot, dialog)
    with qtbot.waitSignal(dialog.queued, timeout=SEARCH_TIMEOUT) as queued:
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert queued.args == [len(files)]
    assert dialog.result() == dialog.DialogCode.Accepted
    store = demo_context.store
    qtbot.waitUntil(lambda: len([i for i in store.queue_items() if i.source == "matched"]) == len(files),
                    timeout=SEARCH_TIMEOUT)
    items = [i for i in store.queue_items() if i.source == "matched"]
    assert len({i.group_id for i in items}) == 1
    catalog = {t.spotify_id: t for t in album.tracks}
    for item in items:
        wanted = item.wanted
        truth = catalog[wanted.spotify_id]
        assert item.username == archivist.username
        assert (wanted.title, wanted.artists, wanted.album, wanted.album_artist) == (
            truth.title, truth.artists, album.title, album.artist)
        assert (wanted.track_number, wanted.disc_number, wanted.track_total, wanted.disc_total, wanted.year) == (
            truth.track_number, 1, len(album.tracks), 1, album.year)
        assert wanted.isrc == truth.isrc
        assert wanted.spotify_album_id == album.spotify_id
        assert wanted.spotify_artist_ids == truth.spotify_artist_ids
        assert item.meta.cover_url == sim_world.spotify.url + album.image_url
        assert item.meta.release_date == album.release_date
        shared = next(f for f in files if f.path == item.filename)
        assert shared.track.spotify_id == wanted.spotify_id


def test_unpaired_files_are_listed_and_unchecked_pairs_are_not_downloaded(qtbot, demo_context, sim_world,
                                                                          archivist, service):
    album, files = pick_album(sim_world, archivist)
    other_album, other_files = pick_album(sim_world, archivist, discs=2)
    folder = files[0].path.rsplit("\\", 1)[0]
    # two strangers in the album's folder (a bonus disc's files, say)
    from dataclasses import replace

    strangers = [replace(f, path=f"{folder}\\{90 + n} - {f.track.title}.{f.extension}")
                 for n, f in enumerate(other_files[:2])]
    dialog = open_dialog(qtbot, demo_context, result_album(sim_world, archivist, files + strangers), service)
    wait_for_pairing(qtbot, dialog)
    assert dialog.proposal_model.rows[0].album.spotify_id == album.spotify_id
    pairing = dialog.pairing
    assert len(pairing.pairs) == len(files)
    assert sorted(f.name for f in pairing.unpaired_files) == sorted(s.path.rsplit("\\", 1)[1] for s in strangers)
    pm: PairingModel = dialog.pairing_model
    rows = [pm.data(pm.index(r, 4)) for r in range(pm.rowCount())]
    assert rows.count("— not on this album —") == 2
    assert "2 files without a track will not be downloaded" in dialog.summary_label.text()

    pm.setData(pm.index(0, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert dialog.download_button.text() == f"Download {len(files) - 1} matched files"
    skipped = pairing.pairs[0].file.ref.file.filename
    with qtbot.waitSignal(dialog.queued, timeout=SEARCH_TIMEOUT) as queued:
        dialog.confirm()
    assert queued.args == [len(files) - 1]
    store = demo_context.store
    qtbot.waitUntil(lambda: len([i for i in store.queue_items() if i.group_id and i.source == "matched"
                                 and i.meta.spotify_album_id == album.spotify_id]) == len(files) - 1,
                    timeout=SEARCH_TIMEOUT)
    names = {i.filename for i in store.queue_items()}
    assert skipped not in names
    assert not any(s.path in names for s in strangers)


def test_editing_the_query_searches_again(qtbot, demo_context, sim_world, archivist, service):
    album, files = pick_album(sim_world, archivist)
    other = next(a for a in sim_world.catalog.albums
                 if a.artist == album.artist and a.spotify_id != album.spotify_id and a.album_type.value == "album")
    dialog = open_dialog(qtbot, demo_context, result_album(sim_world, archivist, files), service)
    wait_for_pairing(qtbot, dialog)
    dialog.title_input.setText(other.title)
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pairing is not None and dialog.proposal_model.rows
                    and dialog.proposal_model.rows[0].album.spotify_id == other.spotify_id, timeout=SEARCH_TIMEOUT)
    # the files are another album's: the pairing says so before anything is written
    assert len(dialog.pairing.pairs) < len(files) // 2
    assert dialog.pairing.unpaired_files


def test_single_track_result_is_matched_to_its_spotify_track(qtbot, demo_context, sim_world, archivist, service):
    album, files = pick_album(sim_world, archivist, discs=2)
    shared = files[-1]
    results = group_results([peer_response(sim_world, archivist, [shared])])
    (single,) = results.singles
    dialog = open_dialog(qtbot, demo_context, single, service)
    assert dialog.title_input.text() == shared.track.title  # the archivist's tidy names
    wait_for_pairing(qtbot, dialog)
    top = dialog.proposal_model.rows[0]
    assert top.track.spotify_id == shared.track.spotify_id
    assert dialog.pairing_model.rowCount() == 1
    qtbot.waitUntil(lambda: album.title in dialog.release_label.text(), timeout=SEARCH_TIMEOUT)
    with qtbot.waitSignal(dialog.queued, timeout=SEARCH_TIMEOUT):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    store = demo_context.store
    qtbot.waitUntil(lambda: any(i.filename == shared.path for i in store.queue_items()), timeout=SEARCH_TIMEOUT)
    item = next(i for i in store.queue_items() if i.filename == shared.path)
    wanted = item.wanted
    disc_tracks = [t for t in album.tracks if t.disc_number == shared.track.disc_number]
    assert (wanted.spotify_id, wanted.isrc, wanted.album_artist, wanted.disc_total, wanted.track_total) == (
        shared.track.spotify_id, shared.track.isrc, album.artist, 2, len(disc_tracks))
    assert item.meta.cover_url == sim_world.spotify.url + album.image_url
    assert (item.meta.release_date, item.meta.spotify_album_id) == (album.release_date, album.spotify_id)


def test_without_spotify_nothing_is_searched(qtbot, demo_context, sim_world, archivist, service):
    demo_context.settings.spotify.client_id = ""
    _album, files = pick_album(sim_world, archivist)
    dialog = open_dialog(qtbot, demo_context, result_album(sim_world, archivist, files), service)
    assert "Connect Spotify" in dialog.status_label.text()
    assert not dialog.search_button.isEnabled() and not dialog.download_button.isEnabled()
    assert dialog.proposal_model.rowCount() == 0

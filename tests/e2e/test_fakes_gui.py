"""The app end to end on the demo world: a matched download whose first source is a sim fake moves on to
a genuine one, the Finished tab says a fake was refused (and why), and search results badge the fake."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt

from soulsync.core.search_grouping import group_results
from soulsync.sim.audio import AudioSpec
from soulsync.ui.models.queue import COL_STATUS

TIMEOUT_MS = 180_000


def _flacs(world, lowpass: bool):
    """(peer, file) of every FLAC of the catalog's length that a peer delivering at once shares."""
    for peer in world.slskd.peers:
        if peer.kind != "fast" or not peer.free_slot or peer.queue_length:
            continue
        for f in peer.files:
            spec = f.spec
            if isinstance(spec, AudioSpec) and spec.fmt == "flac" and spec.lowpass == lowpass and not f.locked \
                    and f.track is not None and abs(spec.duration_s * 1000 - f.track.duration_ms) < 1500:
                yield peer, f


def _fake_and_genuine(world):
    """A track a well-behaved peer shares as a band-limited "FLAC" and another shares genuinely."""
    genuine = {f.track.spotify_id: (peer, f) for peer, f in _flacs(world, lowpass=False)}
    for peer, f in _flacs(world, lowpass=True):
        if f.track.spotify_id in genuine:
            return (peer, f), genuine[f.track.spotify_id]
    raise AssertionError("the demo world has no track shared both as a fake FLAC and a genuine one")


def test_a_fake_is_refused_shown_and_badged(qtbot, window, demo_context, sim_world, tmp_path):
    (tmp_path / "library").mkdir()  # the library disk is there (a missing one stops filing)
    demo_context.settings.downloads.library_dir = str(tmp_path / "library")
    demo_context.settings.library.source = "folder"
    (fake_peer, fake), (good_peer, good) = _fake_and_genuine(sim_world)
    size = sim_world.slskd.factory.size
    candidates = [{"username": fake_peer.username, "filename": fake.path, "size": size(fake.spec), "quality": "FLAC"},
                  {"username": good_peer.username, "filename": good.path, "size": size(good.spec), "quality": "FLAC"}]
    service = window.downloads
    page = window.show_page("downloads")
    panel = page.queue_panel
    service.enqueue([(fake_peer.username, fake.path, size(fake.spec))], wanted=fake.track, candidates=candidates,
                    source="matched")
    model = panel.finished_model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=TIMEOUT_MS)

    item = model.item(0)
    assert (item.state, item.username) == ("succeeded", good_peer.username), item.reason
    status = model.data(model.index(0, COL_STATUS))
    assert status.endswith("· 1 fake source refused"), status
    tip = model.data(model.index(0, COL_STATUS), Qt.ItemDataRole.ToolTipRole)
    assert f"tried {fake_peer.username}: FLAC looks transcoded from a lossy source: nothing above 16.0 kHz" in tip
    assert Path(item.final_path).is_file()

    # the refused file is remembered: search results show it as a known fake
    assert service.known_fake(fake_peer.username, fake.path).startswith("FLAC looks transcoded")
    results = group_results([{"username": fake_peer.username, "files": [{"filename": fake.path,
                                                                          "size": size(fake.spec)}],
                              "lockedFiles": [], "hasFreeUploadSlot": True, "uploadSpeed": 1, "queueLength": 0}])
    row = (results.singles or results.albums)[0]
    assert "known fake" in page._row_status(row)

"""``soulsync inspect``: files and folders, words or JSON, exit status 0/1/2."""
from __future__ import annotations

import json

import pytest

from soulsync.cli import main
from soulsync.sim.audio import AudioSpec, FileFactory


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    factory = FileFactory(tmp_path_factory.mktemp("sim-files"))
    root = tmp_path_factory.mktemp("music")
    made = {}
    for name, spec in {"Album/01 real.flac": AudioSpec("flac", 6), "Album/CD2/02 fake.flac":
                       AudioSpec("flac", 6, lowpass=True), "Loose/up.mp3": AudioSpec("mp3", 6, bitrate=320,
                                                                                     lowpass=True),
                       "Loose/fine.mp3": AudioSpec("mp3", 6, bitrate=320)}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(factory.path(spec).read_bytes())
        made[name] = path
    (root / "Album" / "cover.jpg").write_bytes(b"\xff\xd8 not looked at")
    (root / "Album" / "broken.flac").write_bytes(b"fLaC" + bytes(500))
    made["Album/broken.flac"] = root / "Album" / "broken.flac"
    return root, made


def test_genuine_files_exit_0(files, capsys):
    _root, made = files
    assert main(["inspect", str(made["Album/01 real.flac"]), str(made["Loose/fine.mp3"])]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("genuine") and "FLAC 16/44.1 kHz" in lines[0] and "cutoff 21.9 kHz" in lines[0]
    assert lines[2].startswith("genuine") and "MP3 320 kbps" in lines[2] and "cutoff 20.2 kHz" in lines[2]
    assert err.strip() == "2 files: 2 genuine, 0 fake, 0 can't tell"


def test_a_folder_with_fakes_exits_1_and_says_why(files, capsys):
    root, _made = files
    assert main(["inspect", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "cover.jpg" not in out
    assert out.count("\nFAKE ") + out.startswith("FAKE ") == 2
    assert "FLAC looks transcoded from a lossy source: nothing above 16.0 kHz" in out
    assert "MP3 at 320 kbps looks up-converted from a lower bitrate: nothing above 16." in out
    assert "not usable: the file" in out  # the broken file is reported, not fatal
    assert err.strip() == "5 files: 2 genuine, 2 fake, 1 can't tell"


def test_json(files, capsys):
    root, _made = files
    assert main(["inspect", "--json", str(root / "Album")]) == 1
    results = json.loads(capsys.readouterr().out)
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in results}
    assert set(by_name) == {"01 real.flac", "02 fake.flac", "broken.flac"}
    for r in results:
        assert {"path", "format", "genuine", "cutoff_hz", "reason"} <= set(r)
    assert by_name["01 real.flac"]["genuine"] is True and by_name["01 real.flac"]["format"] == "flac"
    assert by_name["02 fake.flac"]["genuine"] is False and 15900 < by_name["02 fake.flac"]["cutoff_hz"] < 16200
    assert by_name["broken.flac"]["genuine"] is None and by_name["broken.flac"]["error"] is True


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.flac")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["inspect"]) == 2

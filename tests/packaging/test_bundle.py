"""The standalone bundle: ``./scripts/package`` builds it, and it starts offscreen in demo mode with
no Python around it, themed, with Qt's plugins, the FFmpeg back end, certifi and the licence texts."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PyQt6.QtGui import QImage

from soulsync import __version__

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 40 * 60
RUN_TIMEOUT_S = 120

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle's folder, built by ./scripts/package exactly as a user runs it."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([ROOT / "scripts" / "package", "--dist", str(dist)], cwd=ROOT, check=True,
                   timeout=BUILD_TIMEOUT_S)
    return dist / "soulsync"


def _bare_env(home: Path) -> dict[str, str]:
    """An environment with no Python in reach: no PYTHONPATH/PYTHONHOME, no virtual environment."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
            "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"), "XDG_STATE_HOME": str(home / "state")}


def test_bundle_carries_what_it_needs(bundle: Path) -> None:
    internal = bundle / "_internal"
    qt = internal / "PyQt6" / "Qt6"
    for needed in (
        bundle / "soulsync",
        internal / "soulsync" / "resources" / "theme.qss",
        internal / "soulsync" / "resources" / "icon.svg",
        qt / "plugins" / "platforms" / "libqxcb.so",
        qt / "plugins" / "platforms" / "libqoffscreen.so",
        qt / "plugins" / "iconengines" / "libqsvgicon.so",
        qt / "plugins" / "multimedia" / "libffmpegmediaplugin.so",
        internal / "certifi" / "cacert.pem",
        bundle / "DISTRIBUTION.txt",
        bundle / "LICENSES" / "components.txt",
        bundle / "LICENSES" / "PyQt6" / "LICENSE",
        bundle / "LICENSES" / "FFmpeg" / "LGPL-2.1.txt",
    ):
        assert needed.exists(), needed
    assert list(internal.rglob("libavcodec.so*")), "QtMultimedia's FFmpeg libraries"
    assert list(internal.glob("libpython3*.so*")), "the interpreter travels inside the bundle"
    for dist in ("soulsync", "pyqt6", "certifi"):  # the About dialog lists components from their metadata
        assert list(internal.glob(f"{dist}-*.dist-info")), dist
    assert "GNU General Public License version 3" in (bundle / "DISTRIBUTION.txt").read_text()
    components = (bundle / "LICENSES" / "components.txt").read_text()
    assert f"soulsync {__version__}: MIT" in components and "PyQt6 " in components


def test_bundle_starts_offscreen_in_demo_mode(bundle: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _bare_env(home)
    version = subprocess.run([bundle / "soulsync", "--version"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT_S, check=True)
    assert version.stdout.strip() == f"SoulSync {__version__}"

    shot = tmp_path / "bundle.png"
    config = tmp_path / "config"
    proc = subprocess.run([bundle / "soulsync", "--demo", "--config-dir", str(config), "--screenshot", str(shot)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "SoulSync is running" in proc.stdout
    for trouble in ("Cannot open file", "No QtMultimedia backends", "Could not load the Qt platform plugin"):
        assert trouble not in proc.stderr
    log = (config / "logs" / "soulsync.log").read_text()
    assert "Theme applied (resources in " in log and "could not be rendered" not in log
    assert "Demo mode: simulations running" in log
    image = QImage(str(shot))
    assert not image.isNull()
    assert image.pixelColor(20, image.height() // 2).name() == "#0c0e12", "the themed sidebar"


def test_bundle_installs_its_launcher_entry(bundle: Path, tmp_path: Path) -> None:
    env = _bare_env(tmp_path / "home")
    subprocess.run([bundle / "soulsync", "--install-desktop-entry"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=RUN_TIMEOUT_S)
    entry = (Path(env["XDG_DATA_HOME"]) / "applications" / "org.soulsync.SoulSync.desktop").read_text()
    assert f"\nExec={bundle / 'soulsync'}\n" in entry

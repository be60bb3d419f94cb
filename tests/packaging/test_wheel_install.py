"""The wheel is the whole app: built from a copy of the checkout, installed into a fresh virtual
environment outside it, started offscreen from there, themed and with its icon.

The fresh environment reuses the already-installed dependencies (a ``.pth`` line naming this
interpreter's site-packages, which does not run that folder's own ``.pth`` hooks, so an
editable SoulSync there stays invisible); only SoulSync itself comes from the wheel.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("installed_probe.py")
RUN_TIMEOUT_S = 120


def _source_copy(dest: Path) -> Path:
    """The checkout's tracked files (what an sdist or a clone carries), without local build output."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SoulSync's wheel, built by pip the way a user's ``pip install .`` builds it."""
    src = _source_copy(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                   check=True, timeout=RUN_TIMEOUT_S)
    (built,) = out.glob("soulsync-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its Python."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], env=_user_env(env_dir), check=True, timeout=RUN_TIMEOUT_S)
    # Only now the dependencies: pip must not see another SoulSync there and skip the install.
    (site / "_soulsync_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _user_env(home: Path) -> dict[str, str]:
    """A user's environment: no PYTHONPATH into the checkout, a fresh home, offscreen Qt."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_STATE_HOME=str(home / ".local/state"),
               QT_QPA_PLATFORM="offscreen")
    return env


def test_wheel_carries_every_module_and_resource(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "soulsync").rglob("*.py")}
    resources = {"soulsync/resources/" + p.relative_to(ROOT / "resources").as_posix()
                 for p in (ROOT / "resources").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert modules - names == set()
    assert resources - names == set()
    assert not any(n.startswith("resources/") for n in names), "resources belong inside the package"


def test_installed_app_starts_themed_with_its_icon(installed: Path, tmp_path: Path) -> None:
    env = _user_env(tmp_path / "home")
    version = subprocess.run([installed.parent / "soulsync", "--version"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=True)
    assert re.fullmatch(r"SoulSync \d+\.\d+\.\d+\S*\n", version.stdout)

    proc = subprocess.run([installed, PROBE, "--demo"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Cannot open file" not in proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE ")]
    seen = json.loads(line[len("PROBE "):])

    site = Path(subprocess.run([installed, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    assert Path(seen["package"]) == site / "soulsync", "the app must come from the wheel, not the checkout"
    assert seen["window_visible"]
    # The stylesheet is the theme, its images are the installed package's files.
    assert seen["stylesheet_urls"] and not seen["stylesheet_urls_missing"]
    assert all(Path(u).is_relative_to(site / "soulsync" / "resources") for u in seen["stylesheet_urls"])
    as_template = re.sub(r"url\([^)]*/([\w.-]+)\)", r"url({RES}/\1)", seen["stylesheet"])
    assert as_template == (ROOT / "resources" / "theme.qss").read_text(encoding="utf-8")
    # The window icon rendered from the packaged SVG: transparent corner, the dark tile in the middle.
    assert not seen["icon_null"]
    assert seen["icon_corner_alpha"] == 0 and seen["icon_centre"] == "#111318"


def test_installed_launcher_entry_starts_the_installed_launcher(installed: Path, tmp_path: Path) -> None:
    env = _user_env(tmp_path / "home")
    launcher = installed.parent / "soulsync"
    subprocess.run([launcher, "--install-desktop-entry"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=RUN_TIMEOUT_S)
    entry = (Path(env["XDG_DATA_HOME"]) / "applications" / "org.soulsync.SoulSync.desktop").read_text()
    assert f"\nExec={launcher}\n" in entry

"""What SoulSync is made of and under which licences: read from the installed packages' metadata.

The About dialog lists it, and ``./scripts/package`` writes the same texts into the
bundle (``python -m soulsync.licenses DEST``, :func:`write_licence_folder`). Components are SoulSync and every package it needs at run time (its
``Requires-Dist`` closure, extras left out), as installed; each carries its version,
its licence (SPDX expression, the ``License`` field, or the classifier) and the
licence texts its distribution ships.
"""
from __future__ import annotations

import platform
import re
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from soulsync import assets

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CLASSIFIER = "License :: OSI Approved :: "


@dataclass(frozen=True)
class Component:
    """One installed package: its name, version, licence and licence texts (file name, text)."""

    name: str
    version: str
    license: str
    texts: tuple[tuple[str, str], ...]


def distribution_terms() -> str:
    """The statement of the terms under which SoulSync is distributed together with PyQt6."""
    return assets.read_text("DISTRIBUTION.txt")


def _field(meta: metadata.PackageMetadata, name: str) -> str:
    values = meta.get_all(name) or []
    return str(values[0]).strip() if values else ""


def _license_of(meta: metadata.PackageMetadata) -> str:
    expression = _field(meta, "License-Expression")
    if expression:
        return expression
    declared = _field(meta, "License")
    if declared and "\n" not in declared and len(declared) <= 60:
        return declared
    classifiers = [c[len(_CLASSIFIER):] for c in meta.get_all("Classifier") or [] if c.startswith(_CLASSIFIER)]
    return ", ".join(classifiers) or "see its licence text"


def _texts_of(dist: metadata.Distribution) -> tuple[tuple[str, str], ...]:
    texts: list[tuple[str, str]] = []
    for name in dict.fromkeys(dist.metadata.get_all("License-File") or []):
        text = dist.read_text(f"licenses/{name}") or dist.read_text(name)
        if text:
            texts.append((name, text))
    if not texts:  # older wheels put LICENSE beside METADATA without declaring it
        for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING"):
            text = dist.read_text(name)
            if text:
                texts.append((name, text))
                break
    return tuple(texts)


def _runtime_requirements(dist: metadata.Distribution) -> list[str]:
    names = []
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        match = _NAME.match(spec.strip())
        if match and "extra" not in marker:
            names.append(match.group(0))
    return names


def components(root: str = "soulsync") -> list[Component]:
    """``root`` and every installed package it needs at run time, ``root`` first, the rest by name."""
    found: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:  # a platform-specific requirement not needed here
            continue
        found[key] = dist
        pending.extend(_runtime_requirements(dist))
    dists = sorted(found.values(), key=lambda d: (d.metadata["Name"].lower() != root, d.metadata["Name"].lower()))
    return [Component(d.metadata["Name"], d.version, _license_of(d.metadata), _texts_of(d)) for d in dists]


def write_licence_folder(dest: Path) -> list[Component]:
    """Write what a distribution of SoulSync with its dependencies must carry into ``dest``.

    ``dest/DISTRIBUTION.txt`` (the terms), ``dest/LICENSES/components.txt`` (every component,
    version, licence) and ``dest/LICENSES/<component>/<file>`` (each licence text, with
    FFmpeg's LGPL v2.1 under ``FFmpeg/`` and the Python interpreter's licence under ``Python/``). Used by ``./scripts/package``.
    """
    parts = components()
    folder = dest / "LICENSES"
    folder.mkdir(parents=True, exist_ok=True)
    (dest / "DISTRIBUTION.txt").write_text(distribution_terms(), encoding="utf-8")
    rows = [f"{p.name} {p.version}: {p.license}" for p in parts]
    rows.append("FFmpeg (libavcodec, libavformat, libavutil, libswresample, libswscale, shipped with Qt): "
                "LGPL-2.1-or-later")
    python_licence = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if python_licence.is_file():  # the bundle carries the interpreter itself
        rows.append(f"Python {platform.python_version()}: PSF-2.0")
        (folder / "Python").mkdir(exist_ok=True)
        (folder / "Python" / "LICENSE.txt").write_text(python_licence.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "components.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for part in parts:
        for name, text in part.texts:
            target = folder / part.name / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    (folder / "FFmpeg").mkdir(exist_ok=True)
    (folder / "FFmpeg" / "LGPL-2.1.txt").write_text(assets.read_text("LGPL-2.1.txt"), encoding="utf-8")
    return parts


if __name__ == "__main__":
    import sys

    written = write_licence_folder(Path(sys.argv[1]))
    print(f"Licence texts of {len(written)} components written to {Path(sys.argv[1]) / 'LICENSES'}")

"""What SoulSync is made of and under which licences: read from the installed packages' metadata.

The About dialog lists it, and ``./scripts/package`` writes the same texts into the
bundle. Components are SoulSync and every package it needs at run time (its
``Requires-Dist`` closure, extras left out), as installed; each carries its version,
its licence (SPDX expression, the ``License`` field, or the classifier) and the
licence texts its distribution ships.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

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
    return assets.read_text("licenses/DISTRIBUTION.txt")


def _license_of(meta: metadata.PackageMetadata) -> str:
    expression = meta.get("License-Expression")
    if expression:
        return expression
    declared = (meta.get("License") or "").strip()
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

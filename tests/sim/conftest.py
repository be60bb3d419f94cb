"""Fixtures for the simulation tests. Several helpers add fixtures here: keep names distinct."""
from __future__ import annotations

import pytest

from soulsync.sim.catalog import Catalog, build_catalog
from soulsync.sim.plex import PlexSim
from soulsync.sim.spotify import SpotifySim


@pytest.fixture(scope="session")
def catalog_3k() -> Catalog:
    """The default world (seed 1, 3,000 tracks), built once. Treat as read-only."""
    return build_catalog(seed=1)


@pytest.fixture
def spotify_sim(catalog_3k: Catalog):
    sim = SpotifySim(catalog_3k).start()
    yield sim
    sim.stop()


@pytest.fixture
def plex_sim(catalog_3k: Catalog, tmp_path):
    sim = PlexSim(catalog_3k, tmp_path / "library").start()
    yield sim
    sim.stop()

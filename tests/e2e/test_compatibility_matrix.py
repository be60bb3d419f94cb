"""The main flows against each slskd SoulSync supports: 0.24.5 on Linux, 0.26 on Linux, 0.26 on Windows.

What differs between them (``docs/compatibility.md``, reference 1.4-1.7): 0.26 retries failed
downloads by itself and files downloads by a destination pattern with the share root
stripped; on a Windows host slskd replaces ``" < > | : * ?`` in local names. The flows are
the user's, each run in every flavour, each through the real widgets:

* search and download an album from the Downloads page, followed to tagged files;
* Download missing from the Sync page on the demo's "Hard to Search" playlist;
* a preview that plays while it downloads;
* a matched album download, tagged and named in the library.

The flows are the suite's own end-to-end tests, collected here a second time with this
module's world (pytest runs an imported test with the fixtures of the module it sits in).
"""
from __future__ import annotations

import pytest

from tests.e2e.test_downloads_gui import test_search_filter_sort_and_download_an_album  # noqa: F401
from tests.e2e.test_hard_to_search import demo_context  # noqa: F401
from tests.e2e.test_hard_to_search import test_hard_to_search_playlist_download_missing_ends  # noqa: F401
from tests.e2e.test_matched_album import test_matched_album_download_lands_tagged_and_named_in_the_library  # noqa: F401
from tests.ui.test_preview import bar, files  # noqa: F401
from tests.ui.test_preview import test_play_starts_before_the_download_completes_and_stop_cleans_up  # noqa: F401

FLAVOURS = [("0.24.5", "linux"), ("0.26.0", "linux"), ("0.26.0", "windows")]


@pytest.fixture(scope="module", params=FLAVOURS, ids=[f"slskd-{v}-{h}" for v, h in FLAVOURS])
def sim_world(request, tmp_path_factory):
    """The demo world (with its hard cases) in front of one slskd flavour."""
    from soulsync.sim.world import SimWorld

    version, host_os = request.param
    world = SimWorld.start(seed=1, root=tmp_path_factory.mktemp("sim"), time_scale=50.0, hard_cases=True,
                           slskd_version=version, slskd_host_os=host_os)
    assert (world.slskd.version, world.slskd.host_os) == (version, host_os)
    yield world
    world.stop()

"""Suite-wide fixtures: offscreen Qt, isolated app folders, and the main-thread network guard."""
from __future__ import annotations

import os
import socket
import sys
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

# A 1920x1080 offscreen screen (the default 800x600 would clamp the window's size).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={Path(__file__).with_name('offscreen_screen.json')}"
os.environ.setdefault("SOULSYNC_TESTING", "1")

pytest_plugins = ["tests.model_checks"]  # the model_checks fixture

# Property tests: the default ("ci") profile is derandomized, so every run (CI or local) tries
# the same examples and a failure reproduces; it keeps no example database, so no run depends
# on what an earlier one found. "explore" is the long, random hunt for new counterexamples
# (HYPOTHESIS_PROFILE=explore, see docs/testing.md): it records failing examples under
# .hypothesis/explore, and each one found is then pinned with @example in its test.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=5000, deadline=None, print_blob=True,
                          database=DirectoryBasedExampleDatabase(
                              str(Path(__file__).resolve().parent.parent / ".hypothesis" / "explore")))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class MainThreadNetworkGuard:
    """Records every socket connect made from the main (GUI) thread while armed."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.armed = False
        self._original = socket.socket.connect
        self._original_ex = socket.socket.connect_ex

    def _check(self, address: object) -> None:
        if self.armed and threading.current_thread() is threading.main_thread():
            stack = "".join(traceback.format_stack(limit=14)[:-2])
            self.violations.append(f"socket connect to {address!r} from the GUI thread:\n{stack}")

    def install(self) -> None:
        guard = self

        def connect(sock: socket.socket, address: object) -> None:
            guard._check(address)
            return guard._original(sock, address)

        def connect_ex(sock: socket.socket, address: object) -> int:
            guard._check(address)
            return guard._original_ex(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def uninstall(self) -> None:
        socket.socket.connect = self._original  # type: ignore[method-assign]
        socket.socket.connect_ex = self._original_ex  # type: ignore[method-assign]

    @contextmanager
    def allowed(self):
        """Test code itself (not the app) may talk to a simulation from the main thread here."""
        was, self.armed = self.armed, False
        try:
            yield
        finally:
            self.armed = was


@pytest.fixture
def gui_network_guard(request):
    """Armed for every test that uses ``qtbot``: fails the test if the app connects a socket
    from the GUI thread. Use ``gui_network_guard.allowed()`` around test-side setup calls."""
    guard = MainThreadNetworkGuard()
    guard.install()
    guard.armed = True
    yield guard
    guard.armed = False
    guard.uninstall()
    if guard.violations:
        pytest.fail("The GUI thread made network calls:\n\n" + "\n\n".join(guard.violations), pytrace=False)


@pytest.fixture(autouse=True)
def _arm_guard_for_gui_tests(request):
    if "qtbot" in request.fixturenames:
        request.getfixturevalue("gui_network_guard")
        request.getfixturevalue("_windows_close_without_asking")
    yield


@pytest.fixture(scope="session")
def _windows_close_without_asking():
    """A main window closed by a test (or by pytest-qt at its teardown, after the test's own fixtures are
    gone) quits without asking: the question whether to keep running in the tray, or to quit with downloads
    running, is a modal box nobody would answer. Patched for the whole session for that reason; the tests of
    the question (tests/ui/test_tray.py) put the real one back for themselves."""
    from soulsync.ui.main_window import MainWindow
    from soulsync.ui.tray import CloseChoice

    patch = pytest.MonkeyPatch()
    patch.setattr(MainWindow, "close_choice", lambda self: CloseChoice.QUIT)
    yield
    patch.undo()


@pytest.fixture
def crash_watch(request, app_paths):
    """The app's crash reporter (as :mod:`soulsync.app` installs it) writing into the test's log folder,
    with pytest-qt's exception capture kept as well: an exception reaching Qt's event loop (a model's
    ``data()`` during a repaint, a slot) fails the test through pytest-qt, and any crash report written
    (a plain thread's exception included) fails it here. Refuses to run with pytest-qt's capture off."""
    from soulsync import __version__, crash

    disabled = request.node.get_closest_marker("qt_no_exception_capture") \
        or request.config.getini("qt_no_exception_capture")
    assert not disabled, "pytest-qt's exception capture must stay on for this test"
    qt_hook = sys.excepthook
    reporter = crash.CrashReporter(__version__, notify=None, log_dir=app_paths.log_dir)
    reporter.install()

    def both_hooks(*exc_info) -> None:
        reporter.excepthook(*exc_info)
        qt_hook(*exc_info)

    sys.excepthook = both_hooks
    try:
        yield reporter
    finally:
        reporter.uninstall()
    written = sorted(app_paths.log_dir.glob(crash.REPORT_GLOB))
    if written or reporter.reports:
        pytest.fail("Crash reports were written:\n\n" + "\n\n".join(r.text for r in reporter.reports[:3]),
                    pytrace=False)


@pytest.fixture
def app_paths(tmp_path: Path):
    """App folders under a temp dir: tests never touch the user's real config."""
    from soulsync.config import AppPaths

    paths = AppPaths.under(tmp_path / "soulsync")
    paths.ensure()
    return paths


@pytest.fixture
def app_context(app_paths):
    from soulsync.context import AppContext

    return AppContext.open(app_paths, secret_backend="file")


@pytest.fixture(scope="module")
def sim_world(tmp_path_factory):
    """The three simulations over one catalog (fast time scale), shared by a test module."""
    from soulsync.sim.world import SimWorld

    world = SimWorld.start(seed=1, root=tmp_path_factory.mktemp("sim"), time_scale=50.0)
    yield world
    world.stop()


@pytest.fixture
def demo_context(app_context, sim_world):
    """An app context pointed at the simulations, as demo mode does."""
    sim_world.configure(app_context)
    return app_context


@pytest.fixture(scope="session")
def catalog_3k():
    """The default world (seed 1, 3,000 tracks), built once. Treat as read-only."""
    from soulsync.sim.catalog import build_catalog

    return build_catalog(seed=1)


@pytest.fixture
def spotify_sim(catalog_3k):
    from soulsync.sim.spotify import SpotifySim

    sim = SpotifySim(catalog_3k).start()
    yield sim
    sim.stop()


@pytest.fixture
def plex_sim(catalog_3k, tmp_path):
    from soulsync.sim.plex import PlexSim

    sim = PlexSim(catalog_3k, tmp_path / "library").start()
    yield sim
    sim.stop()

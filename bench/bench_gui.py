"""GUI responsiveness: the longest gap of a 5 ms QTimer heartbeat while heavy work is on screen,
and cold start to the main window.

Stall scenarios (offscreen Qt, the real models and views):

* ``gui.stall_search_50k``: 1,000 responses / 50,000 files are grouped in a
  worker (as the Downloads page does) and shown in the results tree, then
  filtered and re-sorted, as a user would right after they arrive;
* ``gui.stall_queue_500``: 500 queue rows, every one changing every second
  for 5 seconds, applied by diff to the queue table;
* ``gui.stall_analysis_10k``: a 10,000-track playlist compared with a
  200,000-track library in a worker while the window stays on screen.

``gui.cold_start`` starts ``python -m soulsync`` in a fresh process and
reports the time until the main window is shown, and the RSS then.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.harness import Benchmark  # noqa: E402

_app = None


def _qapp():
    global _app
    from PyQt6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication([])
    return _app


class Heartbeat:
    """A 5 ms timer on the GUI thread; ``longest`` is the largest gap between two beats (ms)."""

    def __init__(self) -> None:
        from PyQt6.QtCore import QTimer

        self.longest = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, (now - self._last) * 1000)
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.longest = 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


def _spin_until(done, timeout: float = 120.0) -> None:
    app = _qapp()
    deadline = time.perf_counter() + timeout
    while not done():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark scenario did not finish")
        time.sleep(0.001)


def _spin_for(seconds: float) -> None:
    end = time.perf_counter() + seconds
    _spin_until(lambda: time.perf_counter() >= end)


# ---- search ------------------------------------------------------------------------
def _setup_search(size: int) -> dict:
    from bench.bench_search import make_responses

    _qapp()
    return {"responses": make_responses(size)}


def _run_search(state: dict) -> dict:
    from PyQt6.QtWidgets import QTreeView

    from soulsync.core.gcutil import built_in_bulk
    from soulsync.core.search_filters import FilterSpec, SortBy
    from soulsync.core.search_grouping import group_results
    from soulsync.ui.models.search_results import SearchResultsModel, prepare_for_view
    from soulsync.ui.workers import run_task

    model = SearchResultsModel()
    view = QTreeView()
    view.setUniformRowHeights(True)
    view.setModel(model)
    view.resize(1200, 700)
    view.show()
    _spin_for(0.3)  # the page is on screen before results arrive
    beat = Heartbeat()
    beat.start()
    box: dict = {}

    def work(ctx):  # what the Downloads page's search worker does
        with built_in_bulk():
            results = group_results(state["responses"])
            return results, prepare_for_view(results, "love night")

    handle = run_task(work, on_result=lambda r: box.setdefault("r", r))
    _spin_until(lambda: handle.done)
    model.set_results(box["r"][0], "love night", box["r"][1])
    _spin_for(0.05)
    model.set_filter(FilterSpec(formats=frozenset({"FLAC"})))
    _spin_for(0.05)
    model.set_sort(SortBy.QUALITY)
    _spin_for(0.05)
    model.set_filter(FilterSpec(text="love"))
    _spin_for(0.1)
    longest = beat.stop()
    view.close()
    return {"value": longest, "rows": model.rowCount()}


# ---- queue -----------------------------------------------------------------------------
def _setup_queue(size: int) -> dict:
    _qapp()
    return {"size": size}


def _run_queue(state: dict) -> dict:
    import dataclasses

    from PyQt6.QtWidgets import QTableView

    from soulsync.core.store_records import QueueItem
    from soulsync.ui.models.queue import ProgressRole, QueueTableModel
    from soulsync.ui.widgets.progress_delegate import ProgressDelegate

    model = QueueTableModel()
    view = QTableView()
    view.setModel(model)
    view.setItemDelegateForColumn(3, ProgressDelegate(ProgressRole, view))
    view.resize(1200, 700)
    view.show()
    items = [QueueItem(id=f"q{i}", state="in_progress", username=f"user{i % 40}",
                       filename=f"@@s\\Music\\Artist {i % 50}\\Album\\{i:03d} - Title.flac", size=30_000_000)
             for i in range(state["size"])]
    model.apply(items)
    beat = Heartbeat()
    beat.start()
    for second in range(5):
        items = [dataclasses.replace(it, percent=(second + 1) * 19.0, bytes_done=(second + 1) * 5_000_000,
                                     speed=1_000_000.0 + second) for it in items]
        model.apply(items)
        _spin_for(1.0)
    longest = beat.stop()
    view.close()
    return {"value": longest}


# ---- analysis ------------------------------------------------------------------------------
def _setup_analysis(size: int) -> dict:
    import random

    from soulsync.sim.catalog import build_catalog

    _qapp()
    catalog = build_catalog(seed=1, n_tracks=int(200_000 / 0.7) + 1000)
    library = catalog.library[:200_000]
    wanted = random.Random(3).sample(catalog.tracks, size)
    return {"library": library, "wanted": wanted}


def _run_analysis(state: dict) -> dict:
    from PyQt6.QtWidgets import QTableView

    from soulsync.core.gcutil import built_in_bulk
    from soulsync.core.library_index import LibraryIndex
    from soulsync.ui.models.playlists import TrackRow, TrackTableModel
    from soulsync.ui.workers import run_task

    model = TrackTableModel()
    model.set_rows([TrackRow(i, t) for i, t in enumerate(state["wanted"])])
    view = QTableView()
    view.setModel(model)
    view.resize(1200, 700)
    view.show()
    _spin_for(0.3)  # the table is on screen before the user starts an analysis
    progress: list = []

    def work(ctx):  # what the Sync page's analysis worker does
        with built_in_bulk():
            index = LibraryIndex(state["library"])
        state.setdefault("keep", []).append(index)  # the app keeps its one index; freeing it is not analysis
        out = []
        for n, track in enumerate(state["wanted"]):
            if n % 200 == 0:
                ctx.progress(n)
            out.append(index.find(track))
        return out

    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    box: dict = {}
    handle = run_task(work, on_progress=progress.append, on_result=lambda r: box.setdefault("r", r))
    _spin_until(lambda: handle.done, timeout=300)
    elapsed = time.perf_counter() - started
    rows = [TrackRow(i, t, "owned" if m else "missing", m.track if m else None, m.score if m else None)
            for i, (t, m) in enumerate(zip(state["wanted"], box["r"]))]
    model.set_rows(rows)
    _spin_for(0.05)
    longest = beat.stop()
    view.close()
    return {"value": longest, "analysis_s": elapsed}


# ---- cold start ---------------------------------------------------------------------------------
_STARTER = r"""
import sys, time, json, resource
t0 = float(sys.argv[1])
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication
from soulsync.app import build_parser, run_gui
import soulsync.ui.main_window as mw
shown = {}
orig_show = mw.MainWindow.show
def show(self):
    orig_show(self)
    QApplication.processEvents()
    shown["t"] = time.time() - t0
    with open("/proc/self/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
    print(json.dumps({"start_s": shown["t"], "rss_mb": rss}), flush=True)
    QTimer.singleShot(0, QApplication.instance().quit)
mw.MainWindow.show = show
run_gui(build_parser().parse_args(["--config-dir", sys.argv[2]]))
"""


def _setup_start(size: int) -> dict:
    return {}


def _run_start(state: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", _STARTER, str(t0), tmp], capture_output=True, text=True,
                             env=env, timeout=60, cwd=Path(__file__).resolve().parents[1])
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"app did not start: {out.stderr[-500:]}")
    data = json.loads(line)
    return {"value": data["start_s"], "rss_mb": data["rss_mb"]}


BENCHMARKS = [
    Benchmark("gui.stall_search_50k", _setup_search, _run_search, sizes=[50_000], target=50.0, unit="ms",
              repeat=3, description="longest GUI gap while 50,000 files are grouped and shown"),
    Benchmark("gui.stall_queue_500", _setup_queue, _run_queue, sizes=[500], target=50.0, unit="ms", repeat=1,
              description="longest GUI gap while 500 queue rows update every second"),
    Benchmark("gui.stall_analysis_10k", _setup_analysis, _run_analysis, sizes=[10_000], target=50.0, unit="ms",
              repeat=1, description="longest GUI gap while 10,000 tracks are analysed against 200,000"),
    Benchmark("gui.cold_start", _setup_start, _run_start, sizes=[1], target=1.5, unit="s", repeat=5,
              description="process start to main window shown"),
]

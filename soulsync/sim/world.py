"""The simulated world: Spotify, Plex and slskd over one seeded catalog, on 127.0.0.1.

Used by demo mode (``soulsync --demo``), ``soulsync sim`` and the integration
tests. :meth:`SimWorld.configure` points an app context at the simulations.
The Plex account already holds playlists of the user's own whose titles equal
or contain those of Spotify playlists (``soulsync.sim.plex.SEEDED_PLAYLISTS``),
so the demo shows a mirror going beside them, never over them.

The world changes at run time as the real one does under a user who leaves the app running
(:meth:`SimWorld.publish_release`, :meth:`SimWorld.add_playlist_tracks`,
:meth:`SimWorld.make_available`); another process does the same over the simulations' admin
endpoints (``POST /__sim/releases`` and ``/__sim/playlists/<id>/tracks`` on Spotify,
``/__sim/shares`` on slskd).
"""
from __future__ import annotations

import logging
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from soulsync.core.models import Album
from soulsync.sim.catalog import Catalog, build_catalog
from soulsync.sim.hard_cases import add_hard_cases
from soulsync.sim.peers import build_peers
from soulsync.sim.plex import PlexSim
from soulsync.sim.slskd import SlskdSim
from soulsync.sim.spotify import SpotifySim

log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def auto_consent_browser(url: str) -> None:
    """A 'browser' for demo mode and tests: opens the authorize URL, whose simulated consent
    redirects straight to the app's redirect listener."""
    requests.get(url, timeout=15, allow_redirects=True)


@dataclass
class SimWorld:
    catalog: Catalog
    spotify: SpotifySim
    plex: PlexSim
    slskd: SlskdSim
    root: Path
    owns_root: bool

    @classmethod
    def start(cls, seed: int = 1, root: Path | None = None, time_scale: float = 1.0,
              n_tracks: int = 3000, hard_cases: bool = False, spotify_quota: str = "development",
              slskd_version: str = "0.26.0", slskd_host_os: str = "linux") -> "SimWorld":
        """Build the catalog and start the three servers; ``root`` holds their folders.

        ``hard_cases`` adds names slskd cannot search as they are (:mod:`soulsync.sim.hard_cases`):
        the demo has them; tests that count the world's playlists do not. ``spotify_quota`` is the
        simulated Spotify app's mode (``development`` or ``extended``); ``slskd_version`` and
        ``slskd_host_os`` pick the slskd to behave like (see :class:`SlskdSim`)."""
        owns = root is None
        root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="soulsync-sim-"))
        root.mkdir(parents=True, exist_ok=True)
        catalog = build_catalog(seed=seed, n_tracks=n_tracks)
        peers = build_peers(catalog, seed)
        if hard_cases:
            add_hard_cases(catalog, peers)
        spotify = SpotifySim(catalog, quota=spotify_quota).start()
        plex = PlexSim(catalog, root / "library").start()
        slskd = SlskdSim(peers, root / "slskd" / "downloads", root / "slskd" / "incomplete",
                         version=slskd_version, time_scale=time_scale, seed=seed, host_os=slskd_host_os,
                         cache_dir=root / "slskd" / "synth-cache").start()
        return cls(catalog, spotify, plex, slskd, root, owns)

    @property
    def library_dir(self) -> Path:
        return Path(self.plex.library_dir)

    @property
    def downloads_dir(self) -> Path:
        return Path(self.slskd.downloads_dir)

    def describe(self) -> dict:
        """URLs and credentials, as ``soulsync sim`` prints them, and the admin endpoints that change the
        world at run time (loopback only; see :mod:`soulsync.sim.spotify_admin` and ``/__sim/shares`` in
        :mod:`soulsync.sim.slskd_control`)."""
        return {
            "spotify": {"accounts_url": self.spotify.url, "api_url": self.spotify.api_url,
                        "client_id": self.spotify.client_id, "client_secret": self.spotify.client_secret,
                        "access_token": self.spotify.issue_token(), "user_id": self.spotify.user_id,
                        "quota": self.spotify.quota},
            "plex": {"url": self.plex.url, "token": self.plex.token, "music_section": "Music",
                     "library_dir": str(self.library_dir)},
            "slskd": {"url": self.slskd.url, "api_key": self.slskd.api_key, "username": self.slskd.username,
                      "password": self.slskd.password, "downloads_dir": str(self.downloads_dir),
                      "version": self.slskd.version, "host_os": self.slskd.host_os},
            "seed": self.catalog.seed,
            "admin": {"releases": f"{self.spotify.url}/__sim/releases",
                      "playlist_tracks": f"{self.spotify.url}/__sim/playlists/{{playlist_id}}/tracks",
                      "shares": f"{self.slskd.url}/__sim/shares"},
        }

    def configure(self, context, connect_spotify: bool = True) -> None:
        """Point an app context at the simulations (settings, secrets, demo browser) and save it."""
        s = context.settings
        s.demo = True
        s.spotify.client_id = self.spotify.client_id
        s.spotify.accounts_base = self.spotify.url
        s.spotify.api_base = self.spotify.api_url
        s.spotify.redirect_uri = f"http://127.0.0.1:{_free_port()}/callback"
        self.spotify.register_redirect_uri(s.spotify.redirect_uri)  # as the user does in the dashboard
        s.plex.url = self.plex.url
        s.plex.music_section = "Music"
        s.slskd.url = self.slskd.url
        s.slskd.auth_mode = "api_key"
        s.downloads.download_dir = str(self.downloads_dir)
        s.downloads.library_dir = str(self.library_dir)
        s.library.source = "plex"
        context.secrets.set("spotify_client_secret", self.spotify.client_secret)
        context.secrets.set("plex_token", self.plex.token)
        context.secrets.set("slskd_api_key", self.slskd.api_key)
        if connect_spotify:
            tokens = self.spotify.issue_token_info()
            context.secrets.set("spotify_refresh_token", tokens["refresh_token"])
            s.spotify.user = self.catalog.owners.get(self.spotify.user_id, self.spotify.user_id)
        context.open_browser = auto_consent_browser
        context.demo_world = self
        context.save()

    # ---- the world changing at run time ----------------------------------------
    def publish_release(self, artist_id: str, title: str, track_titles: tuple[str, ...] | list[str] = (), *,
                        kind: str = "single", release_date: str | None = None, peers: int = 3,
                        encoding: str = "flac") -> Album:
        """An artist puts out a release (``album``, ``ep``, ``single`` or ``compilation``) on Spotify,
        and ``peers`` Soulseek peers share it at once as tidy, tagged files (0: nobody has it yet).
        Returns the release with its tracks (see :meth:`SpotifyWorld.publish_release`)."""
        album = self.spotify.publish_release(artist_id, title, track_titles, kind=kind, release_date=release_date)
        if peers:
            self.slskd.share_tracks(album.tracks, peers=peers, encoding=encoding)
        return album

    def add_playlist_tracks(self, playlist_id: str, track_ids: list[str], position: int | None = None) -> str:
        """The playlist's owner adds tracks on Spotify; returns the playlist's new ``snapshot_id``."""
        return self.spotify.add_playlist_tracks(playlist_id, track_ids, position)

    def remove_playlist_tracks(self, playlist_id: str, track_ids: list[str]) -> str:
        """The playlist's owner removes tracks on Spotify; returns the playlist's new ``snapshot_id``."""
        return self.spotify.remove_playlist_tracks(playlist_id, track_ids)

    def make_unavailable(self, track_id: str) -> int:
        """No Soulseek peer shares this recording any more (in any release holding it: same ISRC);
        returns how many files went."""
        isrc = self.spotify.world.tracks[track_id].isrc
        return self.slskd.unshare_tracks([track_id], [isrc] if isrc else [])

    def make_available(self, track_id: str, peers: int = 1, encoding: str = "flac") -> list[str]:
        """A catalog track nobody shared turns up on ``peers`` Soulseek peers; returns their usernames."""
        return self.slskd.share_tracks([self.spotify.world.tracks[track_id]], peers=peers, encoding=encoding)

    def stop(self) -> None:
        for server in (self.slskd, self.plex, self.spotify):
            try:
                (server.close if hasattr(server, "close") else server.stop)()
            except Exception as exc:  # stopping must go on for the others
                log.warning("Stopping %s failed: %s", server.name, exc)
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


def start_demo(context, seed: int = 1) -> SimWorld:
    """Start the simulations under the context's data folder and point the context at them."""
    world = SimWorld.start(seed=seed, root=context.paths.data_dir / "sim", hard_cases=True)
    world.configure(context)
    return world

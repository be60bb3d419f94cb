"""Simulated Soulseek peers sharing the catalog's music.

``build_peers(catalog, seed)`` invents a deterministic population of peers:
who they are, how fast and busy they are, how they misbehave, and which files
they share under which Windows-style remote paths. Nothing is synthesized
here: every shared file carries a spec (:mod:`soulsync.sim.audio`) that the
slskd simulation turns into a real file when somebody downloads it.

The population always contains every archetype the app must cope with, so
tests can pick one by :attr:`Peer.kind`:

``fast``      free slot, 0.5-8 MB/s
``archivist`` a fast peer sharing a large part of the catalog in FLAC
``slow``      free slot, 20-120 kB/s, takes seconds to reach when enqueueing
``busy``      no free slot, a remote queue of 10-600 that drains slowly
``liar``      announces a fast upload speed, delivers slowly
``offline``   answered the search, but has left by the time you download
``staller``   every transfer stops making progress part-way
``flaky``     every transfer fails part-way ("connection closed")
``rejecter``  denies every transfer request ("Queue full")
``locked``    shares a large part of its collection to buddies only

Share layouts mix tidy ``Artist\\2011 - Album [FLAC]\\03 - Title.flac``
folders, ``Artist - Album (2011) [MP3 320]`` folders, scene releases,
``CD1``/``Disc 2`` subfolders and flat folders of loose tracks. Encodings
mix FLAC (some 24-bit), MP3 CBR and VBR, Ogg Vorbis, WAV and ALAC M4A, with fakes
(a band-limited "FLAC" transcoded from MP3, 320 kbps upconverted from 128, a
"[MP3 320]" folder of 128 kbps files), truncated rips and files whose length
differs from the catalog track, cover art, cue sheets, rip logs and nfo files.
"""
from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from soulsync.core.models import Album, AlbumType, Track
from soulsync.sim.audio import AudioSpec, ExtraSpec, FileSpec
from soulsync.sim.catalog import Catalog, strip_accents

PEER_KINDS = ("fast", "archivist", "slow", "busy", "liar", "offline", "staller", "flaky", "rejecter", "locked")
_KIND_COUNTS = (("archivist", 1), ("slow", 5), ("busy", 5), ("liar", 2), ("offline", 3), ("staller", 2),
                ("flaky", 2), ("rejecter", 1), ("locked", 3))
"""How many peers of each special kind; the rest are ``fast``."""

VOICES = 16
"""Distinct tunes; a recording always gets the same one (so the file cache is shared across peers)."""

ANNOUNCE_FULL = "full"
"""Client sends bit rate/length (lossy) or bit depth/sample rate/length (lossless), and VBR."""
ANNOUNCE_BASIC = "basic"
"""Old client: bit rate and length only, also for lossless files."""
ANNOUNCE_NONE = "none"
"""Client sends no attributes at all: only name and size."""


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a peer's copy of a recording is encoded, and how its folder is labelled."""

    name: str
    fmt: str
    label: str
    bitrate: int = 0
    vbr_level: int | None = None
    bit_depth: int = 16
    sample_rate: int = 44100
    channels: int = 2
    lowpass: bool = False

    def spec(self, duration_s: int, voice: int, tags: tuple[tuple[str, str], ...]) -> AudioSpec:
        return AudioSpec(self.fmt, duration_s, sample_rate=self.sample_rate, channels=self.channels,
                         bit_depth=self.bit_depth, bitrate=self.bitrate, vbr_level=self.vbr_level,
                         lowpass=self.lowpass, voice=voice, tags=tags)


ENCODINGS: dict[str, Encoding] = {e.name: e for e in (
    Encoding("flac", "flac", "FLAC"),
    Encoding("flac24", "flac", "FLAC 24-48", bit_depth=24, sample_rate=48000),
    Encoding("fake_flac", "flac", "FLAC", lowpass=True),
    Encoding("mp3_320", "mp3", "MP3 320", bitrate=320),
    Encoding("mp3_v0", "mp3", "V0", vbr_level=0),
    Encoding("mp3_v2", "mp3", "V2", vbr_level=2),
    Encoding("mp3_256", "mp3", "MP3 256", bitrate=256),
    Encoding("mp3_192", "mp3", "MP3 192", bitrate=192),
    Encoding("mp3_128", "mp3", "MP3 128", bitrate=128),
    Encoding("mp3_128_as_320", "mp3", "MP3 320", bitrate=128),
    Encoding("fake_320", "mp3", "MP3 320", bitrate=320, lowpass=True),
    Encoding("ogg", "ogg", "OGG"),
    Encoding("wav", "wav", "WAV"),
    Encoding("alac", "m4a", "ALAC"),
)}
"""Every encoding peers use. ``fake_flac`` and ``fake_320`` are band-limited transcodes;
``mp3_128_as_320`` is a 128 kbps file in a folder labelled 320."""

_PROFILES: dict[str, tuple[tuple[str, float], ...]] = {
    "lossless": (("flac", 0.8), ("mp3_320", 0.1), ("wav", 0.04), ("alac", 0.06)),
    "hires": (("flac24", 0.45), ("flac", 0.55)),
    "mp3": (("mp3_320", 0.55), ("mp3_v0", 0.25), ("mp3_256", 0.1), ("mp3_v2", 0.1)),
    "mixed": (("flac", 0.35), ("mp3_320", 0.3), ("mp3_v0", 0.1), ("mp3_192", 0.1), ("ogg", 0.1), ("alac", 0.05)),
    "lowq": (("mp3_128", 0.45), ("mp3_192", 0.35), ("mp3_128_as_320", 0.2)),
    "fakes": (("fake_flac", 0.45), ("fake_320", 0.35), ("flac", 0.2)),
    "ogg": (("ogg", 0.7), ("mp3_v2", 0.3)),
}
_PROFILE_WEIGHTS = (("lossless", 30), ("mp3", 28), ("mixed", 22), ("lowq", 8), ("fakes", 5), ("ogg", 4), ("hires", 3))

_LAYOUTS = ("tidy", "artist_album", "dash", "scene", "messy", "flat")
_LAYOUT_WEIGHTS = (30, 20, 20, 8, 12, 10)

_USER_WORDS = ("vinyl", "crate", "digger", "flac", "lossless", "groove", "bass", "noise", "echo", "static",
               "wax", "tape", "mixtape", "beat", "sonic", "night", "owl", "fox", "moth", "raven", "kraut",
               "disco", "dub", "lofi", "hifi", "jazz", "soul", "punk", "indie", "shoegaze", "müsik", "ljud",
               "sonido", "klang", "onkyo")
_USER_SUFFIX = ("", "77", "_nl", "1984", "_", "42", "x", "99", "_de", "2000", "_se", "_jp", "13")
_SCENE_GROUPS = ("FATHEAD", "C4", "JLM", "NOiR", "WUS", "D2H", "MOD", "TiLLLT")
_ROOT_FOLDERS = ("Music", "Musik", "Shared", "Audio", "MP3", "My Music", "Soulseek Shared", "Muziek")
_FLAT_FOLDERS = ("Downloads", "Soulseek Downloads\\complete", "Singles", "new stuff", "Playlist rips", "misc")
_WIN_BAD = str.maketrans({"<": "(", ">": ")", ":": " -", '"': "'", "/": "-", "\\": "-", "|": "-", "?": "", "*": ""})


@dataclass(slots=True)
class SharedFile:
    """One file a peer shares: its remote path, what it is, and what the peer announces about it."""

    path: str
    """Full remote path with backslash separators, exactly as searches report it."""
    spec: FileSpec
    track: Track | None = None
    """The catalog recording (None for cover art and text files)."""
    locked: bool = False
    """Shared with buddies only: reported in ``lockedFiles``, transfer requests are denied."""

    @property
    def is_audio(self) -> bool:
        return isinstance(self.spec, AudioSpec)

    @property
    def extension(self) -> str:
        return self.spec.extension


@dataclass(slots=True)
class Peer:
    """One simulated Soulseek user and its behaviour."""

    username: str
    kind: str
    files: list[SharedFile]
    upload_speed: int
    """Bytes per second the peer announces in search responses."""
    speed: int
    """Bytes per second it actually delivers."""
    free_slot: bool
    queue_length: int
    """Other users queued before you (announced, and the starting place of a new transfer)."""
    latency: float
    """Seconds it takes to answer a search."""
    queue_seconds: float = 2.0
    """Seconds for the remote queue to advance by one place."""
    offline: bool = False
    """It answered searches, but is offline when you try to download."""
    connect_s: float = 0.0
    """Seconds slskd needs to reach it when a download is enqueued (address lookup, connection)."""
    unreachable: bool = False
    """Online, but no direct or indirect connection to it succeeds (firewalled on both ends)."""
    stall_at: float | None = None
    """Transfers stop making progress at this fraction."""
    fail_at: float | None = None
    """Transfers fail with a closed connection at this fraction."""
    reject_reason: str | None = None
    """Every transfer request is denied with this message."""
    announce: str = ANNOUNCE_FULL
    """Which file attributes its client sends (``full``, ``basic``, ``none``)."""
    sends_extension: bool = False
    """Whether its client fills the ``extension`` field (most send an empty string)."""
    max_results: int = 250
    """At most this many files in one search response."""
    profile: str = "mixed"
    layout: str = "tidy"
    _index: dict[str, SharedFile] = field(default_factory=dict, repr=False)

    def file(self, path: str) -> SharedFile | None:
        """The shared file at exactly this remote path, if any."""
        if not self._index:
            self._index = {f.path: f for f in self.files}
        return self._index.get(path)

    def share(self, files: list[SharedFile]) -> list[SharedFile]:
        """Share more files at run time (a path already shared is skipped); returns those added."""
        taken = {f.path for f in self.files}
        added = []
        for shared in files:
            if shared.path not in taken:
                taken.add(shared.path)
                added.append(shared)
        self.files.extend(added)
        self._index = {}
        return added

    def unshare(self, spotify_ids: set[str], isrcs: set[str]) -> int:
        """Stop sharing the audio files of these tracks and of every release of these ISRCs (the same
        recording on a best-of or a compilation); returns how many files went."""
        kept = [f for f in self.files if f.track is None or not (
            f.track.spotify_id in spotify_ids or (f.track.isrc and f.track.isrc in isrcs))]
        gone = len(self.files) - len(kept)
        self.files[:] = kept
        self._index = {}
        return gone


def build_peers(catalog: Catalog, seed: int = 1, n_peers: int = 44) -> list[Peer]:
    """A deterministic population of at least 40 peers sharing ``catalog``'s albums and tracks."""
    if n_peers < len(_KIND_COUNTS) + 5:
        raise ValueError(f"need at least {len(_KIND_COUNTS) + 5} peers for every kind to appear")
    rng = random.Random(f"peers:{seed}")
    kinds = [kind for kind, count in _KIND_COUNTS for _ in range(count)]
    kinds += ["fast"] * (n_peers - len(kinds))
    rng.shuffle(kinds)
    names = _usernames(rng, n_peers)
    # every profile and layout appears at least once, the rest are drawn by weight
    profiles = list(_PROFILES) + [_weighted(rng, _PROFILE_WEIGHTS) for _ in range(n_peers - len(_PROFILES))]
    layouts = list(_LAYOUTS) + [_weighted(rng, tuple(zip(_LAYOUTS, _LAYOUT_WEIGHTS)))
                                for _ in range(n_peers - len(_LAYOUTS))]
    rng.shuffle(profiles)
    rng.shuffle(layouts)
    specs: dict[tuple, AudioSpec] = {}
    return [_PeerBuilder(catalog, random.Random(f"peer:{seed}:{i}"), names[i], kinds[i], specs,
                         profiles[i], layouts[i]).build()
            for i in range(n_peers)]


def voice_of(track: Track) -> int:
    """The tune of a recording: stable across runs and peers."""
    return zlib.crc32(f"{track.title}\x00{track.artist}\x00{track.album}".encode("utf-8")) % VOICES


def recording_tags(track: Track) -> tuple[tuple[str, str], ...]:
    """The tags of a tidy rip of a recording."""
    return (("title", track.title), ("artist", ", ".join(track.artists)), ("album", track.album),
            ("albumartist", track.album_artist), ("tracknumber", str(track.track_number or "")),
            ("discnumber", str(track.disc_number or "")), ("date", str(track.year or "")))


def release_files(tracks: list[Track], root: str, encoding: str = "flac") -> list[SharedFile]:
    """Tidy, tagged files of recordings under the share root ``root`` (``@@abcde``), one
    ``Artist\\Album (Year) [FLAC]`` folder per album, as a peer who just ripped a new release shares them."""
    enc = ENCODINGS[encoding]
    files = []
    for track in tracks:
        year = f" ({track.year})" if track.year else ""
        folder = f"{root}\\Music\\{_win(track.album_artist or track.artist)}\\{_win(track.album)}{year} [{enc.label}]"
        spec = enc.spec(max(1, round((track.duration_ms or 200_000) / 1000)), voice_of(track), recording_tags(track))
        files.append(SharedFile(f"{folder}\\{track.track_number or 0:02d} - {_win(track.title)}.{spec.extension}",
                                spec, track))
    return files


def _usernames(rng: random.Random, n: int) -> list[str]:
    seen: dict[str, None] = {}
    while len(seen) < n:
        roll = rng.random()
        a, b = rng.choice(_USER_WORDS), rng.choice(_USER_WORDS)
        if roll < 0.4:
            name = f"{a}{rng.choice(_USER_SUFFIX)}"
        elif roll < 0.7:
            name = f"{a}_{b}"
        elif roll < 0.85:
            name = f"{a.capitalize()}{b.capitalize()}{rng.randint(1, 99)}"
        else:
            name = f"{a} {b}"
        if name not in seen and a != b:
            seen[name] = None
    return list(seen)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...] | tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in pairs)
    roll = rng.random() * total
    for name, weight in pairs:
        roll -= weight
        if roll < 0:
            return name
    return pairs[-1][0]


@lru_cache(maxsize=1 << 16)
def _win(text: str) -> str:
    """A name as it appears on a Windows share: no reserved characters, no trailing dots or spaces."""
    return re.sub(r"\s{2,}", " ", text.translate(_WIN_BAD)).strip().rstrip(". ") or "_"


class _PeerBuilder:
    def __init__(self, catalog: Catalog, rng: random.Random, username: str, kind: str,
                 specs: dict[tuple, AudioSpec], profile: str, layout: str) -> None:
        self.catalog = catalog
        self.rng = rng
        self.username = username
        self.kind = kind
        self.specs = specs
        self.root = "@@" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5))
        self.files: list[SharedFile] = []
        self._paths: set[str] = set()
        self.profile = "lossless" if kind == "archivist" else profile
        self.layout = "tidy" if kind == "archivist" else layout

    def build(self) -> Peer:
        rng, kind = self.rng, self.kind
        profile, layout = self.profile, self.layout
        self.tagged = rng.random() < 0.8
        self.top = "\\".join([self.root] + ([rng.choice(_ROOT_FOLDERS)] if rng.random() < 0.85 else []))
        locked_share = 0.5 if kind == "locked" else (0.1 if rng.random() < 0.15 else 0.0)
        if layout == "flat":
            self._share_loose(rng.randint(60, 260), locked_share)
        else:
            n_albums = len(self.catalog.albums) * 3 // 5 if kind == "archivist" else rng.randint(12, 55)
            albums = rng.sample(self.catalog.albums, min(n_albums, len(self.catalog.albums)))
            for album in albums:
                self._share_album(album, locked=rng.random() < locked_share)
            if rng.random() < 0.3:
                self._share_loose(rng.randint(10, 60), locked_share)
        speed = self._speed()
        peer = Peer(
            username=self.username, kind=kind, files=self.files,
            upload_speed=speed, speed=speed, free_slot=True, queue_length=0,
            latency=round(rng.uniform(0.2, 2.5) if kind != "slow" else rng.uniform(2.0, 6.0), 2),
            announce=_weighted(rng, ((ANNOUNCE_FULL, 75), (ANNOUNCE_BASIC, 18), (ANNOUNCE_NONE, 7))),
            sends_extension=rng.random() < 0.3, max_results=rng.choice((100, 250, 500, 1000)),
            profile=profile, layout=layout,
        )
        if kind == "slow":
            peer.connect_s = peer.latency  # a slow peer is slow to reach too (no draw: the population stays)
        if kind == "busy":
            peer.free_slot = False
            peer.queue_length = rng.randint(10, 600)
            peer.queue_seconds = round(rng.uniform(1.0, 6.0), 2)
        elif kind == "liar":
            peer.speed = rng.randint(15_000, 60_000)
        elif kind == "offline":
            peer.offline = True
        elif kind == "staller":
            peer.stall_at = round(rng.uniform(0.25, 0.6), 2)
        elif kind == "flaky":
            peer.fail_at = round(rng.uniform(0.2, 0.8), 2)
        elif kind == "rejecter":
            peer.reject_reason = "Queue full"
        elif kind == "fast" and rng.random() < 0.2:
            peer.free_slot = False
            peer.queue_length = rng.randint(1, 8)
            peer.queue_seconds = round(rng.uniform(0.5, 2.0), 2)
        return peer

    # ---- behaviour -------------------------------------------------------
    def _speed(self) -> int:
        rng = self.rng
        if self.kind == "slow":
            return rng.randint(20_000, 120_000)
        if self.kind == "archivist":
            return rng.randint(4_000_000, 9_000_000)
        if self.kind == "liar":
            return rng.randint(3_000_000, 9_000_000)
        return int(rng.uniform(500_000, 8_000_000))

    # ---- files -------------------------------------------------------------
    def _add(self, shared: SharedFile) -> None:
        """Share a file unless its path is taken (two tracks can render to the same messy name)."""
        if shared.path not in self._paths:
            self._paths.add(shared.path)
            self.files.append(shared)

    def _duration(self, track: Track) -> int:
        """Seconds of this peer's copy; now and then a truncated rip or a different edit."""
        seconds = max(1, round((track.duration_ms or 200_000) / 1000))
        roll = self.rng.random()
        if roll < 0.015:
            return max(10, min(seconds - 5, self.rng.randint(25, 95)))
        if roll < 0.03:
            return seconds + self.rng.choice((-1, 1)) * self.rng.randint(12, 70)
        return seconds

    def _audio(self, track: Track, encoding: Encoding) -> AudioSpec:
        """The spec of this peer's copy; equal copies on different peers share one spec object."""
        duration = max(1, self._duration(track))
        key = (encoding.name, duration, id(track), self.tagged)
        spec = self.specs.get(key)
        if spec is None:
            spec = self.specs[key] = encoding.spec(duration, voice_of(track),
                                                   recording_tags(track) if self.tagged else ())
        return spec

    def _encoding_for_album(self) -> Encoding:
        return ENCODINGS[_weighted(self.rng, _PROFILES[self.profile])]

    def _title(self, track: Track, style: str) -> str:
        title = track.title
        if style in ("messy", "scene") and " - " in title and self.rng.random() < 0.6:
            head, tail = title.split(" - ", 1)
            title = f"{head} ({tail})"
        if style == "messy" and self.rng.random() < 0.3:
            title = re.sub(r"\s*\(feat\.[^)]*\)", "", title)
        return title

    def _share_album(self, album: Album, locked: bool) -> None:
        rng, layout = self.rng, self.layout
        encoding = self._encoding_for_album()
        artist = album.artist or "Unknown Artist"
        year = album.year or ""
        various = album.album_type == AlbumType.COMPILATION
        if layout == "tidy":
            folder = f"{_win(artist)}\\{year} - {_win(album.title)} [{encoding.label}]" if year else \
                f"{_win(artist)}\\{_win(album.title)} [{encoding.label}]"
        elif layout == "artist_album":
            folder = f"{_win(artist)}\\{_win(album.title)} ({year})"
        elif layout == "dash":
            folder = f"{_win(artist)} - {_win(album.title)} ({year}) [{encoding.label}]"
        elif layout == "scene":
            def scene(text: str) -> str:
                return re.sub(r"[^A-Za-z0-9]+", "_", strip_accents(text)).strip("_") or "VA"
            source = "WEB" if rng.random() < 0.5 else "CD"
            folder = f"{scene(artist)}-{scene(album.title)}-{source}-{year}-{rng.choice(_SCENE_GROUPS)}"
        else:  # messy
            name = f"{artist} - {album.title}" if rng.random() < 0.5 else f"{album.title.lower()}"
            folder = f"{_win(name)}{'  ' if rng.random() < 0.2 else ' '}[{year}]" if year else _win(name)
            if rng.random() < 0.4:
                folder = f"{_win(artist)}\\{folder}"
        folder = f"{self.top}\\{folder}"
        multi_disc = album.disc_total > 1 or any((t.disc_number or 1) > 1 for t in album.tracks)
        disc_word = rng.choice(("CD", "CD ", "Disc ", "Disk "))
        for track in album.tracks:
            spec = self._audio(track, encoding)
            number = track.track_number or 0
            title = self._title(track, layout)
            performer = ", ".join(track.artists) if various else track.artist
            if layout == "scene":
                stem = f"{number:02d}-{performer}-{title}"
                name = re.sub(r"[^A-Za-z0-9]+", "_", strip_accents(stem)).strip("_").lower()
            elif layout == "messy":
                name = _win(f"{number} {performer} - {title}" if rng.random() < 0.5 else f"{number:02d}. {title}")
            elif various or layout == "dash":
                name = _win(f"{number:02d} - {performer} - {title}")
            else:
                name = _win(f"{number:02d} - {title}")
            sub = folder
            if multi_disc:
                sub = f"{folder}\\{disc_word}{track.disc_number or 1}"
            self._add(SharedFile(f"{sub}\\{name}.{spec.extension}", spec, track, locked))
        self._share_extras(folder, album, encoding, locked)

    def _share_extras(self, folder: str, album: Album, encoding: Encoding, locked: bool) -> None:
        rng = self.rng
        titles = tuple(t.title for t in album.tracks)
        seed = zlib.crc32(folder.encode("utf-8"))
        if rng.random() < 0.6:
            name = rng.choice(("cover.jpg", "folder.jpg", "Cover.jpg", "front.jpg"))
            self._add(SharedFile(f"{folder}\\{name}", ExtraSpec("jpg", album.title, seed=seed,
                                                                         jpeg_size=rng.randint(30_000, 400_000)),
                                         locked=locked))
        if encoding.fmt == "flac" and rng.random() < 0.5:
            stem = _win(f"{album.artist} - {album.title}")
            self._add(SharedFile(f"{folder}\\{stem}.cue", ExtraSpec("cue", album.title, titles, seed),
                                         locked=locked))
            self._add(SharedFile(f"{folder}\\{stem}.log", ExtraSpec("log", album.title, titles, seed),
                                         locked=locked))
        if self.layout == "scene":
            base = folder.rsplit("\\", 1)[-1].lower()
            self._add(SharedFile(f"{folder}\\00-{base}.nfo", ExtraSpec("nfo", album.title, titles, seed),
                                         locked=locked))
            self._add(SharedFile(f"{folder}\\00-{base}.m3u", ExtraSpec("m3u", album.title, titles, seed),
                                         locked=locked))

    def _share_loose(self, count: int, locked_share: float) -> None:
        rng = self.rng
        tracks = rng.sample(self.catalog.tracks, min(count, len(self.catalog.tracks)))
        folders = [f"{self.top}\\{name}" for name in rng.sample(_FLAT_FOLDERS, rng.randint(1, 3))]
        for track in tracks:
            encoding = ENCODINGS[_weighted(rng, _PROFILES["mp3" if self.profile != "lossless" else "mixed"])]
            spec = self._audio(track, encoding)
            title = self._title(track, "messy")
            name = _win(f"{', '.join(track.artists) if rng.random() < 0.4 else track.artist} - {title}")
            locked = rng.random() < locked_share
            self._add(SharedFile(f"{rng.choice(folders)}\\{name}.{spec.extension}", spec, track, locked))

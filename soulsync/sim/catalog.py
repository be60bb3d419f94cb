"""A seeded, deterministic music world shared by the Spotify, Plex and slskd simulations.

``build_catalog(seed, n_tracks)`` invents artists, albums, tracks, playlists,
Liked Songs and a Plex library from word pools, using only
``random.Random(seed)``: the same seed and size always give the same world.

Conventions the simulations rely on:

* Spotify IDs are 22 base-62 characters; ISRCs are well formed
  (``CC`` + registrant + year + serial).
* ``image_url`` of artists and albums is a *relative* URL, ``/images/<id>.jpg``;
  the Spotify simulation serves it and prefixes its own base URL when it
  renders JSON (see :data:`IMAGE_PATH`).
* ``Playlist.tracks`` and ``Catalog.liked`` share the ``Track`` objects of
  ``Catalog.tracks`` (treat them as read-only).
* Playlists owned by ``spotify`` have ids starting ``37i9dQZF``, as Spotify's
  editorial and algorithmic playlists do (reference 2.5). Two playlists the
  user only follows (one of them Spotify's) are added after the library is
  drawn, from their own random stream, so the rest of the world is unchanged.
* ``Catalog.library`` holds *copies* as a Plex library would show them:
  titles and names varied the way real tags differ from Spotify, ``path``
  relative to the library folder, ``plex_rating_key`` set, no Spotify IDs.
"""
from __future__ import annotations

import base64
import dataclasses
import itertools
import random
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence

from soulsync.core.gcutil import built_in_bulk
from soulsync.core.models import Album, AlbumType, Artist, Playlist, Track

IMAGE_PATH = "/images/{id}.jpg"
"""Relative image URL of an artist, album or playlist cover (served by the Spotify sim)."""

USER_ID = "demouser"
USER_NAME = "Demo User"
VARIOUS_ARTISTS = "Various Artists"
FIRST_TRACK_RATING_KEY = 1_000_001
"""Library track rating keys are sequential from here (artists/albums live below it)."""

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_TABLE = bytes(ord(_BASE62[i % 62]) for i in range(256))

# ---------------------------------------------------------------- word pools
_ADJ = (
    "Golden Silver Broken Electric Quiet Wild Burning Hollow Endless Midnight Velvet Crystal Lonely "
    "Northern Southern Bitter Sweet Neon Paper Glass Heavy Gentle Restless Faded Hidden Lucky Silent "
    "Scarlet Blue Amber Frozen Crimson Distant Secret Sacred Tender Little Open Empty Sudden Young "
    "Ancient Bright Dark Violet Cosmic Wooden Copper Marble Painted Drifting Falling Rising Shining "
    "Sleeping Dancing Careless Electric Humble Final Borrowed Static Weightless Magnetic"
).split()
_NOUN = (
    "Heart River Ocean Highway Mirror Garden Thunder Shadow Window Harbor Lantern Horizon Summer Winter "
    "Echo Fire Rain Storm Island City Machine Ghost Dream Letter Signal Satellite Compass Anchor Feather "
    "Mountain Valley Desert Forest Station Engine Diamond Wolf Raven Tiger Sparrow Comet Planet Moon Sun "
    "Star Sky Cloud Wave Tide Bridge Tower Street Avenue Kingdom Empire Circus Carousel Parade Ballroom "
    "Cathedral Telephone Radio Camera Postcard Suitcase Pocket Whisper Promise Memory Morning Evening "
    "Twilight Daylight Starlight Moonlight Sunrise Sunset Home Love Gravity Paradise Weather Fever Silence"
).split()
_VERB = (
    "Run Fall Dance Hold Wait Breathe Shine Burn Drive Fly Stay Leave Follow Call Carry Chase Dream Hide "
    "Walk Sing Turn Break Wake Drift Float Climb Remember Forget Believe Surrender Stop Go Shake Move"
).split()
_GERUND = ("Running Falling Dancing Holding Waiting Breathing Shining Burning Driving Flying Staying Leaving "
           "Following Calling Chasing Dreaming Hiding Walking Singing Turning Breaking Drifting Floating").split()
_PLACE = (
    "Lisbon Oslo Berlin Tokyo Montréal Reykjavík Zürich Kraków Göteborg Sevilla Marseille Osaka "
    "Helsinki Brooklyn Detroit Nashville Glasgow Dublin København São Paulo"
).split(" ")
_VENUE = ("the Harbor Hall", "the Lantern Club", "the Old Theatre", "Red Brick Arena", "the Glasshouse",
          "the Palladium Rooms", "Copper Street Ballroom", "the Northern Pier")
_FIRST_EN = ("Ava Ben Clara Daniel Eli Freya Grace Hugo Iris Jack Kate Leo Mia Noah Olive Paul Quinn Ruby "
             "Sam Tess Will Nina Oscar Luke Maya Rosa Felix").split()
_FIRST_ACCENT = ("Zoë Émile Søren Åsa Jürgen Bjørn Maëlle Inés José Renée Mónica Ólafur Þóra Łukasz Dagný "
                 "Günther François Ève Håkon Anaïs Bryndís Ørjan Chloé Matías Noémie").split()
_LAST = ("Lindqvist Åberg Ødegård Weiß Großmann Fontaine Muñoz Núñez Dahlén Sørensen Müller Kowalski "
         "Hernández O'Connell MacAllister Lefèvre Nakamura Holm Brandt Carter Hayes Morrison Bell Turner "
         "Sinclair Ashford Blackwood Nyström Jäger").split()
_BAND_NOUN = ("Harbors Lanterns Wolves Ravens Satellites Comets Strangers Tigers Sparrows Engines Mirrors "
              "Ghosts Echoes Kings Daughters Machines Parades Feathers Anchors Storms").split()
_LABELS = ("Northern Lantern Records", "Paper Moon Music", "Kestrel Sound", "Blue Harbor Recordings",
           "Velvet Static", "Ødegård Lydstudio", "Schallplatten Weiß", "月光レコード", "Copper Street Records",
           "Minor Planet", "Sparrow & Sons", "Disques Lumière")

# languages: title words, adjective words, genres, ISRC country
_LANG: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"genres": ("indie rock", "synthpop", "dream pop", "folk", "soul", "hip hop", "electronic",
                      "post-rock", "r&b", "country", "blues", "alternative", "house", "punk"),
           "cc": ("US", "GB", "US", "CA", "AU")},
    "de": {"nouns": ("Nacht", "Straße", "Regen", "Sommer", "Herz", "Fluss", "Stadt", "Licht", "Sterne", "Weg",
                     "Träume", "Morgen", "Bahnhof", "Wälder", "Grüße"),
           "adjs": ("Große", "Kleine", "Weiße", "Dunkle", "Süße", "Späte", "Müde", "Schöne"),
           "genres": ("deutschpop", "krautrock", "neue deutsche welle", "techno"), "cc": ("DE", "AT", "CH")},
    "fr": {"nouns": ("Soleil", "Nuit", "Mer", "Cœur", "Rêve", "Été", "Lumière", "Fenêtre", "Chemin", "Étoile",
                     "Café", "Hiver"),
           "adjs": ("Belle", "Dernière", "Douce", "Première", "Éternelle", "Petite"),
           "genres": ("chanson", "french pop", "nouvelle vague"), "cc": ("FR", "BE")},
    "es": {"nouns": ("Corazón", "Noche", "Mañana", "Canción", "Luna", "Fuego", "Camino", "Ciudad", "Sueño",
                     "Mar", "Señal"),
           "adjs": ("Última", "Dulce", "Pequeña", "Bonita", "Oscura", "Lejana"),
           "genres": ("latin pop", "flamenco pop", "cumbia"), "cc": ("ES", "MX", "AR")},
    "nordic": {"nouns": ("Sjön", "Vinter", "Ljus", "Hav", "Skogen", "Måne", "Stjerne", "Fjord", "Nordlys",
                         "Drøm", "Hjem", "Ø", "Ås"),
               "adjs": ("Stille", "Lange", "Blå", "Kalde", "Små", "Gamle", "Søte"),
               "genres": ("nordic folk", "scandipop", "black metal", "ambient"), "cc": ("SE", "NO", "DK", "IS")},
    "ja": {"nouns": ("夜空", "花火", "東京", "さくら", "雨上がり", "星屑", "約束", "青春", "風", "白い夢", "真夏",
                     "月光", "帰り道", "ひかり", "さよなら"),
           "adjs": ("青い", "遠い", "小さな", "優しい", "最後の"),
           "genres": ("j-pop", "city pop", "j-rock", "anime"), "cc": ("JP",)},
    "ru": {"nouns": ("Ночь", "Звезда", "Город", "Зима", "Река", "Ветер", "Небо", "Дорога", "Весна", "Огни",
                     "Море", "Сердце", "Мечта"),
           "adjs": ("Белая", "Тихая", "Последняя", "Новая", "Далёкая", "Синяя"),
           "genres": ("russian rock", "russian indie", "russian post-punk"), "cc": ("RU",)},
}
_LANG_WEIGHTS = (("en", 62), ("de", 7), ("fr", 6), ("es", 6), ("nordic", 8), ("ja", 6), ("ru", 5))
_JA_FAMILY = ("月島", "星野", "青木", "桜井", "雪村", "風間", "空野", "海老原", "光田")
_JA_GIVEN = ("レイ", "ハルカ", "ミサキ", "ユウ", "アキラ", "ナオ", "ソラ")
_JA_BANDS = ("夜明けのバンド", "サクラ・ノイズ", "青い鳥楽団", "星屑クラブ", "東京ラジオ", "真夜中ドライブ")
_RU_BANDS = ("Полярный Свет", "Белые Ночи", "Северный Ветер", "Тихий Город", "Огни Невы", "Звёздный Путь")
_RU_PEOPLE = ("Анна Соколова", "Дмитрий Волков", "Ольга Лебедева", "Иван Морозов", "Юлия Орлова")
_DJ = ("DJ Kalo", "Mørk", "Lumen", "Kid Satellite", "Nightjar", "Vexel", "Hanae", "Okto")

_PLAYLISTS = (
    # name, base size at 3,000 tracks, owner, collaborative, public, theme
    ("Everything I Love", 650, USER_ID, False, False, "any"),
    ("Late Night Drive", 120, USER_ID, False, True, "any"),
    ("Café Mornings", 85, USER_ID, False, True, "fr_es"),
    ("Nordlys & Nachtzug", 60, "marta.k", True, False, "nordic_de"),
    ("Workout Bangers!", 45, USER_ID, False, True, "any"),
    ("Fresh Finds Weekly", 50, "spotify", False, True, "any"),
    ("夜のドライブ", 30, USER_ID, False, True, "ja"),
    ("Road Trip '19", 150, USER_ID, False, True, "any"),
    ("Old Favourites (Remastered)", 75, USER_ID, False, False, "old"),
    ("Chill — Rainy Days", 18, USER_ID, False, True, "any"),
    ("New Playlist", 0, USER_ID, False, False, "any"),
)
_FOLLOWED = (
    # name, base size at 3,000 tracks, owner, id prefix (Spotify's own: editorial "1DX", made for you "1E")
    ("Daily Mix 1", 40, "spotify", "37i9dQZF1E"),
    ("Marta's Kitchen Radio", 35, "marta.k", ""),
)
_PLAYLIST_CAP = 10_000
SPOTIFY_OWNER = "spotify"
SPOTIFY_OWNED_PREFIX = "37i9dQZF"
"""Ids of Spotify's editorial and algorithmic playlists start so (Discover Weekly, Daily Mix, ...)."""
_OWNER_NAMES = {USER_ID: USER_NAME, "marta.k": "Marta Kowalska", SPOTIFY_OWNER: "Spotify"}

_PATH_BAD = str.maketrans({c: "_" for c in '<>:"/\\|?*'})


@dataclass
class Catalog:
    """The generated world; see the module docstring for conventions."""

    seed: int
    artists: list[Artist]
    albums: list[Album]
    tracks: list[Track]
    playlists: list[Playlist]
    liked: list[Track]
    library: list[Track]
    owners: dict[str, str] = field(default_factory=lambda: dict(_OWNER_NAMES))
    """Spotify user id -> display name of every playlist owner."""
    user_id: str = USER_ID
    user_name: str = USER_NAME


def build_catalog(seed: int = 1, n_tracks: int = 3000) -> Catalog:
    """Generate the world for ``seed`` with exactly ``n_tracks`` catalog tracks (minimum 50).

    Deterministic: uses one ``random.Random(seed)`` and never iterates a set.
    The cyclic garbage collector is paused while building (hundreds of thousands
    of fresh objects, no cycles), which makes large worlds about a third faster.
    """
    with built_in_bulk(freeze=False):
        return _Builder(seed, max(50, n_tracks)).build()


# ------------------------------------------------------------------ helpers
_TRACK_FIELDS = tuple(f.name for f in dataclasses.fields(Track))


def track_fields(track: Track) -> dict[str, Any]:
    """A track's fields as plain JSON values (how admin endpoints pass recordings between simulations)."""
    return dataclasses.asdict(track)


def track_from_fields(data: dict[str, Any]) -> Track:
    """The track :func:`track_fields` wrote (unknown keys ignored; ``title`` and ``artists`` required)."""
    return Track(**{k: v for k, v in data.items() if k in _TRACK_FIELDS})


def strip_accents(text: str) -> str:
    """``Søren Åberg`` -> ``Soren Aberg``; non-Latin scripts are left alone."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O").replace("ß", "ss")
                                       .replace("æ", "ae").replace("Æ", "AE").replace("þ", "th").replace("Þ", "Th")
                                       .replace("ł", "l").replace("Ł", "L").replace("œ", "oe"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def safe_path_part(text: str) -> str:
    """A file or folder name made safe for every OS (no separators or reserved characters)."""
    cleaned = text.translate(_PATH_BAD).strip().rstrip(".")
    return cleaned or "_"


def _pick(rng: random.Random, seq: "Sequence[Any]") -> Any:
    """``rng.choice`` without the bit-fiddling cost (hot path at 200,000 tracks)."""
    return seq[int(rng.random() * len(seq))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` equivalent, faster."""
    return low + int(rng.random() * (high - low + 1))


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("o", "s", "sh", "ch")):
        return noun + "es"
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    return noun + "s"


class _Ids:
    """Fast deterministic base-62 IDs: random bytes mapped through a 256-entry table."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._buf = ""
        self._pos = 0

    def new(self) -> str:
        if self._pos + 22 > len(self._buf):
            self._buf = self._rng.randbytes(22 * 4096).translate(_BASE62_TABLE).decode("ascii")
            self._pos = 0
        self._pos += 22
        return self._buf[self._pos - 22:self._pos]


@dataclass
class _ArtistInfo:
    artist: Artist
    lang: str
    registrant: str
    cc: str
    weight: float
    titles: list[Track] = field(default_factory=list)
    """Studio recordings so far (live albums and best-ofs draw from them)."""


class _Builder:
    def __init__(self, seed: int, n_tracks: int) -> None:
        self.seed = seed
        self.n_tracks = n_tracks
        self.rng = random.Random(seed)
        self.ids = _Ids(self.rng)
        self.isrc_serial: dict[str, int] = {}
        self.infos: list[_ArtistInfo] = []
        self.albums: list[Album] = []
        self.tracks: list[Track] = []
        self.used_artist_names: dict[str, None] = {}
        self._by_id: dict[str, _ArtistInfo] = {}
        self._remixers: dict[str, _ArtistInfo] = {}

    # ---------------------------------------------------------- artists
    def _artist_name(self, lang: str) -> str:
        rng = self.rng
        for _ in range(50):
            roll = rng.random()
            if lang == "ja":
                name = (_pick(rng, _JA_BANDS) if roll < 0.4
                        else f"{_pick(rng, _JA_FAMILY)}{_pick(rng, _JA_GIVEN)}")
            elif lang == "ru":
                name = _pick(rng, _RU_BANDS) if roll < 0.5 else _pick(rng, _RU_PEOPLE)
            elif roll < 0.25:
                name = f"The {_pick(rng, _ADJ)} {_pick(rng, _BAND_NOUN)}"
            elif roll < 0.5:
                first = _pick(rng, _FIRST_ACCENT if lang != "en" or rng.random() < 0.3 else _FIRST_EN)
                name = f"{first} {_pick(rng, _LAST)}"
            elif roll < 0.6:
                name = f"{_pick(rng, _FIRST_EN)} & The {_pick(rng, _BAND_NOUN)}"
            elif roll < 0.75 and lang in ("de", "fr", "es", "nordic"):
                name = f"{_pick(rng, _LANG[lang]['adjs'])} {_pick(rng, _LANG[lang]['nouns'])}"
            elif roll < 0.9:
                name = f"{_pick(rng, _ADJ)} {_pick(rng, _NOUN)}"
            else:
                name = f"{_pick(rng, _NOUN)}{_pick(rng, ('', 's', ' Club', ' Theory', ' Collective'))}"
            if name not in self.used_artist_names:
                self.used_artist_names[name] = None
                return name
        name = f"{name} {len(self.used_artist_names)}"
        self.used_artist_names[name] = None
        return name

    def _make_artists(self) -> None:
        rng = self.rng
        n_artists = max(60, round(self.n_tracks / 45))
        langs = [lang for lang, _ in _LANG_WEIGHTS]
        weights = [w for _, w in _LANG_WEIGHTS]
        for i in range(n_artists):
            lang = rng.choices(langs, weights)[0]
            genres = list(dict.fromkeys(rng.choices(_LANG[lang]["genres"], k=_between(rng, 1, 3))))
            if lang != "en" and rng.random() < 0.4:
                genres.append(_pick(rng, _LANG["en"]["genres"]))
            sid = self.ids.new()
            artist = Artist(self._artist_name(lang), spotify_id=sid, genres=genres,
                            image_url=IMAGE_PATH.format(id=sid))
            registrant = self.ids.new()[:3].upper()
            # a few popular artists, a long tail (Zipf-like album counts)
            info = _ArtistInfo(artist, lang, registrant, _pick(rng, _LANG[lang]["cc"]),
                               1.0 / (1 + i % 17) ** 0.6 + rng.random() * 0.3)
            self.infos.append(info)
            self._by_id[sid] = info

    # ---------------------------------------------------------- titles
    def _title(self, lang: str) -> str:
        rng = self.rng
        roll = rng.random()
        if lang != "en" and rng.random() < 0.65:
            pool = _LANG[lang]
            noun, adj = _pick(rng, pool["nouns"]), _pick(rng, pool["adjs"])
            if lang == "ja":
                return noun if roll < 0.4 else (f"{adj}{noun}" if roll < 0.7 else f"{noun}の{_pick(rng, pool['nouns'])}")
            if lang == "de" and roll > 0.7:
                return f"Über die {noun}"
            if lang == "fr" and roll > 0.7:
                return f"La {noun} d'{_pick(rng, pool['nouns'])}" if roll > 0.85 else f"Mon {noun}"
            if lang == "es" and roll > 0.7:
                return f"{noun} de {_pick(rng, pool['nouns'])}"
            return noun if roll < 0.35 else f"{adj} {noun}"
        if roll < 0.18:
            return _pick(rng, _NOUN)
        if roll < 0.45:
            return f"{_pick(rng, _ADJ)} {_pick(rng, _NOUN)}"
        if roll < 0.55:
            return f"{_pick(rng, _NOUN)} of {_plural(_pick(rng, _NOUN))}"
        if roll < 0.63:
            return f"Don't {_pick(rng, _VERB)}"
        if roll < 0.70:
            return f"{_pick(rng, _VERB)} Me {_pick(rng, ('Home', 'Closer', 'Away', 'Down', 'Back'))}"
        if roll < 0.76:
            return f"Where Did the {_pick(rng, _NOUN)} Go?"
        if roll < 0.82:
            return f"{_pick(rng, _GERUND)} in the {_pick(rng, _NOUN)}"
        if roll < 0.87:
            return f"{_pick(rng, _NOUN)} & {_pick(rng, _NOUN)}"
        if roll < 0.91:
            return f"Ballad of {_pick(rng, _FIRST_EN + _FIRST_ACCENT)}"
        if roll < 0.95:
            return f"{_pick(rng, _VERB)}, {_pick(rng, _VERB)}, {_pick(rng, _VERB)}!"
        return f"{_pick(rng, _PLACE)} {_pick(rng, ('Nights', 'Blues', 'Skyline', 'Rain', '1987', 'Calling'))}"

    def _album_title(self, lang: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return self._title(lang)
        if roll < 0.65:
            return f"The {_pick(rng, _ADJ)} {_pick(rng, _NOUN)}"
        if roll < 0.75:
            return _plural(_pick(rng, _NOUN))
        if roll < 0.85:
            return f"{_pick(rng, _PLACE)}"
        return f"{_pick(rng, _ADJ)} {_plural(_pick(rng, _NOUN))}"

    # ---------------------------------------------------------- tracks
    def _isrc(self, info: _ArtistInfo, year: int) -> str:
        key = f"{info.registrant}{year % 100:02d}"
        serial = self.isrc_serial.get(key, 0) + 1
        self.isrc_serial[key] = serial
        return f"{info.cc}{key}{serial % 100000:05d}"

    def _duration(self, base: float = 215.0) -> int:
        seconds = min(600.0, max(95.0, self.rng.gauss(base, 45.0)))
        return int(seconds * 1000) + int(self.rng.random() * 1000)

    def _track(self, album: Album, title: str, artists: list[_ArtistInfo], number: int, disc: int,
               disc_count: int, duration_ms: int, isrc: str | None = None) -> Track:
        main = artists[0]
        track = Track(
            title=title,
            artists=[a.artist.name for a in artists],
            album=album.title,
            duration_ms=duration_ms,
            isrc=isrc or self._isrc(main, album.year or 2000),
            album_artist=album.artists[0],
            track_number=number,
            disc_number=disc,
            track_total=disc_count,
            disc_total=album.disc_total,
            year=album.year,
            genre=main.artist.genres[0] if main.artist.genres else "",
            spotify_id=self.ids.new(),
            spotify_album_id=album.spotify_id,
            spotify_artist_ids=[a.artist.spotify_id or "" for a in artists],
        )
        album.tracks.append(track)
        return track

    def _album(self, title: str, artists: list[str], year: int, kind: AlbumType, discs: int,
               genres: list[str]) -> Album:
        rng = self.rng
        sid = self.ids.new()
        roll = rng.random()
        if roll < 0.1:
            release_date = str(year)
        elif roll < 0.2:
            release_date = f"{year}-{_between(rng, 1, 12):02d}"
        else:
            release_date = f"{year}-{_between(rng, 1, 12):02d}-{_between(rng, 1, 28):02d}"
        return Album(title=title, artists=artists, year=year, release_date=release_date, album_type=kind,
                     disc_total=discs, spotify_id=sid, image_url=IMAGE_PATH.format(id=sid), genres=list(genres),
                     label=_pick(rng, _LABELS), upc=f"{rng.randrange(10**11, 10**12)}{rng.randrange(10)}")

    def _featured(self, main: _ArtistInfo) -> _ArtistInfo:
        other = _pick(self.rng, self.infos)
        return other if other is not main else self.infos[(self.infos.index(main) + 1) % len(self.infos)]

    def _studio_album(self, info: _ArtistInfo, kind: AlbumType, n: int, discs: int) -> Album:
        rng = self.rng
        year = _between(rng, 1966, 2024)
        remaster_year = _pick(rng, (2009, 2011, 2011, 2012, 2015, 2017, 2019)) \
            if year < 1995 and kind is AlbumType.ALBUM and rng.random() < 0.55 else None
        title = self._album_title(info.lang)
        if remaster_year and rng.random() < 0.5:
            title += _pick(rng, (f" (Remastered {remaster_year})", f" ({remaster_year} Remaster)"))
        elif discs > 1 and rng.random() < 0.5:
            title += " (Deluxe Edition)"
        album = self._album(title, [info.artist.name], year, kind, discs, info.artist.genres)
        per_disc = [n // discs + (1 if d < n % discs else 0) for d in range(discs)]
        for disc, count in enumerate(per_disc, start=1):
            for number in range(1, count + 1):
                if kind is AlbumType.SINGLE and not album.tracks:
                    base = album.title
                elif rng.random() < 0.03 and self.tracks:
                    base = _base_title(_pick(rng, self.tracks).title)  # same title as another artist's song
                else:
                    base = self._title(info.lang)
                credited = [info]
                suffix = ""
                roll = rng.random()
                if kind is AlbumType.SINGLE and number > 1 and album.tracks:
                    base = _base_title(album.tracks[0].title)
                    if roll < 0.5:
                        remixer = _pick(rng, _DJ)
                        suffix = f" - {remixer} Remix"
                        credited = [info, self._remixer(remixer)]
                    else:
                        suffix = _pick(rng, (" - Radio Edit", " - Acoustic", " - Instrumental", " - Extended Mix"))
                elif roll < 0.09:
                    feat = self._featured(info)
                    credited = [info, feat]
                    suffix = f" (feat. {feat.artist.name})"
                elif roll < 0.11:
                    suffix = _pick(rng, (" - Demo", " - Acoustic", " - Single Version"))
                if remaster_year:
                    suffix += _pick(rng, (f" - Remastered {remaster_year}", f" - {remaster_year} Remaster")) \
                        if not suffix else ""
                track = self._track(album, base + suffix, credited, number, disc, count, self._duration())
                if not suffix or suffix.startswith(" (feat."):
                    info.titles.append(track)
        return album

    def _remixer(self, name: str) -> _ArtistInfo:
        known = self._remixers.get(name)
        if known is not None:
            return known
        sid = self.ids.new()
        info = _ArtistInfo(Artist(name, spotify_id=sid, genres=["electronic", "house"],
                                  image_url=IMAGE_PATH.format(id=sid)),
                           "en", self.ids.new()[:3].upper(), "GB", 0.0)
        self.used_artist_names[name] = None
        self.infos.append(info)
        self._by_id[sid] = info
        self._remixers[name] = info
        return info

    def _live_album(self, info: _ArtistInfo) -> Album:
        rng = self.rng
        year = _between(rng, 1975, 2024)
        title = (f"Live at {_pick(rng, _VENUE)}" if rng.random() < 0.5
                 else f"Live in {_pick(rng, _PLACE)} {year}")
        album = self._album(title, [info.artist.name], year, AlbumType.ALBUM, 1, info.artist.genres)
        songs = rng.sample(info.titles, min(len(info.titles), _between(rng, 8, 14)))
        for number, song in enumerate(songs, start=1):
            self._track(album, f"{_base_title(song.title)} - Live", [info], number, 1, len(songs),
                        (song.duration_ms or 200_000) + _between(rng, 10_000, 45_000))
        return album

    def _best_of(self, info: _ArtistInfo) -> Album:
        rng = self.rng
        year = _between(rng, 1990, 2024)
        title = _pick(rng, ("Greatest Hits", f"The Best of {info.artist.name}", "Anthology", "Singles"))
        album = self._album(title, [info.artist.name], year, AlbumType.COMPILATION, 1, info.artist.genres)
        songs = rng.sample(info.titles, min(len(info.titles), _between(rng, 10, 16)))
        for number, song in enumerate(songs, start=1):
            # the same recording: same ISRC, new Spotify track id
            credited = [self._info_by_id(i) for i in song.spotify_artist_ids]
            self._track(album, song.title, credited, number, 1, len(songs), song.duration_ms or 200_000, song.isrc)
        return album

    def _various(self) -> Album:
        rng = self.rng
        year = _between(rng, 1995, 2024)
        title = _pick(rng, (f"Summer Hits {year}", f"{_pick(rng, _ADJ)} {_plural(_pick(rng, _NOUN))}, Vol. {_between(rng, 1, 9)}",
                            f"Best of Nordic Nights {_between(rng, 1, 5)}", f"{_pick(rng, _PLACE)} Sessions",
                            f"Now That's {_pick(rng, _NOUN)}! {_between(rng, 10, 99)}"))
        album = self._album(title, [VARIOUS_ARTISTS], year, AlbumType.COMPILATION, 1, [])
        n = _between(rng, 12, 20)
        for number, song in enumerate(rng.sample(self.tracks, min(n, len(self.tracks))), start=1):
            credited = [self._info_by_id(i) for i in song.spotify_artist_ids]
            self._track(album, song.title, credited, number, 1, n, song.duration_ms or 200_000, song.isrc)
        for t in album.tracks:
            t.track_total = len(album.tracks)
        return album

    def _info_by_id(self, spotify_id: str) -> _ArtistInfo:
        return self._by_id[spotify_id]

    def _make_albums(self) -> None:
        rng = self.rng
        target_regular = int(self.n_tracks * 0.93)
        primary = list(self.infos)
        cum_weights = list(itertools.accumulate(i.weight for i in primary))
        # every artist gets at least one album first, then weighted picks
        order = iter(primary)
        total = 0
        while total < target_regular:
            info = next(order, None) or rng.choices(primary, cum_weights=cum_weights)[0]
            roll = rng.random()
            if roll < 0.22:
                album = self._studio_album(info, AlbumType.SINGLE, _between(rng, 1, 3), 1)
            elif roll < 0.28:
                album = self._studio_album(info, AlbumType.SINGLE, _between(rng, 4, 6), 1)
            elif roll < 0.35 and len(info.titles) >= 8:
                album = self._live_album(info)
            elif roll < 0.38 and len(info.titles) >= 10:
                album = self._best_of(info)
            elif roll < 0.45:
                album = self._studio_album(info, AlbumType.ALBUM, _between(rng, 16, 24), 2)
            else:
                album = self._studio_album(info, AlbumType.ALBUM, _between(rng, 8, 14), 1)
            self._add_album(album)
            total += len(album.tracks)
        while total < self.n_tracks:
            album = self._various()
            self._add_album(album)
            total += len(album.tracks)
        self._trim(total - self.n_tracks)

    def _add_album(self, album: Album) -> None:
        album.total_tracks = len(album.tracks)
        self.albums.append(album)
        self.tracks.extend(album.tracks)

    def _trim(self, excess: int) -> None:
        """Cut the last album(s) so the catalog has exactly ``n_tracks`` tracks."""
        while excess > 0:
            album = self.albums[-1]
            cut = min(excess, len(album.tracks))
            del album.tracks[len(album.tracks) - cut:]
            del self.tracks[len(self.tracks) - cut:]
            excess -= cut
            if not album.tracks:
                self.albums.pop()
            else:
                album.total_tracks = len(album.tracks)
                album.disc_total = max(t.disc_number or 1 for t in album.tracks)
                per_disc: dict[int, int] = {}
                for t in album.tracks:
                    per_disc[t.disc_number or 1] = per_disc.get(t.disc_number or 1, 0) + 1
                for t in album.tracks:
                    t.disc_total = album.disc_total
                    t.track_total = per_disc[t.disc_number or 1]

    # ---------------------------------------------------------- playlists
    def _make_playlists(self) -> list[Playlist]:
        rng = self.rng
        scale = max(1.0, self.n_tracks / 3000)
        pools = {
            "any": self.tracks,
            "old": [t for t in self.tracks if (t.year or 3000) < 1995] or self.tracks,
            "ja": self._lang_tracks(("ja",)),
            "fr_es": self._lang_tracks(("fr", "es")),
            "nordic_de": self._lang_tracks(("nordic", "de")),
        }
        playlists = []
        for name, base, owner, collaborative, public, theme in _PLAYLISTS:
            size = min(_PLAYLIST_CAP, int(base * scale), len(self.tracks))
            pool = pools[theme]
            if len(pool) < size:  # themed pool too small: fill from anything
                taken = {t.spotify_id for t in pool}
                pool = pool + [t for t in self.tracks if t.spotify_id not in taken]
            tracks = rng.sample(pool, min(size, len(pool)))
            pid = self.ids.new()
            if owner == SPOTIFY_OWNER:
                pid = f"{SPOTIFY_OWNED_PREFIX}1DX{pid[11:]}"
            snapshot = base64.b64encode(f"{_between(rng, 2, 400)},{self.ids.new()}".encode()).decode()
            playlists.append(Playlist(
                id=pid, name=name, owner=owner, track_count=len(tracks), snapshot_id=snapshot,
                image_url=IMAGE_PATH.format(id=pid) if tracks else None,
                description=_pick(rng, ("", "", "Songs for the road.", "Collected over the years & kept.",
                                        "Made with ♥ in Göteborg")),
                collaborative=collaborative, public=public, tracks=tracks))
        return playlists

    def _followed_playlists(self) -> list[Playlist]:
        """Playlists the user follows but neither owns nor collaborates on, drawn from their own random stream."""
        rng = random.Random(f"followed-{self.seed}")
        ids = _Ids(rng)
        scale = max(1.0, self.n_tracks / 3000)
        out = []
        for name, base, owner, prefix in _FOLLOWED:
            tracks = rng.sample(self.tracks, min(_PLAYLIST_CAP, int(base * scale), len(self.tracks)))
            pid = ids.new()
            pid = prefix + pid[len(prefix):]
            snapshot = base64.b64encode(f"{_between(rng, 2, 400)},{ids.new()}".encode()).decode()
            out.append(Playlist(id=pid, name=name, owner=owner, track_count=len(tracks), snapshot_id=snapshot,
                                image_url=IMAGE_PATH.format(id=pid) if tracks else None, description="",
                                collaborative=False, public=True, tracks=tracks))
        return out

    def _lang_tracks(self, langs: tuple[str, ...]) -> list[Track]:
        wanted = {i.artist.spotify_id for i in self.infos if i.lang in langs}
        return [t for t in self.tracks if t.spotify_artist_ids and t.spotify_artist_ids[0] in wanted]

    # ---------------------------------------------------------- library
    def _make_library(self, playlists: list[Playlist], liked: list[Track]) -> list[Track]:
        rng = self.rng
        wanted: dict[str, bool] = {}
        for playlist in playlists:
            for t in playlist.tracks:
                if t.spotify_id not in wanted:
                    wanted[t.spotify_id or ""] = rng.random() < 0.7
        for t in liked:
            if t.spotify_id not in wanted:
                wanted[t.spotify_id or ""] = rng.random() < 0.7
        library: list[Track] = []
        key = FIRST_TRACK_RATING_KEY
        for album in self.albums:
            owned_album = rng.random() < 0.75
            style = _AlbumStyle(rng, album)
            for t in album.tracks:
                decided = wanted.get(t.spotify_id or "")
                if not (decided if decided is not None else owned_album):
                    continue
                copy = _library_copy(rng, t, style, key)
                library.append(copy)
                key += 1
        return library

    # ---------------------------------------------------------- world
    def build(self) -> Catalog:
        self._make_artists()
        self._make_albums()
        artists = [i.artist for i in self.infos]
        counts: dict[str, list[int]] = {a.spotify_id or "": [0, 0] for a in artists}
        for album in self.albums:
            seen_artists: dict[str, None] = {}
            for t in album.tracks:
                for aid in t.spotify_artist_ids:
                    counts[aid][1] += 1
                    seen_artists[aid] = None
            for aid in seen_artists:
                counts[aid][0] += 1
        for a in artists:
            a.album_count, a.track_count = counts[a.spotify_id or ""]
        playlists = self._make_playlists()
        liked = self.rng.sample(self.tracks, min(len(self.tracks), _PLAYLIST_CAP,
                                                 max(50, int(self.n_tracks * 0.07))))
        library = self._make_library(playlists, liked)
        playlists += self._followed_playlists()
        return Catalog(self.seed, artists, self.albums, self.tracks, playlists, liked, library)


# ------------------------------------------------------------ library copies
_VERSION_MARKERS = (" - ", " (feat.")
_ALBUM_SUFFIX = re.compile(r" \((?:Deluxe Edition|Remastered \d{4}|\d{4} Remaster)\)$")


def _base_title(title: str) -> str:
    """Title without Spotify's version suffix and feat. credit."""
    for marker in _VERSION_MARKERS:
        cut = title.find(marker)
        if cut > 0:
            title = title[:cut]
    return title


class _AlbumStyle:
    """How one ripped album's tags differ from Spotify (consistent within the album)."""

    def __init__(self, rng: random.Random, album: Album) -> None:
        self.drop_the = rng.random() < 0.5
        self.strip_accents = rng.random() < 0.3
        self.drop_remaster = rng.random() < 0.65
        self.drop_feat = rng.random() < 0.5
        self.parens_version = rng.random() < 0.5
        self.ext = rng.choices(("flac", "mp3", "m4a"), (65, 30, 5))[0]
        title = _strip_album_suffix(album.title) if rng.random() < 0.5 else album.title
        self.album_title = strip_accents(title) if self.strip_accents else title
        self.album_artist = _vary_name(album.artist, self)
        self.folder = f"{safe_path_part(self.album_artist)}/{safe_path_part(f'{self.album_title} ({album.year})')}/"
        self.multi_disc = (album.disc_total or 1) > 1


def _vary_name(name: str, style: _AlbumStyle) -> str:
    if style.drop_the and name.startswith("The "):
        name = name[4:]
    if style.strip_accents:
        name = strip_accents(name)
    return name


def _vary_title(rng: random.Random, title: str, style: _AlbumStyle) -> str:
    feat = ""
    cut = title.find(" (feat.")
    if cut > 0:
        end = title.find(")", cut)
        feat, title = title[cut:end + 1], title[:cut] + title[end + 1:]
    version = ""
    cut = title.find(" - ")
    if cut > 0:
        title, version = title[:cut], title[cut + 3:]
    if version and "Remaster" in version and style.drop_remaster:
        version = ""
    if feat and not style.drop_feat:
        title += feat.replace("(feat.", "(ft." if rng.random() < 0.3 else "(feat.")
    if version:
        title += f" ({version})" if style.parens_version else f" - {version}"
    roll = rng.random()
    if roll < 0.06:
        title = title.replace("'", "’")
    elif roll < 0.10:
        title = title.replace(" & ", " and ")
    elif roll < 0.14:
        title = title.replace(",", "").replace("!", "").replace("?", "")
    elif roll < 0.16:
        title = title.lower()
    if style.strip_accents:
        title = strip_accents(title)
    return title


def _library_copy(rng: random.Random, t: Track, style: _AlbumStyle, rating_key: int) -> Track:
    title = _vary_title(rng, t.title, style)
    artists = [_vary_name(a, style) for a in t.artists]
    if style.drop_feat and len(artists) > 1 and " (feat." in t.title:
        artists = artists[:1]
    disc_prefix = f"{t.disc_number}-" if style.multi_disc else ""
    path = f"{style.folder}{disc_prefix}{t.track_number or 0:02d} - {safe_path_part(title)}.{style.ext}"
    return Track(
        title=title,
        artists=artists,
        album=style.album_title,
        duration_ms=(t.duration_ms or 0) + _between(rng, -1500, 1500),
        isrc=t.isrc if rng.random() < 0.6 else None,
        album_artist=style.album_artist,
        track_number=t.track_number if rng.random() > 0.02 else None,
        disc_number=t.disc_number,
        track_total=t.track_total,
        disc_total=t.disc_total,
        year=t.year,
        genre=t.genre,
        plex_rating_key=str(rating_key),
        path=path,
    )


def _strip_album_suffix(title: str) -> str:
    """``Album (Deluxe Edition)`` / ``Album (Remastered 2011)`` / ``Album (2011 Remaster)`` -> ``Album``."""
    return _ALBUM_SUFFIX.sub("", title)

"""How the simulated Plex reads a music file: tags with mutagen, gaps filled from the path.

Plex's scanner reads the tags and falls back on the folder layout (``Artist/Album (Year)/01 - Title.ext``)
where tags are missing; files it cannot read as audio are skipped.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import mutagen

from soulsync.core.models import Track

AUDIO_EXTENSIONS = {".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif", ".aiff",
                    ".wma", ".ape", ".wv", ".alac"}
_GUESS_FILE = re.compile(r"^(?:(?P<disc>\d{1,2})[-.])?(?P<num>\d{1,3})\s*[-._]?\s+(?:(?P<artist>.+?) - )?(?P<title>.+)$")
_GUESS_ALBUM = re.compile(r"^(?:(?P<y1>\d{4})\s*-\s*)?(?P<album>.+?)(?:\s*[(\[](?P<y2>\d{4})[)\]])?(?:\s*\[[^\]]*\])?$")


def read_audio_file(path: Path, rel: str) -> Track | None:
    """A Track from an audio file's tags, with gaps filled from its path; None if unreadable."""
    try:
        audio = mutagen.File(str(path), easy=True)
    except Exception:  # mutagen raises many kinds on damaged files
        return None
    if audio is None or audio.info is None:
        return None
    tags = audio.tags or {}

    def tag_list(name: str) -> list[str]:
        try:
            values = tags.get(name) or []
        except (KeyError, ValueError):
            return []
        return [str(v).strip() for v in values if str(v).strip()]

    def tag(name: str) -> str:
        values = tag_list(name)
        return values[0] if values else ""

    guess = guess_from_path(rel)
    number, total = _split_number(tag("tracknumber"))
    disc, disc_total = _split_number(tag("discnumber"))
    year_text = tag("date") or tag("year") or tag("originaldate")
    year = int(year_text[:4]) if year_text[:4].isdigit() else guess.year
    artists = tag_list("artist") or guess.artists
    return Track(
        title=tag("title") or guess.title,
        artists=artists or ["Unknown Artist"],
        album=tag("album") or guess.album,
        duration_ms=int(round(float(getattr(audio.info, "length", 0) or 0) * 1000)),
        isrc=tag("isrc") or None,
        album_artist=tag("albumartist") or guess.album_artist or (artists[0] if artists else ""),
        track_number=number or guess.track_number,
        disc_number=disc or guess.disc_number,
        track_total=total,
        disc_total=disc_total,
        year=year,
        genre=tag("genre"),
        path=rel,
    )


def _split_number(text: str) -> tuple[int | None, int | None]:
    first, _, second = text.partition("/")
    a = int(first) if first.strip().isdigit() else None
    b = int(second) if second.strip().isdigit() else None
    return a, b


def guess_from_path(rel: str) -> Track:
    """Best guesses from ``Artist/Album (Year)/[D-]NN - Title.ext`` and flatter layouts."""
    parts = [p for p in rel.replace("\\", "/").split("/") if p]
    stem = os.path.splitext(parts[-1])[0] if parts else ""
    artist = parts[-3] if len(parts) >= 3 else ""
    album_dir = parts[-2] if len(parts) >= 2 else ""
    album, year = album_dir, None
    m = _GUESS_ALBUM.match(album_dir)
    if m and album_dir:
        album = m.group("album").strip()
        y = m.group("y1") or m.group("y2")
        year = int(y) if y else None
    title, number, disc, track_artist = stem, None, None, ""
    m = _GUESS_FILE.match(stem)
    if m:
        title = m.group("title").strip()
        number = int(m.group("num"))
        disc = int(m.group("disc")) if m.group("disc") else None
        track_artist = (m.group("artist") or "").strip()
    elif " - " in stem:
        track_artist, title = (s.strip() for s in stem.split(" - ", 1))
    main = track_artist or artist
    return Track(title=title or stem, artists=[main] if main else [], album=album, album_artist=artist or main,
                 track_number=number, disc_number=disc, year=year, path=rel)

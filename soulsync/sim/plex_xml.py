"""The simulated Plex server's XML: the ``MediaContainer`` elements plexapi parses.

Attributes and their names follow ``reference/service-apis.md`` section 3 and plexapi's ``_loadData``
of each object (reference 3.4 for playlists); text is cleaned of characters XML cannot hold.
"""
from __future__ import annotations

import hashlib
import re
from xml.etree.ElementTree import Element, SubElement, tostring

from soulsync.sim.base import Response
from soulsync.sim.plex_library import BASE_TIME, CODEC, PAlbum, PArtist, PTrack
from soulsync.sim.plex_playlists import PlexPlaylists, PPlaylist

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value: object) -> str:
    text = str(value)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _BAD_XML.sub("", text)


def _guid(kind: str, rk: int) -> str:
    return f"plex://{kind}/{hashlib.sha1(f'{kind}{rk}'.encode()).hexdigest()[:24]}"


class PlexXml(PlexPlaylists):
    """Renders the library's objects as elements (a mixin of :class:`~soulsync.sim.plex.PlexSim`)."""

    @staticmethod
    def _xml(root: Element) -> Response:
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)
        return Response(200, body, "text/xml;charset=utf-8")

    @staticmethod
    def _el(parent: Element | None, element: str, /, **attrs: object) -> Element:
        clean = {k: _clean(v) for k, v in attrs.items() if v is not None and v != ""}
        return Element(element, clean) if parent is None else SubElement(parent, element, clean)

    def _container(self, **attrs: object) -> Element:
        return self._el(None, "MediaContainer", **attrs)

    def _section_attrs(self) -> dict[str, object]:
        return {"librarySectionID": self.section_key, "librarySectionTitle": "Music",
                "librarySectionUUID": self.section_uuid}

    def _track_el(self, parent: Element, pt: PTrack, **extra: object) -> Element:
        t = pt.track
        album = self._albums[pt.album_rk]
        artist = self._artists[pt.artist_rk]
        credited = ", ".join(t.artists)
        el = self._el(
            parent, "Track", ratingKey=pt.rk, key=f"/library/metadata/{pt.rk}", parentRatingKey=album.rk,
            grandparentRatingKey=artist.rk, guid=_guid("track", pt.rk), parentGuid=_guid("album", album.rk),
            grandparentGuid=_guid("artist", artist.rk), type="track", title=t.title,
            grandparentKey=f"/library/metadata/{artist.rk}", parentKey=f"/library/metadata/{album.rk}",
            librarySectionTitle="Music", librarySectionID=self.section_key,
            librarySectionKey=f"/library/sections/{self.section_key}", grandparentTitle=artist.name,
            parentTitle=album.title, originalTitle=credited if credited != artist.name else None,
            summary="", index=t.track_number, parentIndex=t.disc_number or 1, parentYear=album.year,
            ratingCount=None, thumb=f"/library/metadata/{album.rk}/thumb/{album.updated_at}",
            parentThumb=f"/library/metadata/{album.rk}/thumb/{album.updated_at}",
            grandparentThumb=f"/library/metadata/{artist.rk}/thumb/{artist.updated_at}",
            duration=t.duration_ms, addedAt=pt.added_at, updatedAt=pt.updated_at, musicAnalysisVersion=1,
            **extra)
        codec, kbps = CODEC.get(pt.ext, (pt.ext, 320))
        if pt.real and t.duration_ms:
            kbps = max(1, int(pt.size * 8 / t.duration_ms))
        media = self._el(el, "Media", id=pt.rk, duration=t.duration_ms, bitrate=kbps, audioChannels=2,
                         audioCodec=codec, container=pt.ext)
        self._el(media, "Part", id=pt.rk, key=f"/library/parts/{pt.rk}/{pt.updated_at}/file.{pt.ext}",
                 duration=t.duration_ms, file=str(self.library_dir / (t.path or "")), size=pt.size,
                 container=pt.ext)
        return el

    def _album_el(self, parent: Element, album: PAlbum) -> Element:
        artist = self._artists[album.artist_rk]
        return self._el(
            parent, "Directory", ratingKey=album.rk, key=f"/library/metadata/{album.rk}/children",
            parentRatingKey=artist.rk, guid=_guid("album", album.rk), parentGuid=_guid("artist", artist.rk),
            type="album", title=album.title, parentKey=f"/library/metadata/{artist.rk}",
            librarySectionTitle="Music", librarySectionID=self.section_key,
            librarySectionKey=f"/library/sections/{self.section_key}", parentTitle=artist.name, summary="",
            index=1, year=album.year, thumb=f"/library/metadata/{album.rk}/thumb/{album.updated_at}",
            parentThumb=f"/library/metadata/{artist.rk}/thumb/{artist.updated_at}",
            originallyAvailableAt=f"{album.year}-01-01" if album.year else None, leafCount=len(album.tracks),
            addedAt=album.added_at, updatedAt=album.updated_at, loudnessAnalysisVersion=2)

    def _artist_el(self, parent: Element, artist: PArtist) -> Element:
        el = self._el(
            parent, "Directory", ratingKey=artist.rk, key=f"/library/metadata/{artist.rk}/children",
            guid=_guid("artist", artist.rk), type="artist", title=artist.name,
            titleSort=artist.name[4:] if artist.name.startswith("The ") else artist.name,
            librarySectionTitle="Music", librarySectionID=self.section_key,
            librarySectionKey=f"/library/sections/{self.section_key}", summary=artist.summary, index=1,
            thumb=f"/library/metadata/{artist.rk}/thumb/{artist.updated_at}",
            addedAt=artist.added_at, updatedAt=artist.updated_at)
        for genre in artist.genres:
            self._el(el, "Genre", tag=genre)
        return el

    def _render(self, parent: Element, obj: object) -> None:
        if isinstance(obj, PTrack):
            self._track_el(parent, obj)
        elif isinstance(obj, PAlbum):
            self._album_el(parent, obj)
        elif isinstance(obj, PArtist):
            self._artist_el(parent, obj)

    def _playlist_el(self, parent: Element, p: PPlaylist) -> Element:
        """The ``<Playlist>`` plexapi's ``Playlist._loadData`` reads (reference 3.4): ``guid``, ``smart``,
        ``playlistType``, ``summary``, ``leafCount``; a smart one adds ``content`` (its filter) and ``icon``."""
        tracks = [self._tracks[rk] for _, rk in p.items if rk in self._tracks]
        duration = sum(t.track.duration_ms or 0 for t in tracks)
        el = self._el(parent, "Playlist", ratingKey=p.rk, key=f"/playlists/{p.rk}/items", guid=p.guid,
                      type="playlist", title=p.title, titleSort=p.title, smart=int(p.smart),
                      playlistType=p.playlist_type, composite=f"/playlists/{p.rk}/composite/{p.updated_at}",
                      content=p.content, icon="playlist://image.smart" if p.smart else None,
                      leafCount=len(tracks), duration=duration, durationInSeconds=duration // 1000,
                      addedAt=p.added_at, updatedAt=p.updated_at)
        el.set("summary", _clean(p.summary))  # present even when empty, as real PMS sends it
        return el

    def _section_directory(self, parent: Element) -> Element:
        el = self._el(parent, "Directory", allowSync=1, art="/:/resources/artist-fanart.jpg", composite=
                      f"/library/sections/{self.section_key}/composite/{BASE_TIME}", filters=1,
                      refreshing=int(self.refreshing), thumb="/:/resources/artist.png", key=self.section_key,
                      type="artist", title="Music", agent="tv.plex.agents.music", scanner="Plex Music",
                      language="en-US", uuid=self.section_uuid, updatedAt=int(self.clock()),
                      createdAt=BASE_TIME - 86400 * 900, scannedAt=int(self.clock()), content=1, directory=1,
                      contentChangedAt=self._version, hidden=0)
        self._el(el, "Location", id=self.section_key, path=str(self.library_dir))
        return el

    def _meta(self, root: Element) -> None:
        meta = self._el(root, "Meta")
        for type_id, libtype, plural in (("8", "artist", "Artists"), ("9", "album", "Albums"),
                                         ("10", "track", "Tracks")):
            t = self._el(meta, "Type", key=f"/library/sections/{self.section_key}/all?type={type_id}",
                         type=libtype, title=plural, active=int(libtype == "artist"))
            for key, title in (("titleSort", "Title"), ("addedAt", "Date Added"), ("updatedAt", "Date Updated")):
                self._el(t, "Sort", defaultDirection="desc" if key != "titleSort" else "asc",
                         descKey=f"{key}:desc", key=key, title=title)
            self._el(t, "Field", key=f"{libtype}.title", title=f"{libtype.title()} Title", type="string")
            self._el(t, "Field", key=f"{libtype}.addedAt", title="Date Added", type="date")
            self._el(t, "Field", key=f"{libtype}.updatedAt", title="Date Updated", type="date")
            if libtype != "artist":
                self._el(t, "Field", key=f"{libtype}.year" if libtype == "album" else "album.year",
                         title="Year", type="integer")
        string = self._el(meta, "FieldType", type="string")
        for key, title in (("=", "contains"), ("!=", "does not contain"), ("==", "is"), ("!==", "is not"),
                           ("<=", "begins with"), (">=", "ends with")):
            self._el(string, "Operator", key=key, title=title)
        integer = self._el(meta, "FieldType", type="integer")
        for key, title in (("=", "is"), ("!=", "is not"), (">>=", "is greater than"), ("<<=", "is less than")):
            self._el(integer, "Operator", key=key, title=title)
        date = self._el(meta, "FieldType", type="date")
        for key, title in ((">>=", "is after"), ("<<=", "is before")):
            self._el(date, "Operator", key=key, title=title)
        tag = self._el(meta, "FieldType", type="tag")
        self._el(tag, "Operator", key="=", title="is")
        self._el(tag, "Operator", key="!=", title="is not")

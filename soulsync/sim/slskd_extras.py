"""The slskd endpoints a download client may not need, answered as slskd 0.24.x does.

Third-party clients such as ``slskd-api`` call them (see
``../shared/reference/service-apis.md`` section 1.9), so the simulation answers them
too: uploads, the latest-version check, garbage collection, the start-up options,
the JWT-only options views, and the ``/users`` endpoints (status, info, end point,
browse, browse progress, directory contents). Users are the simulated peers
(:mod:`soulsync.sim.peers`): their shares are what a browse returns, their free
slot and queue length what their info says.

Each handler names the slskd (git tag 0.24.5) or Soulseek.NET (8.5.0, the package
slskd 0.24.5 pins) source it follows. :class:`SlskdExtras` belongs to one
:class:`~soulsync.sim.slskd.SlskdSim`, which registers :meth:`SlskdExtras.routes`.
"""
from __future__ import annotations

import json
import threading
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from soulsync.sim.base import Request, Response
from soulsync.sim.peers import Peer, SharedFile
from soulsync.sim.slskd_model import GUID, directory_name, parse_bool, version_tuple

if TYPE_CHECKING:
    from soulsync.sim.slskd import SlskdSim

Route = tuple[str, str, Callable[[Request], Response], bool]

BROWSE_STATUS_LINGER_S = 5.0
"""Simulated seconds a finished browse keeps answering ``/browse/status`` (``UsersController.Browse``:
``Task.Delay(5000)`` then ``BrowseTracker.TryRemove``)."""

UPLOAD_SLOTS = 2
"""Upload slots every simulated peer reports in its user info (peers do not model a slot count)."""

_ATTRIBUTE_TYPES = (("bitRate", "BitRate"), ("length", "Length"), ("isVariableBitRate", "VariableBitRate"),
                    ("sampleRate", "SampleRate"), ("bitDepth", "BitDepth"))
"""Search-result field and Soulseek.NET ``FileAttributeType`` name, in the enum's code order 0, 1, 2, 4, 5
(``src/FileAttributeType.cs``)."""

_LOGGED_OUT = "The server connection must be connected and logged in to {action} (currently: Disconnected)"


def offline_message(username: str) -> str:
    """Soulseek.NET's ``UserOfflineException`` text (``SoulseekClient.GetUserEndPointAsync``)."""
    return f"User {username} appears to be offline"


@dataclass
class _Browse:
    """One browse in the sense of slskd's ``BrowseTracker``: progress in simulated seconds."""

    username: str
    size: int
    transfer_from: float
    transfer_until: float
    finished: float | None = None

    def progress(self, now: float) -> dict | None:
        """``BrowseProgressUpdatedEventArgs`` as slskd serializes it, or None when slskd has none."""
        if self.finished is not None:
            done = self.size
        elif now < self.transfer_from:
            return None  # still connecting: no progress event yet
        else:
            span = max(1e-9, self.transfer_until - self.transfer_from)
            done = min(self.size, int(self.size * (now - self.transfer_from) / span))
        return {"bytesTransferred": done, "bytesRemaining": self.size - done,
                "percentComplete": done / self.size * 100 if self.size else 0.0,
                "size": self.size, "username": self.username}


class SlskdExtras:
    """The §1.9 endpoints of one simulation. They use the simulation's own JWT check, options and
    search-result file attributes, so a peer's files read the same in a browse as in a search.

    ``release`` is the newest slskd release the (simulated) GitHub reports; slskd checks it at
    start-up and again on ``GET /application/version/latest?forceCheck=true``.
    """

    def __init__(self, sim: SlskdSim) -> None:
        self.sim = sim
        self.release = sim.version
        self._lock = threading.Lock()
        self._browses: dict[str, _Browse] = {}
        self._checked_release = sim.version
        self._startup_options: dict = {}
        self.restarted()

    def restarted(self) -> None:
        """What a new slskd process starts with: options read now, the version checked now
        (``Application.StartAsync``), no browse tracked."""
        self._startup_options = json.loads(self.sim._options(Request("GET", "", {}, {}, b"")).body)
        self._checked_release = self.release
        with self._lock:
            self._browses.clear()

    # ---- registration -----------------------------------------------------------
    def routes(self, user: str, tid: str) -> list[Route]:
        """``(method, path under /api/v0, handler, needs auth)`` for :meth:`SlskdSim._register_routes`;
        ``user`` and ``tid`` are its username and id path patterns."""
        return [
            ("GET", "/application/version/latest", self._version_latest, True),
            ("POST", "/application/gc", self._gc, True),
            ("GET", "/options/startup", self._options_startup, True),
            ("GET", "/options/debug", self._remote_configuration_only, False),
            ("GET", "/options/yaml/location", self._remote_configuration_only, False),
            ("GET", "/options/yaml", self._remote_configuration_only, False),
            ("PUT", "/options/yaml", self._remote_configuration_only, False),
            ("POST", "/options/yaml/validate", self._yaml_validate, True),
            ("GET", "/transfers/uploads", self._uploads, True),
            ("DELETE", "/transfers/uploads/all/completed", self._uploads_clear_completed, True),
            ("GET", f"/transfers/uploads/{user}", self._uploads_of_user, True),
            ("GET", f"/transfers/uploads/{user}/{tid}", self._upload_get, True),
            ("DELETE", f"/transfers/uploads/{user}/{tid}", self._upload_cancel, True),
            ("GET", f"/users/{user}/status", self._user_status, True),
            ("GET", f"/users/{user}/info", self._user_info, True),
            ("GET", f"/users/{user}/endpoint", self._user_endpoint, True),
            ("GET", f"/users/{user}/browse", self._user_browse, True),
            ("GET", f"/users/{user}/browse/status", self._user_browse_status, True),
            ("POST", f"/users/{user}/directory", self._user_directory, True),
        ]

    # ---- application: src/slskd/Core/API/Controllers/ApplicationController.cs, src/slskd/Core/State.cs ----
    def version_state(self) -> dict:
        """``VersionState`` (``src/slskd/Core/State.cs``), as in ``GET /application`` and
        ``GET /application/version/latest``; ``latest``/``isUpdateAvailable`` from the last check."""
        newer = version_tuple(self._checked_release) > self.sim.version_tuple
        return {"full": ".".join(str(p) for p in self.sim.version_tuple) + ".0", "current": self.sim.version,
                "latest": self._checked_release if newer else self.sim.version, "isUpdateAvailable": newer,
                "isCanary": False, "isDevelopment": False}

    def _version_latest(self, req: Request) -> Response:
        """``ApplicationController.CheckVersion``: with ``forceCheck=true`` runs ``Application.CheckVersionAsync``
        first, then answers the cached version state."""
        if parse_bool(req.arg("forceCheck", "false")):
            self._checked_release = self.release
        return Response.json(self.version_state())

    @staticmethod
    def _gc(req: Request) -> Response:
        """``ApplicationController.CollectGarbage``: ``Ok()``, 200 with an empty body."""
        return Response(200, b"", content_type="")

    # ---- options: src/slskd/Core/API/Controllers/OptionsController.cs, Program.cs (auth policies) ----
    def _options_startup(self, req: Request) -> Response:
        """``OptionsController.Startup``: the (redacted) options the process started with."""
        return Response.json(self._startup_options)

    def _remote_configuration_only(self, req: Request) -> Response:
        """``OptionsController.Debug``, ``GetYamlFileLocation``, ``GetYamlFile``, ``UpdateYamlFile``: policy
        ``JwtOnly`` (an API key gets 401), then ``Forbid()`` (403) because the simulation reports
        ``remoteConfiguration: false``."""
        sim = self.sim
        bearer = req.header("authorization") or ""
        if sim.auth_enabled and not (bearer.lower().startswith("bearer ") and sim._valid_jwt(bearer[7:].strip())):
            return sim.error_response(401, req)
        return sim.error_response(403, req)

    def _yaml_validate(self, req: Request) -> Response:
        """``OptionsController.ValidateYamlFile``: any credentials, then 403 without remote configuration."""
        return self.sim.error_response(403, req)

    # ---- uploads: src/slskd/Transfers/API/Controllers/TransfersController.cs,
    # src/slskd/Transfers/Uploads/UploadService.cs ----
    # The simulated slskd shares nothing (``/application`` reports 0 files), so no peer ever
    # downloads from it and the upload list is always empty.
    @staticmethod
    def _uploads(req: Request) -> Response:
        """``TransfersController.GetUploads()``: every upload grouped user -> directory; ``[]`` with none."""
        return Response.json([])

    def _uploads_of_user(self, req: Request) -> Response:
        """``TransfersController.GetUploads(username)``: ``NotFound()`` when the user has no uploads."""
        return self.sim.error_response(404, req)

    def _upload_get(self, req: Request) -> Response:
        """``TransfersController.GetUploads(username, id)``: 400 for a non-GUID id, 404 for an unknown one."""
        if not GUID.match(req.params["id"]):
            return Response.empty(400)
        return self.sim.error_response(404, req)

    def _upload_cancel(self, req: Request) -> Response:
        """``TransfersController.CancelUpload``: 400 non-GUID; ``TryCancel`` then, with ``remove=true``,
        ``Remove``. 0.24+ removes by expression, so an unknown id is 204; <= 0.23 ``Remove(Guid)``
        throws ``NotFoundException`` -> 404 (``UploadService.cs`` of 0.23.2)."""
        if not GUID.match(req.params["id"]):
            return Response.empty(400)
        if parse_bool(req.arg("remove", "false")) and self.sim.version_tuple < (0, 24):
            return self.sim.error_response(404, req)
        return Response.empty(204)

    @staticmethod
    def _uploads_clear_completed(req: Request) -> Response:
        """``TransfersController.ClearCompletedUploads``: ``NoContent()``."""
        return Response.empty(204)

    # ---- users: src/slskd/Users/API/Controllers/UsersController.cs, src/slskd/Users/UserService.cs,
    # src/slskd/Users/Types/{Status,Info}.cs; Soulseek.NET src/SoulseekClient.cs, src/{BrowseResponse,
    # Directory,File}.cs, src/EventArgs/BrowseProgressUpdatedEventArgs.cs ----
    def _online_peer(self, req: Request, action: str) -> tuple[Peer | None, Response | None]:
        """The peer behind ``{username}``, or slskd's answer when it cannot be reached: 500 with
        Soulseek.NET's ``InvalidOperationException`` text when slskd is logged out (not caught by
        the controller), 404 with the ``UserOfflineException`` message (a JSON string) when the
        server reports no address for the user: offline or no such user."""
        sim = self.sim
        username = req.params["username"]
        if not sim.logged_in:
            return None, sim.error_response(500, req, _LOGGED_OUT.format(action=action))
        try:
            peer = sim.peer(username)
        except KeyError:
            peer = None
        if peer is None or peer.offline:
            return None, Response.json(offline_message(username), 404)
        return peer, None

    def _wait(self, sim_seconds: float) -> None:
        """Take ``sim_seconds`` of simulated time to answer (at most 1 s real), like the enqueue POST."""
        time.sleep(min(1.0, sim_seconds / self.sim.clock.time_scale))

    def _user_status(self, req: Request) -> Response:
        """``UsersController.Status`` -> ``UserService.GetStatusAsync`` -> Soulseek.NET ``GetUserStatusAsync``:
        a server query that never throws ``UserOfflineException``, so an offline or unknown user is
        200 ``presence: "Offline"`` (``src/slskd/Users/Types/Status.cs``, Soulseek.NET ``UserPresence``)."""
        sim = self.sim
        if not sim.logged_in:
            return sim.error_response(500, req, _LOGGED_OUT.format(action="fetch user status"))
        online = any(p.username == req.params["username"] and not p.offline for p in sim.peers)
        return Response.json({"isPrivileged": False, "presence": "Online" if online else "Offline"})

    def _user_info(self, req: Request) -> Response:
        """``UsersController.Info`` -> ``GetUserInfoAsync`` (asks the peer itself): ``Info``
        (``src/slskd/Users/Types/Info.cs``); ``picture`` is null, so omitted."""
        peer, error = self._online_peer(req, "fetch user information")
        if peer is None:
            return error  # type: ignore[return-value]
        self._wait(peer.latency)
        return Response.json({"description": "", "hasFreeUploadSlot": peer.free_slot, "hasPicture": False,
                              "queueLength": peer.queue_length, "uploadSlots": UPLOAD_SLOTS})

    def _user_endpoint(self, req: Request) -> Response:
        """``UsersController.Endpoint`` -> ``GetUserEndPointAsync``: an ``IPEndPoint`` serialized by its
        properties (``addressFamily`` enum name, ``address`` through slskd's ``IPAddressConverter``, ``port``).
        Addresses are made up per user in TEST-NET-3 (203.0.113.0/24); the port near Soulseek's 2234."""
        peer, error = self._online_peer(req, "fetch user endpoint")
        if peer is None:
            return error  # type: ignore[return-value]
        digest = zlib.crc32(peer.username.encode("utf-8"))
        return Response.json({"addressFamily": "InterNetwork", "address": f"203.0.113.{1 + digest % 254}",
                              "port": 2234 + digest % 1000})

    def _user_browse(self, req: Request) -> Response:
        """``UsersController.Browse`` -> Soulseek.NET ``BrowseAsync``: the whole share as a ``BrowseResponse``
        (``directories``, ``directoryCount``, ``lockedDirectories``, ``lockedDirectoryCount``). The answer
        takes the peer's latency plus the listing's transfer at the peer's speed; progress is visible
        meanwhile at ``/browse/status`` and for 5 s after."""
        peer, error = self._online_peer(req, "browse")
        if peer is None:
            return error  # type: ignore[return-value]
        listing = {"directories": self._directories(peer, [f for f in peer.files if not f.locked]),
                   "lockedDirectories": self._directories(peer, [f for f in peer.files if f.locked])}
        size = len(zlib.compress("\n".join(f.path for f in peer.files).encode("utf-8")))
        now = self.sim.clock.now()
        browse = _Browse(peer.username, size, now + peer.latency, now + peer.latency + size / max(1, peer.speed))
        with self._lock:
            self._browses[peer.username] = browse
        self._wait(browse.transfer_until - now)
        browse.finished = self.sim.clock.now()
        return Response.json({"directories": listing["directories"], "directoryCount": len(listing["directories"]),
                              "lockedDirectories": listing["lockedDirectories"],
                              "lockedDirectoryCount": len(listing["lockedDirectories"])})

    def _user_browse_status(self, req: Request) -> Response:
        """``UsersController.BrowseStatus``: the tracked ``BrowseProgressUpdatedEventArgs``, or ``NotFound()``
        when no browse of that user is running or ended less than 5 s ago."""
        now = self.sim.clock.now()
        with self._lock:
            browse = self._browses.get(req.params["username"])
            if browse is not None and browse.finished is not None \
                    and now >= browse.finished + BROWSE_STATUS_LINGER_S:
                del self._browses[browse.username]
                browse = None
        progress = browse.progress(now) if browse is not None else None
        return Response.json(progress) if progress is not None else self.sim.error_response(404, req)

    def _user_directory(self, req: Request) -> Response:
        """``UsersController.Directory`` -> Soulseek.NET ``GetDirectoryContentsAsync``: a list holding the
        one directory asked for. 400 (empty) without ``directory``. A folder the peer does not share
        (or shares with buddies only) comes back with no files **[unverified: peers' answers vary]**."""
        try:
            body = req.json()
        except ValueError:
            return Response.empty(400)
        fields = {k.lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
        directory = fields.get("directory")
        if not isinstance(directory, str) or not directory:
            return Response.empty(400)
        peer, error = self._online_peer(req, "fetch directory contents")
        if peer is None:
            return error  # type: ignore[return-value]
        self._wait(peer.latency)
        files = [f for f in peer.files if not f.locked and directory_name(f.path) == directory]
        return Response.json(self._directories(peer, files) or [{"name": directory, "fileCount": 0, "files": []}])

    def _directories(self, peer: Peer, files: list[SharedFile]) -> list[dict]:
        """Soulseek.NET ``Directory`` objects (``name`` the full remote folder, ``files`` by bare name),
        one per folder holding ``files``, in share order."""
        folders: dict[str, list[dict]] = {}
        for shared in files:
            folders.setdefault(directory_name(shared.path), []).append(self._file(peer, shared))
        return [{"name": name, "fileCount": len(entries), "files": entries} for name, entries in folders.items()]

    def _file(self, peer: Peer, shared: SharedFile) -> dict:
        """A Soulseek.NET ``File`` (``src/File.cs``): the attributes the peer sends (the same ones its
        search responses carry) as ``{type, value}`` pairs plus the typed properties they fill;
        ``filename`` is the bare name, as in every browse and folder-contents reply."""
        announced = self.sim._file_json(peer, shared)
        attributes: list[dict[str, Any]] = []
        body: dict[str, Any] = {}
        for field, name in _ATTRIBUTE_TYPES:
            if field in announced:
                value = announced[field]
                attributes.append({"type": name, "value": int(value)})
                body[field] = value
        separator = "/" if "/" in shared.path else "\\"
        body.update({"attributeCount": len(attributes), "attributes": attributes, "code": announced["code"],
                     "extension": announced["extension"], "filename": shared.path.rsplit(separator, 1)[-1],
                     "size": announced["size"]})
        return body

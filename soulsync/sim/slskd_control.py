"""The ``/__sim/`` control endpoints of the slskd simulation (no auth; outside slskd's own paths).

They change the simulated world at run time for tests, the demo and ``soulsync sim`` users in
another process: login state, restarts, time scale, peers' behaviour, transfer faults, and what
peers share (a release appearing on Soulseek, a recording that becomes available or goes away).
"""
from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import unquote

from soulsync.sim.base import Request, Response
from soulsync.sim.catalog import track_from_fields
from soulsync.sim.peers import Peer


class ControlMixin:
    """The control endpoints of :class:`~soulsync.sim.slskd.SlskdSim` (whose public Python API they call)."""

    # provided by SlskdSim
    _lock: Any
    _logged_in: bool
    _searches: dict
    _transfers: dict
    peers: list[Peer]
    time_scale: float
    version: str
    host_os: str
    enqueue_style: str
    transfer_faults: Any
    faults: Any
    logout: Any
    login: Any
    expire_tokens: Any
    restart: Any
    set_peer: Any
    share_tracks: Any
    unshare_tracks: Any

    def control(self, req: Request) -> Response:
        """``/__sim/`` endpoints (no auth):

        ``GET /__sim/state``: login state, time scale, peers and counts;
        ``POST /__sim/logout``, ``POST /__sim/login``;
        ``POST /__sim/restart`` ``{"downtime": s}`` (answers, then restarts);
        ``POST /__sim/expire-tokens``;
        ``POST /__sim/time-scale`` ``{"time_scale": x}``;
        ``POST /__sim/peers/<username>`` with fields for :meth:`set_peer`;
        ``GET|POST|DELETE /__sim/transfer-faults`` (POST a rule or a list of rules for
        :class:`TransferFault`);
        ``POST|DELETE /__sim/shares`` (see :meth:`_shares`; loopback clients only).
        """
        path, method = req.path.rstrip("/"), req.method
        try:
            payload = req.json() if req.body else {}
        except ValueError:
            return Response.json({"error": "body is not JSON"}, 400)
        try:
            if path == "/__sim/state" and method == "GET":
                return Response.json(self._state_json())
            if path == "/__sim/logout" and method == "POST":
                self.logout()
                return Response.json(self._state_json())
            if path == "/__sim/login" and method == "POST":
                self.login()
                return Response.json(self._state_json())
            if path == "/__sim/expire-tokens" and method == "POST":
                self.expire_tokens()
                return Response.empty()
            if path == "/__sim/time-scale" and method == "POST":
                self.time_scale = float(payload["time_scale"])
                return Response.json({"time_scale": self.time_scale})
            if path == "/__sim/restart" and method == "POST":
                downtime = float((payload or {}).get("downtime", 0.0))
                threading.Thread(target=self._restart_soon, args=(downtime,), daemon=True).start()
                return Response.json({"restarting": True, "downtime": downtime}, 202)
            if path.startswith("/__sim/peers/") and method == "POST":
                peer = self.set_peer(unquote(path[len("/__sim/peers/"):]), **(payload or {}))
                return Response.json(self._peer_json(peer))
            if path == "/__sim/shares":
                return self._shares(req, payload)
            if path == "/__sim/transfer-faults":
                if method == "DELETE":
                    self.transfer_faults.clear()
                    return Response.empty()
                if method == "POST":
                    for rule in payload if isinstance(payload, list) else [payload]:
                        self.transfer_faults.add(**rule)
                if method in ("GET", "POST"):
                    return Response.json([r.as_dict() for r in self.transfer_faults.rules()])
        except KeyError as exc:
            return Response.json({"error": f"unknown peer or missing field {exc}"}, 404)
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"error": "unknown control endpoint"}, 404)

    def _shares(self, req: Request, payload: Any) -> Response:
        """``POST`` ``{"tracks": [track fields], "peers": n, "encoding": "flac"}``: tidy tagged copies of the
        recordings on ``n`` fast peers (answers their usernames); the track fields are those the Spotify
        simulation's ``POST /__sim/releases`` and ``GET /__sim/tracks/<id>`` answer. ``DELETE``
        ``{"spotify_ids": [...], "isrcs": [...]}``: no peer shares those tracks, nor any release of those
        ISRCs, any more (answers how many files went)."""
        if not req.from_loopback:
            return Response.json({"error": "admin endpoints answer loopback clients only"}, 403)
        if req.method == "POST":
            tracks = [track_from_fields(fields) for fields in payload["tracks"]]
            names = self.share_tracks(tracks, peers=int(payload.get("peers", 3)),
                                      encoding=str(payload.get("encoding", "flac")))
            return Response.json({"peers": names}, 201)
        if req.method == "DELETE":
            removed = self.unshare_tracks(list(payload.get("spotify_ids") or ()), list(payload.get("isrcs") or ()))
            return Response.json({"removed": removed})
        return Response.json({"error": "POST or DELETE shares"}, 405)

    def _restart_soon(self, downtime: float) -> None:
        time.sleep(0.05)  # let the control answer reach the caller first
        self.restart(downtime)

    @staticmethod
    def _peer_json(peer: Peer) -> dict:
        return {"username": peer.username, "kind": peer.kind, "offline": peer.offline, "speed": peer.speed,
                "upload_speed": peer.upload_speed, "free_slot": peer.free_slot, "queue_length": peer.queue_length,
                "stall_at": peer.stall_at, "fail_at": peer.fail_at, "reject_reason": peer.reject_reason,
                "files": len(peer.files)}

    def _state_json(self) -> dict:
        with self._lock:
            return {"logged_in": self._logged_in, "time_scale": self.time_scale, "version": self.version,
                    "host_os": self.host_os, "enqueue_style": self.enqueue_style, "searches": len(self._searches),
                    "transfers": len(self._transfers), "peers": [self._peer_json(p) for p in self.peers],
                    "transfer_faults": [r.as_dict() for r in self.transfer_faults.rules()],
                    "faults": [r.as_dict() for r in self.faults.rules()]}

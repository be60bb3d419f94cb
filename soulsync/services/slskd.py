"""slskd HTTP API client: requests underneath, domain types and project exceptions on top.

Covers what SoulSync needs from slskd (wire facts in
``../shared/reference/service-apis.md`` section 1): application state for the
connection test, the options' download folders, searches (slskd returns a
search's responses only once it has completed, so callers poll
:meth:`SlskdClient.search_state` and fetch :meth:`SlskdClient.search_responses`
when it says ``complete``), the download rules of its options (where finished
files land, retries, the peer connect timeout), enqueueing (both the 0.24+
``{enqueued, failed}`` reply and the older empty 201; slskd answers only once it
has reached the peer, so the request may take its connect timeout and more), the
download list flattened into
:class:`~soulsync.core.models.Transfer`, place in queue, cancel/remove and
clearing finished downloads.

Authentication is an API key (``X-API-Key``) or a web username and password
(a JWT from ``POST /api/v0/session``, renewed once when slskd answers 401).
Every request has a timeout; every failure is one of the exceptions of
:mod:`soulsync.services.errors` with a message fit for a person. Secrets are
never logged and never part of an exception message.
"""
from __future__ import annotations

import logging
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import quote

import requests

from soulsync.core.models import SearchFile, Transfer, transfer_state_from_slskd
from soulsync.core.slskd_files import DEFAULT_RETRY_ATTEMPTS, UNKNOWN_RULES, DownloadRules
from soulsync.services.errors import (
    AuthError, BadResponse, NotFound, NotReady, RateLimited, Refused, ServerError, ServiceError, WrongServer,
    retry_delay,
)
from soulsync.services.http import ServiceSession
from soulsync.services.spotify_auth import transport_error

log = logging.getLogger(__name__)

SERVICE = "slskd"
API_PREFIX = "/api/v0"
_NOT_LOGGED_IN = re.compile(r"must be connected and logged in", re.I)
_HTML_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.I | re.S)


@dataclass(slots=True)
class ApplicationState:
    """What the Settings connection test shows."""

    version: str
    connected: bool
    logged_in: bool
    username: str | None
    """The Soulseek username slskd is logged in as (None while logged out)."""
    server_state: str
    """slskd's own flag string, e.g. ``Connected, LoggedIn`` or ``Disconnected``."""


@dataclass(slots=True)
class SearchState:
    """A search's progress; its responses can be fetched once ``complete``.

    slskd runs at most two network searches at once and keeps the rest ``Queued`` (their
    timeout not started), and it completes a search in two writes: ``Completed, <reason>``
    first, ``endedAt`` and the stored responses a moment later (reference 1.5). So
    :attr:`queued`, :attr:`completed` (the network search is over) and :attr:`complete`
    (the responses are readable) are three different things."""

    id: str
    text: str
    state: str
    """slskd's flag string: ``Requested``, ``InProgress``, ``Completed, TimedOut``..."""
    response_count: int = 0
    file_count: int = 0
    locked_file_count: int = 0
    started_at: str | None = None
    ended_at: str | None = None

    @property
    def completed(self) -> bool:
        """The network search is over (``Completed, <reason>``); its responses may not be stored yet."""
        return "completed" in self.state.lower()

    @property
    def complete(self) -> bool:
        """The responses are stored and can be read: ``endedAt`` is set."""
        return self.completed and bool(self.ended_at)

    @property
    def queued(self) -> bool:
        """Waiting for one of slskd's two search slots (``Queued``, ``Requested``): its timeout has not started."""
        return not self.completed and "inprogress" not in self.state.lower().replace(" ", "")

    @property
    def outcome(self) -> str:
        """``timed_out``, ``response_limit``, ``file_limit``, ``cancelled``, ``errored``, or ``running``."""
        flags = {p.strip().lower() for p in self.state.split(",")}
        for flag, name in (("cancelled", "cancelled"), ("errored", "errored"), ("timedout", "timed_out"),
                           ("responselimitreached", "response_limit"), ("filelimitreached", "file_limit")):
            if flag in flags:
                return name
        return "running" if "completed" not in flags else "completed"


SearchHandle = SearchState
"""What :meth:`SlskdClient.start_search` returns: the search's first state (its ``id`` is the handle)."""


@dataclass(slots=True)
class EnqueueResult:
    """What slskd did with an enqueue request."""

    enqueued: list[Transfer] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Remote filenames slskd refused (usually: already being downloaded). 0.26 does not name them (it
    writes each refusal as ``{}``): a file in neither list is found in the download list, or not."""
    legacy_reply: bool = False
    """slskd < 0.24 answered an empty 201; ``enqueued`` was then looked up in the download list."""


class SlskdClient:
    """Typed access to one slskd instance.

    ``base_url`` is where slskd listens (``http://localhost:5030``); ``url_base``
    is slskd's ``web.url_base`` when it sits behind a reverse proxy path. Give
    ``api_key``, or ``username`` and ``password``. Building a client makes no
    request. Requests go to the origin of ``base_url`` only (a
    :class:`~soulsync.services.http.ServiceSession` unless ``session`` is given).
    """

    service = SERVICE

    def __init__(self, base_url: str, api_key: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: float = 10, verify_tls: bool = True,
                 url_base: str = "", session: requests.Session | None = None, retries: int = 0,
                 retry_base_s: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        base = base_url.strip().rstrip("/")
        if base and "://" not in base:
            base = "http://" + base
        self.base_url = base
        path = url_base.strip().strip("/")
        self.api_url = f"{base}/{path}{API_PREFIX}" if path else f"{base}{API_PREFIX}"
        self.timeout = timeout
        self._api_key = api_key or None
        self._username = username or None
        self._password = password or None
        self._token: str | None = None
        self._login_lock = threading.Lock()
        self._session = session or ServiceSession(base, SERVICE)
        self._session.verify = verify_tls
        self.skipped_records = 0
        """Malformed records skipped by the last listing call (peers and servers send odd data)."""
        self.retries = retries
        """Extra tries, with backoff from ``retry_base_s``, of a request that failed for a passing reason
        (see :func:`~soulsync.services.errors.retry_delay`). Only reads are repeated, and requests slskd
        turned away with 429 (it did nothing then). 0: every failure is raised at once (the download
        queue polls again on its own)."""
        self.retry_base_s = retry_base_s
        self._sleep = sleep
        self._rules: DownloadRules | None = None

    def __repr__(self) -> str:
        auth = "api-key" if self._api_key else ("jwt" if self._username else "none")
        return f"SlskdClient({self.api_url!r}, auth={auth})"

    def close(self) -> None:
        self._session.close()

    # ---- application ----------------------------------------------------------
    def application_state(self) -> ApplicationState:
        """Version and Soulseek connection state; raises :class:`WrongServer` if this is not slskd."""
        data = self._call("GET", "/application", what="reading the application state", probe=True)
        server = data.get("server") if isinstance(data, dict) else None
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(server, dict) or not isinstance(version, dict):
            raise WrongServer(SERVICE, f"{self.base_url} answered, but not with slskd's application state",
                              f"keys: {sorted(data)[:10] if isinstance(data, dict) else type(data).__name__}")
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        return ApplicationState(
            version=str(version.get("current") or version.get("full") or "unknown"),
            connected=bool(server.get("isConnected")),
            logged_in=bool(server.get("isLoggedIn")),
            username=user.get("username") if server.get("isLoggedIn") else None,
            server_state=str(server.get("state") or ""),
        )

    def options(self) -> dict:
        """slskd's (secret-redacted) options tree."""
        data = self._call("GET", "/options", what="reading the options")
        if not isinstance(data, dict):
            raise BadResponse(SERVICE, "the options are not a JSON object")
        return data

    def downloads_dir(self) -> str:
        """Where slskd puts finished downloads (a path on slskd's machine)."""
        return self._directory("downloads")

    def incomplete_dir(self) -> str:
        """Where slskd writes downloads while they run."""
        return self._directory("incomplete")

    def download_rules(self) -> DownloadRules:
        """Where slskd files finished downloads, how often it retries failed ones and how long it may take
        to reach a peer, from its options (0.26+ settings; older versions get their fixed behaviour)."""
        self._rules = _download_rules(self.options())
        return self._rules

    def _enqueue_timeout(self) -> float:
        rules = self._rules
        if rules is None:
            try:
                rules = self.download_rules()
            except ServiceError as exc:
                log.info("slskd: options unavailable (%s); assuming the default peer connect timeout", exc.message)
                rules = self._rules = UNKNOWN_RULES  # not asked again before every enqueue
        return max(self.timeout, rules.enqueue_timeout_s)

    def _directory(self, name: str) -> str:
        directories = self.options().get("directories")
        value = directories.get(name) if isinstance(directories, dict) else None
        if not isinstance(value, str) or not value:
            raise BadResponse(SERVICE, f"the options do not name the {name} directory")
        return value

    # ---- searches ---------------------------------------------------------------
    def start_search(self, text: str, search_timeout_ms: int = 15000, response_limit: int = 250,
                     file_limit: int = 25000, *, search_id: str | None = None,
                     filter_responses: bool = True, minimum_response_file_count: int = 1,
                     maximum_peer_queue_length: int | None = None,
                     minimum_peer_upload_speed: int = 0) -> SearchHandle:
        """Start a search; ``search_timeout_ms`` is the silence after the last response that ends it.

        The id is made here, so a retry after a lost answer cannot start the search twice.
        """
        if not text or not text.strip():
            raise ValueError("search text must not be blank")
        body: dict[str, Any] = {
            "id": search_id or str(uuid.uuid4()), "searchText": text, "searchTimeout": int(search_timeout_ms),
            "responseLimit": int(response_limit), "fileLimit": int(file_limit),
            "filterResponses": filter_responses, "minimumResponseFileCount": int(minimum_response_file_count),
            "minimumPeerUploadSpeed": int(minimum_peer_upload_speed),
        }
        if maximum_peer_queue_length is not None:
            body["maximumPeerQueueLength"] = int(maximum_peer_queue_length)
        data = self._call("POST", "/searches", json=body, what=f"starting a search for {text!r}")
        return self._search_state(data)

    def search_state(self, search_id: str) -> SearchState:
        """Counts and state of a search (without its responses)."""
        data = self._call("GET", f"/searches/{search_id}", params={"includeResponses": "false"},
                          what="reading a search", missing="that search no longer exists in slskd")
        return self._search_state(data)

    def searches(self) -> list[SearchState]:
        data = self._call("GET", "/searches", what="listing searches")
        if not isinstance(data, list):
            raise BadResponse(SERVICE, "the search list is not a JSON array")
        return [self._search_state(item) for item in data if isinstance(item, dict)]

    def search_responses(self, search_id: str) -> list[dict]:
        """The raw response dicts of a search (empty until ``endedAt`` is set: see :class:`SearchState`)."""
        data = self._call("GET", f"/searches/{search_id}/responses", what="reading search results",
                          missing="that search no longer exists in slskd")
        if not isinstance(data, list):
            raise BadResponse(SERVICE, "the search results are not a JSON array")
        responses = [item for item in data if isinstance(item, dict) and isinstance(item.get("username"), str)
                     and isinstance(item.get("files", []), list)]
        self.skipped_records = len(data) - len(responses)
        return responses

    def stop_search(self, search_id: str) -> None:
        """Stop a queued or running search; its responses become available shortly after.

        Only this frees one of slskd's two search slots: :meth:`delete_search` alone leaves a
        running network search going until its own timeout."""
        self._call("PUT", f"/searches/{search_id}", what="stopping a search", expect_json=False,
                   missing="that search no longer exists in slskd")

    def delete_search(self, search_id: str) -> None:
        """Forget a search's record in slskd (no error if it is already gone); does not stop it."""
        try:
            self._call("DELETE", f"/searches/{search_id}", what="deleting a search", expect_json=False,
                       missing="that search no longer exists in slskd")
        except NotFound:
            pass

    @staticmethod
    def _search_state(data: Any) -> SearchState:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("state"), str):
            raise BadResponse(SERVICE, "a search record is missing its id or state")
        return SearchState(id=data["id"], text=str(data.get("searchText") or ""), state=data["state"],
                           response_count=_int(data.get("responseCount")), file_count=_int(data.get("fileCount")),
                           locked_file_count=_int(data.get("lockedFileCount")),
                           started_at=data.get("startedAt"), ended_at=data.get("endedAt"))

    # ---- transfers ---------------------------------------------------------------
    def enqueue(self, username: str,
                files: Iterable[SearchFile | dict | tuple[str, int]]) -> EnqueueResult:
        """Ask slskd to download ``files`` (remote filename and size, exactly as the search reported
        them) from ``username``. Works with both reply styles (see :class:`EnqueueResult`).

        slskd answers once it has reached the peer, so this waits up to about twice its connect timeout
        (:attr:`DownloadRules.enqueue_timeout_s`) rather than the client's usual timeout."""
        wanted = [_file_ref(f) for f in files]
        if not wanted:
            raise ValueError("nothing to enqueue")
        body = [{"filename": name, "size": size} for name, size in wanted]
        data = self._call("POST", f"/transfers/downloads/{_quote(username)}", json=body, expect_json=None,
                          what=f"enqueueing {len(body)} file(s) from {username}", timeout=self._enqueue_timeout())
        if isinstance(data, dict) and "enqueued" in data:
            enqueued = [t for t in (self._transfer(item) for item in data.get("enqueued") or []) if t is not None]
            # 0.24/0.25 list filenames; 0.26 serializes its (filename, message) tuples as {}
            failed = [f if isinstance(f, str) else f.get("filename") if isinstance(f, dict) else None
                      for f in data.get("failed") or []]
            return EnqueueResult(enqueued, [f for f in failed if isinstance(f, str) and f])
        if data not in (None, "", b""):
            raise BadResponse(SERVICE, "the enqueue reply is neither empty nor an {enqueued, failed} object")
        # slskd < 0.24: nothing in the reply; find the new records in the download list
        names = {name for name, _ in wanted}
        records = [t for t in self.downloads() if t.username == username and t.filename in names]
        newest: dict[str, Transfer] = {}  # an unfinished record wins: it is the one slskd is working on
        for transfer in records:
            if not transfer.state.is_finished or transfer.filename not in newest:
                newest[transfer.filename] = transfer
        return EnqueueResult([newest[n] for n, _ in wanted if n in newest],
                             [n for n, _ in wanted if n not in newest], legacy_reply=True)

    def downloads(self, include_removed: bool = False) -> list[Transfer]:
        """Every download slskd knows about, flattened from its user -> directory -> file listing."""
        data = self._call("GET", "/transfers/downloads", params={"includeRemoved": str(include_removed).lower()},
                          what="listing downloads")
        if not isinstance(data, list):
            raise BadResponse(SERVICE, "the download list is not a JSON array")
        transfers: list[Transfer] = []
        skipped = 0
        for user in data:
            directories = user.get("directories") if isinstance(user, dict) else None
            if not isinstance(directories, list):
                skipped += 1
                continue
            for directory in directories:
                files = directory.get("files") if isinstance(directory, dict) else None
                if not isinstance(files, list):
                    skipped += 1
                    continue
                for item in files:
                    transfer = self._transfer(item)
                    if transfer is None:
                        skipped += 1
                    else:
                        transfers.append(transfer)
        self.skipped_records = skipped
        if skipped:
            log.warning("slskd: skipped %d malformed download record(s)", skipped)
        return transfers

    def transfer(self, username: str, transfer_id: str) -> Transfer:
        """One download by id."""
        data = self._call("GET", f"/transfers/downloads/{_quote(username)}/{transfer_id}",
                          what="reading a download", missing="slskd does not know that download")
        transfer = self._transfer(data)
        if transfer is None:
            raise BadResponse(SERVICE, "the download record is malformed")
        return transfer

    def place_in_queue(self, username: str, transfer_id: str) -> int:
        """Ask the peer for the download's place in its upload queue (slskd records it on the transfer)."""
        data = self._call("GET", f"/transfers/downloads/{_quote(username)}/{transfer_id}/position",
                          what="asking for the place in queue", missing="slskd does not know that download")
        if isinstance(data, bool) or not isinstance(data, int):
            raise BadResponse(SERVICE, "the place in queue is not a number")
        return data

    def cancel(self, username: str, transfer_id: str, remove: bool = False) -> None:
        """Cancel a download (asynchronously in slskd: it turns ``Completed, Cancelled`` a moment later).

        ``remove`` also hides it from the list, which slskd only does for finished downloads: to remove
        an active one, cancel it and call again once it shows as cancelled. Unknown ids are not an error.
        """
        try:
            self._call("DELETE", f"/transfers/downloads/{_quote(username)}/{transfer_id}",
                       params={"remove": str(remove).lower()}, what="cancelling a download", expect_json=False,
                       missing="slskd does not know that download")
        except NotFound:
            pass  # slskd < 0.24 answers 404 for remove=true on an unknown id

    def clear_completed(self) -> None:
        """Hide every finished download (succeeded or failed) from slskd's list."""
        self._call("DELETE", "/transfers/downloads/all/completed", what="clearing finished downloads",
                   expect_json=False)

    @staticmethod
    def _transfer(item: Any) -> Transfer | None:
        if not isinstance(item, dict):
            return None
        tid, username, filename, state = (item.get(k) for k in ("id", "username", "filename", "state"))
        if not all(isinstance(v, str) and v for v in (tid, username, filename, state)):
            return None
        tid, username, filename, state = str(tid), str(username), str(filename), str(state)
        place = item.get("placeInQueue")
        return Transfer(
            id=tid, username=username, filename=filename, size=_int(item.get("size")),
            state=transfer_state_from_slskd(state), raw_state=state,
            bytes_transferred=_int(item.get("bytesTransferred")),
            average_speed=_float(item.get("averageSpeed")), percent_complete=_float(item.get("percentComplete")),
            place_in_queue=place if isinstance(place, int) and not isinstance(place, bool) else None,
            exception=item.get("exception") if isinstance(item.get("exception"), str) else None,
            requested_at=_str_or_none(item.get("requestedAt")), started_at=_str_or_none(item.get("startedAt")),
            ended_at=_str_or_none(item.get("endedAt")), attempts=_attempts(item.get("attempts")),
        )

    # ---- transport -----------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        if self._api_key:
            return {"X-API-Key": self._api_key}
        if self._username and self._password:
            if self._token is None:
                self._login()
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def _login(self) -> None:
        with self._login_lock:
            try:
                resp = self._session.post(f"{self.api_url}/session", json={"username": self._username,
                                                                           "password": self._password},
                                          timeout=self.timeout, headers={"Accept": "application/json"})
            except requests.RequestException as exc:
                raise transport_error(exc, SERVICE, "logging in") from None
            if resp.status_code in (400, 401, 403):
                raise AuthError(SERVICE, "slskd rejected the username or password", f"HTTP {resp.status_code}")
            if resp.status_code == 404:
                raise WrongServer(SERVICE, f"there is no slskd login at {self.api_url}/session; "
                                           "check the address and URL base", "HTTP 404")
            if resp.status_code >= 400:
                raise self._http_error(resp, "logging in", None)
            try:
                token = resp.json().get("token")
            except (ValueError, AttributeError):
                token = None
            if not isinstance(token, str) or not token:
                raise WrongServer(SERVICE, "the login answer holds no token; is this slskd?")
            self._token = token

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`_request`, tried again after a passing failure as :attr:`retries` allows."""
        attempt = 0
        while True:
            try:
                return self._request(method, path, **kwargs)
            except ServiceError as exc:
                safe = method == "GET" or isinstance(exc, RateLimited)
                delay = retry_delay(exc, attempt, self.retry_base_s) if safe and attempt < self.retries else None
                if delay is None:
                    raise
                attempt += 1
                log.info("slskd: %s; try %d of %d in %.1f s", exc.message, attempt + 1, self.retries + 1, delay)
                self._sleep(delay)

    def _request(self, method: str, path: str, *, what: str, json: Any = None, params: dict | None = None,
                 expect_json: bool | None = True, missing: str | None = None, probe: bool = False,
                 timeout: float | None = None) -> Any:
        """One API request with auth, timeout and error translation.

        ``expect_json``: True (a JSON body is required), False (the body is ignored), None (JSON or empty).
        ``missing``: message for a 404 (else the 404 means there is no slskd API here).
        ``probe``: the first call of a connection test; odd answers mean a wrong server.
        ``timeout``: seconds to wait for the answer when not the client's usual :attr:`timeout`.
        """
        url = f"{self.api_url}{path}"
        renewed = False
        while True:
            headers = {"Accept": "application/json", **self._auth_headers()}
            log.debug("slskd: %s %s", method, path)
            try:
                resp = self._session.request(method, url, json=json, params=params, headers=headers,
                                             timeout=timeout or self.timeout)
            except requests.RequestException as exc:
                raise transport_error(exc, SERVICE, what) from None
            if resp.status_code == 401 and self._username and not self._api_key and not renewed:
                self._token = None  # expired or revoked: log in again once
                renewed = True
                continue
            break
        if resp.status_code >= 400:
            raise self._http_error(resp, what, missing)
        if expect_json is False:
            return None
        try:
            body = resp.content
        except requests.RequestException as exc:
            raise transport_error(exc, SERVICE, what) from None
        if not body.strip():
            if expect_json is None:
                return None
            raise (WrongServer if probe else BadResponse)(SERVICE, f"slskd sent an empty answer while {what}")
        try:
            return resp.json()
        except ValueError:
            if "html" in resp.headers.get("Content-Type", "").lower():
                raise WrongServer(SERVICE, f"{self.base_url} answered with a web page instead of the slskd API "
                                           f"while {what}; check the address and URL base",
                                  f"HTTP {resp.status_code} {resp.headers.get('Content-Type', '')}") from None
            raise BadResponse(SERVICE, f"slskd sent an answer that is not valid JSON while {what}",
                              f"HTTP {resp.status_code}, {len(body)} bytes") from None

    def _http_error(self, resp: requests.Response, what: str, missing: str | None) -> ServiceError:
        status = resp.status_code
        message = _error_text(resp)
        detail = f"HTTP {status} while {what}" + (f": {message}" if message else "")
        if status == 401:
            if self._api_key:
                return AuthError(SERVICE, "slskd rejected the API key", detail)
            if self._username:
                return AuthError(SERVICE, "slskd rejected the login (username or password wrong, or the "
                                          "session expired)", detail)
            return AuthError(SERVICE, "slskd needs an API key or a username and password", detail)
        if status == 403:
            return AuthError(SERVICE, "this API key or user may not do that in slskd (403 Forbidden)", detail)
        if status == 404:
            if missing:
                return NotFound(SERVICE, missing, detail)
            return WrongServer(SERVICE, f"there is no slskd API at {self.api_url}; check the address and URL base",
                               detail)
        if status == 409 or (status >= 500 and _NOT_LOGGED_IN.search(message)):
            return NotReady(SERVICE, f"slskd is not logged in to the Soulseek network ({message or 'conflict'})",
                            detail)
        if status == 429:
            retry = resp.headers.get("Retry-After")
            try:
                retry_after = float(retry) if retry else None
            except ValueError:
                retry_after = None
            return RateLimited(SERVICE, "slskd is busy with another request of the same kind; try again shortly",
                               retry_after, detail)
        if status >= 500:
            text = message or f"HTTP {status} {resp.reason or ''}".strip()
            return ServerError(SERVICE, f"slskd failed while {what}: {text}", status, detail)
        if status == 400:
            return Refused(SERVICE, f"slskd refused the request while {what}: {message or 'HTTP 400'}", status,
                           detail)
        return ServerError(SERVICE, f"slskd refused the request while {what}: {message or f'HTTP {status}'}",
                           status, detail)


# ---- helpers ---------------------------------------------------------------------------

def _quote(username: str) -> str:
    return quote(username, safe="")


def _file_ref(item: SearchFile | dict | tuple[str, int]) -> tuple[str, int]:
    if isinstance(item, SearchFile):
        return item.filename, int(item.size)
    if isinstance(item, dict):
        name, size = item.get("filename"), item.get("size")
    else:
        name, size = item
    if not isinstance(name, str) or not name:
        raise ValueError("every file needs its remote filename")
    return name, int(size or 0)


def _error_text(resp: requests.Response) -> str:
    """slskd's error message: a JSON string, plain text, or the title of a proxy's HTML page."""
    try:
        raw = resp.content
    except requests.RequestException:
        return ""
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return ""
    if "html" in resp.headers.get("Content-Type", "").lower() or text.lstrip().startswith("<"):
        title = _HTML_TITLE.search(text)
        return title.group(1) if title else ""
    try:
        data = resp.json()
    except ValueError:
        return text[:300]
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("message", "error", "title", "detail"):
            if isinstance(data.get(key), str):
                return data[key]
    return text[:300]


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    return 0


def _float(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _attempts(value: Any) -> int | None:
    """A transfer's ``attempts``: 0.26+ counts from 1; 0.25 always says 0, which means nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _number(tree: Any, *keys: str, most: float) -> float | None:
    """The number at ``keys`` in an options tree, at most ``most`` (untrusted: odd values give None)."""
    for key in keys:
        tree = tree.get(key) if isinstance(tree, dict) else None
    if isinstance(tree, bool) or not isinstance(tree, (int, float)) or not math.isfinite(tree) or tree < 0:
        return None
    return min(float(tree), most)


def _download_rules(options: dict) -> DownloadRules:
    """The download rules in slskd's options tree; missing settings are those of the versions without
    them (0.24/0.25: last remote folder, no retries), odd values slskd's defaults."""
    defaults = DownloadRules()
    transfers = options.get("transfers")
    download = transfers.get("download") if isinstance(transfers, dict) else None
    download = download if isinstance(download, dict) else {}
    destination = download.get("destination")
    pattern = destination.get("subdirectory") if isinstance(destination, dict) else None
    attempts = _number(download, "retry", "attempts", most=100)
    delay_ms = _number(download, "retry", "delay", most=3_600_000)
    max_delay_ms = _number(download, "retry", "maxDelay", most=3_600_000)
    connect_ms = _number(options, "soulseek", "connection", "timeout", "connect", most=120_000)
    return DownloadRules(
        destination=(pattern.strip() or "{}") if isinstance(pattern, str) else None,
        retry_attempts=max(1, int(attempts)) if attempts is not None else (
            DEFAULT_RETRY_ATTEMPTS if isinstance(download.get("retry"), dict) else defaults.retry_attempts),
        retry_delay_s=delay_ms / 1000 if delay_ms is not None else defaults.retry_delay_s,
        retry_max_delay_s=max_delay_ms / 1000 if max_delay_ms is not None else defaults.retry_max_delay_s,
        connect_timeout_s=connect_ms / 1000 if connect_ms else defaults.connect_timeout_s,
    )

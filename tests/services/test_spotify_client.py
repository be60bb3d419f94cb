"""SpotifyAuth and SpotifyClient against the Spotify simulation over loopback HTTP."""
from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from soulsync.services import errors
from soulsync.services.spotify import SpotifyClient
from soulsync.services.spotify_auth import (
    Cancelled,
    SignInTimeout,
    SpotifyAuth,
    make_pkce_pair,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _consenting_browser(url: str) -> None:
    """An auto-consent browser: open the URL and follow the redirect into the listener."""
    requests.get(url, timeout=5)


def _auth(sim, **kwargs) -> tuple[SpotifyAuth, list[dict]]:
    stored: list[dict] = []
    redirect_uri = f"http://127.0.0.1:{_free_port()}/callback"
    sim.register_redirect_uri(redirect_uri)  # as the user does in the Developer Dashboard
    auth = SpotifyAuth(sim.client_id, redirect_uri, accounts_base=sim.url, on_tokens=stored.append, **kwargs)
    return auth, stored


@pytest.fixture
def connected(spotify_sim):
    auth, stored = _auth(spotify_sim)
    auth.authorize(open_browser=_consenting_browser, timeout=10)
    return auth, stored


def _client(sim, auth=None, **kwargs) -> tuple[SpotifyClient, list[float]]:
    slept: list[float] = []
    token = None if auth else sim.issue_token()
    client = SpotifyClient(auth, api_base=sim.api_url, access_token=token, timeout=1.0, sleep=slept.append,
                           **kwargs)
    return client, slept


# ---------------------------------------------------------------- sign-in
def test_pkce_sign_in_hands_tokens_to_the_callback_and_hides_them(spotify_sim, connected):
    auth, stored = connected
    assert len(stored) == 1 and stored[0]["refresh_token"] and "playlist-read-private" in stored[0]["scope"]
    assert stored[0]["access_token"] not in repr(auth.tokens) and stored[0]["access_token"] not in repr(auth)
    client, _ = _client(spotify_sim, auth)
    user = client.current_user()
    assert (user.id, user.display_name, user.get("display_name")) == ("demouser", "Demo User", "Demo User")


def test_confidential_client_uses_its_secret(spotify_sim):
    auth, stored = _auth(spotify_sim, client_secret=spotify_sim.client_secret)
    auth.authorize(open_browser=_consenting_browser, timeout=10)
    first_refresh = stored[-1]["refresh_token"]
    auth.refresh()
    assert stored[-1]["refresh_token"] == first_refresh  # not rotated for confidential clients
    wrong, _ = _auth(spotify_sim, client_secret="not-the-secret")
    with pytest.raises(errors.AuthError, match="client ID or secret"):
        wrong.authorize(open_browser=_consenting_browser, timeout=10)


def test_state_mismatch_is_rejected(spotify_sim):
    auth, stored = _auth(spotify_sim)

    def tampering_browser(url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = "forged"
        page = requests.get(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}", timeout=5)
        assert page.status_code == 400 and "did not belong" in page.text

    with pytest.raises(errors.AuthError, match="state mismatch"):
        auth.authorize(open_browser=tampering_browser, timeout=10)
    assert stored == [] and not auth.connected


def test_denied_consent_and_listener_behaviour(spotify_sim):
    spotify_sim.deny_consent = True
    auth, _ = _auth(spotify_sim)
    with pytest.raises(errors.AuthError, match="declined"):
        auth.authorize(open_browser=_consenting_browser, timeout=10)

    port = int(urlsplit(auth.redirect_uri).port or 0)

    def wandering_browser(url: str) -> None:
        assert requests.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=5).status_code == 404

    with pytest.raises(SignInTimeout):  # the favicon did not end the wait; nobody came back
        auth.authorize(open_browser=wandering_browser, timeout=0.5)
    with pytest.raises(Cancelled):
        auth.authorize(open_browser=lambda url: None, cancelled=lambda: True, timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):  # the one-shot listener is gone
        requests.get(f"http://127.0.0.1:{port}/callback", timeout=2)


def test_invalid_grant_for_a_bad_code_and_a_revoked_refresh_token(spotify_sim, connected):
    auth, _ = connected
    other, _ = _auth(spotify_sim)
    with pytest.raises(errors.AuthError, match="did not accept the authorization"):
        other.exchange_code("AQnot-a-real-code", make_pkce_pair()[0])
    spotify_sim.revoke_refresh_tokens()
    with pytest.raises(errors.AuthError, match="sign in again"):
        auth.refresh()


@pytest.mark.parametrize("uri", ["https://example.com/callback", "http://localhost:8888/callback",
                                 "http://127.0.0.1/callback"])
def test_redirect_uri_must_be_a_loopback_literal_with_a_port(spotify_sim, uri):
    auth = SpotifyAuth(spotify_sim.client_id, uri, accounts_base=spotify_sim.url)
    opened: list[str] = []
    with pytest.raises(errors.ServiceError, match="redirect URI"):
        auth.authorize(open_browser=opened.append, timeout=1)
    assert opened == []  # refused before the browser opens


def test_an_unregistered_redirect_uri_ends_in_words_that_point_at_the_dashboard(spotify_sim):
    """Spotify shows an error page and never redirects (reference 2.2): the wait ends with advice."""
    uri = f"http://127.0.0.1:{_free_port()}/callback"  # not registered
    auth = SpotifyAuth(spotify_sim.client_id, uri, accounts_base=spotify_sim.url)
    pages: list[requests.Response] = []
    waiting: list[str] = []
    with pytest.raises(SignInTimeout) as err:
        auth.authorize(open_browser=lambda url: pages.append(requests.get(url, timeout=5)), timeout=0.5,
                       on_waiting=waiting.append)
    assert [p.status_code for p in pages] == [400] and "INVALID_CLIENT: Invalid redirect URI" in pages[0].text
    assert waiting == [pages[0].url]
    message = err.value.message
    assert "within 0 s" not in message and "Spotify Developer Dashboard" in message and f"exactly {uri}" in message
    assert not auth.connected


def test_a_port_less_loopback_registration_accepts_the_port_of_the_app(spotify_sim):
    spotify_sim.register_redirect_uri("http://127.0.0.1/callback")
    auth = SpotifyAuth(spotify_sim.client_id, f"http://127.0.0.1:{_free_port()}/callback",
                       accounts_base=spotify_sim.url)
    auth.authorize(open_browser=_consenting_browser, timeout=10)
    assert auth.connected


@pytest.mark.parametrize("uri, words", [
    ("", "Enter a redirect URI"),
    ("http://localhost:8888/callback", "refuses “localhost”"),
    ("http://LOCALHOST:8888/callback", "refuses “localhost”"),
    ("http://192.168.1.5:8888/callback", "plain http only for 127.0.0.1 and [::1]"),
    ("https://soulsync.example/callback", "receives the sign-in on this computer"),
    ("https://127.0.0.1:8888/callback", "Use http://"),
    ("http://127.0.0.1/callback", "Add a port"),
    ("ftp://127.0.0.1:8888/callback", "web address"),
    ("http://127.0.0.1:99999/callback", "not a valid address"),
])
def test_redirect_uri_problems_are_told_in_words(uri, words):
    from soulsync.services.spotify_auth import redirect_uri_problem

    assert words in redirect_uri_problem(uri)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8888/callback", "http://[::1]:43210/cb"])
def test_loopback_literals_with_a_port_are_fine(uri):
    from soulsync.services.spotify_auth import redirect_uri_problem

    assert redirect_uri_problem(uri) == ""


# ---------------------------------------------------------------- API
def test_playlists_and_items_through_several_pages(spotify_sim, catalog_3k, connected):
    client, _ = _client(spotify_sim, connected[0], page_size=3)
    progress: list[tuple[int, int]] = []
    playlists = client.playlists(progress=lambda done, total: progress.append((done, total)))
    assert [p.id for p in playlists] == [p.id for p in catalog_3k.playlists]
    assert progress[-1] == (len(playlists), len(playlists)) and len(progress) >= 4
    collab = next(p for p in playlists if p.collaborative)
    assert collab.owner == "Marta Kowalska" and collab.public is False
    assert playlists[0].image_url and playlists[0].snapshot_id
    odd = catalog_3k.playlists[1]
    client, _ = _client(spotify_sim, connected[0], page_size=20)
    contents = client.playlist_tracks(odd.id)
    assert [t.spotify_id for t in contents.tracks] == [t.spotify_id for t in odd.tracks]
    assert (contents.local, contents.unavailable, contents.episodes, contents.total) == (1, 1, 1, len(odd.tracks) + 3)
    first = contents.tracks[0]
    assert first.isrc == odd.tracks[0].isrc and first.album == odd.tracks[0].album and first.year
    liked = client.liked_tracks()
    assert [t.spotify_id for t in liked] == [t.spotify_id for t in catalog_3k.liked]
    assert client.liked_summary().track_count == len(catalog_3k.liked)


def test_expired_token_is_refreshed_once_and_stored(spotify_sim, connected):
    auth, stored = connected
    client, _ = _client(spotify_sim, auth)
    spotify_sim.expire_tokens()  # the server says expired although our clock does not know yet
    assert client.current_user().id == "demouser"
    assert len(stored) == 2 and stored[1]["refresh_token"] != stored[0]["refresh_token"]


def test_catalogue_calls(spotify_sim, catalog_3k):
    client, _ = _client(spotify_sim)
    with pytest.raises(ValueError):
        client.search_tracks("love", limit=11)
    target = catalog_3k.tracks[40]
    found = client.search_tracks(f'track:"{target.title}" artist:"{target.artists[0]}"')
    assert target.spotify_id in [t.spotify_id for t in found]
    assert client.search_artists(catalog_3k.artists[0].name, limit=3)[0].spotify_id == catalog_3k.artists[0].spotify_id
    assert client.search_albums(catalog_3k.albums[0].title, limit=10)
    album = max(catalog_3k.albums, key=lambda a: a.disc_total)
    fetched = client.album(album.spotify_id)
    assert [t.spotify_id for t in fetched.tracks] == [t.spotify_id for t in album.tracks]
    assert fetched.tracks[-1].disc_number == album.disc_total and fetched.tracks[0].album == album.title
    busy = max(catalog_3k.artists, key=lambda a: a.album_count)
    releases = client.artist_albums(busy.spotify_id, include_groups=("album", "single", "compilation", "appears_on"))
    assert len(releases) == busy.album_count > 10
    assert client.artist(busy.spotify_id).genres == busy.genres


def test_another_users_playlist_is_unreadable_and_says_what_to_do(spotify_sim, catalog_3k):
    followed = next(p for p in catalog_3k.playlists if p.owner == "marta.k" and not p.collaborative)
    client, _ = _client(spotify_sim)
    with pytest.raises(errors.PlaylistUnreadable) as err:
        client.playlist_tracks(followed.id)
    text = err.value.message
    assert "only playlists you own or collaborate on" in text
    assert "copy its songs into a playlist of your own" in text and "Import CSV / M3U" in text
    with pytest.raises(errors.NotFound):
        client.album("0000000000000000000000")


def test_spotify_owned_playlist_is_unreadable_and_says_what_to_do(spotify_sim, catalog_3k):
    client, _ = _client(spotify_sim)
    for owned in (p for p in catalog_3k.playlists if p.owner == "spotify"):
        with pytest.raises(errors.PlaylistUnreadable) as err:
            client.playlist_tracks(owned.id)
        assert "its own playlists" in err.value.message and "Import CSV / M3U" in err.value.message


def test_an_unknown_playlist_is_still_not_found(spotify_sim):
    client, _ = _client(spotify_sim)
    with pytest.raises(errors.NotFound) as err:
        client.playlist_tracks("0000000000000000000000")
    assert not isinstance(err.value, errors.PlaylistUnreadable)


def test_development_mode_answers_fill_every_field_the_app_shows(spotify_sim, catalog_3k):
    """The playlist list reads "items" (no "tracks" alias is sent) and entries read "item" (no "track")."""
    client, _ = _client(spotify_sim)
    listed = {p.id: p for p in client.playlists()}
    for playlist in catalog_3k.playlists:
        assert listed[playlist.id].track_count == spotify_sim.playlist_total(playlist.id)
    odd = catalog_3k.playlists[1]
    contents = client.playlist_tracks(odd.id)
    assert [t.spotify_id for t in contents.tracks] == [t.spotify_id for t in odd.tracks]
    user = client.current_user()
    assert user.display_name == "Demo User" and not hasattr(user, "country")


def test_extended_quota_answers_are_read_through_the_old_names(catalog_3k):
    from soulsync.sim.spotify import SpotifySim

    sim = SpotifySim(catalog_3k, quota="extended").start()
    try:
        client, _ = _client(sim)
        listed = {p.id: p for p in client.playlists()}
        odd = catalog_3k.playlists[1]
        assert listed[odd.id].track_count == sim.playlist_total(odd.id)
        contents = client.playlist_tracks(odd.id)
        assert [t.spotify_id for t in contents.tracks] == [t.spotify_id for t in odd.tracks]
        assert (contents.local, contents.unavailable, contents.episodes) == (1, 1, 1)
    finally:
        sim.stop()


def test_a_playlist_without_a_count_has_an_unknown_count_not_zero(spotify_sim):
    from soulsync.services.spotify import _playlist

    assert _playlist({"id": "abc", "name": "Followed", "owner": {"id": "x"}}).track_count is None
    assert _playlist({"id": "abc", "name": "Followed", "items": {"href": "h"}}).track_count is None
    assert _playlist({"id": "abc", "name": "Empty", "items": {"total": 0}}).track_count == 0
    assert _playlist({"id": "abc", "name": "Old", "tracks": {"total": 7}}).track_count == 7


def test_create_playlist_and_add_tracks(spotify_sim, catalog_3k):
    client, _ = _client(spotify_sim)
    created = client.create_playlist("Mirror & more", description="x < y")
    ids = [t.spotify_id or "" for t in catalog_3k.tracks[:130]]
    snapshot = client.add_tracks(created.id, ids)
    assert snapshot and snapshot != created.snapshot_id
    assert spotify_sim.playlist_track_ids(created.id) == ids
    assert created.description == "x < y" and created.public is False


# ---------------------------------------------------------------- faults
def test_429_waits_retry_after_then_succeeds(spotify_sim):
    client, slept = _client(spotify_sim)
    spotify_sim.faults.add("status", status=429, retry_after=1, match="/v1/me", count=2)
    assert client.current_user().id == "demouser"
    assert sum(slept) == pytest.approx(2.0)


def test_429_with_a_long_retry_after_is_raised(spotify_sim):
    client, slept = _client(spotify_sim, max_wait=5)
    spotify_sim.faults.add("status", status=429, retry_after=600, match="/v1/me")
    with pytest.raises(errors.RateLimited) as err:
        client.current_user()
    assert err.value.retry_after == 600 and slept == []


def test_5xx_is_retried_with_backoff_then_reported_with_its_real_status(spotify_sim):
    client, slept = _client(spotify_sim, max_retries=3, backoff=0.5)
    spotify_sim.faults.add("status", status=502, match="/v1/me", count=2)
    assert client.current_user().id == "demouser" and sum(slept) == pytest.approx(0.5 + 1.0)
    spotify_sim.faults.add("status", status=503, match="/v1/me")
    with pytest.raises(errors.ServerError) as err:
        client.current_user()
    assert err.value.status == 503


def test_cancel_stops_a_retry_wait(spotify_sim):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    client, _ = _client(spotify_sim, cancel=cancel)
    spotify_sim.faults.add("status", status=429, retry_after=30, match="/v1/me")
    with pytest.raises(Cancelled):
        client.current_user()


@pytest.mark.parametrize("kind, params, expected", [
    ("latency", {"seconds": 2.0}, errors.ServiceTimeout),
    ("reset", {}, errors.Unreachable),
    ("truncate", {}, errors.BadResponse),
    ("malformed", {}, errors.BadResponse),
    ("status", {"status": 401}, errors.AuthError),
])
def test_faults_become_project_exceptions(spotify_sim, kind, params, expected):
    client, _ = _client(spotify_sim)
    spotify_sim.faults.add(kind, match="/v1/me", count=1, **params)
    with pytest.raises(expected):
        client.current_user()


def test_unreachable_server_and_token_endpoint(spotify_sim, connected):
    auth, stored = connected
    spotify_sim.faults.add("status", status=503, match="/api/token", count=1)
    with pytest.raises(errors.ServerError):
        auth.refresh()
    base, api = spotify_sim.url, spotify_sim.api_url
    spotify_sim.stop()
    # a fresh session: SimServer.stop() refuses new connections but lets open keep-alive ones finish
    later = SpotifyAuth(spotify_sim.client_id, auth.redirect_uri, accounts_base=base,
                        refresh_token=stored[-1]["refresh_token"], timeout=1)
    with pytest.raises(errors.Unreachable):
        later.get_access_token()
    with pytest.raises(errors.Unreachable):
        SpotifyClient(access_token="x", api_base=api, timeout=1).current_user()

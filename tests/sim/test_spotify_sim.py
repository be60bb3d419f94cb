"""The Spotify simulation driven by the real spotipy (and requests) over loopback HTTP."""
from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import spotipy
from PIL import Image
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyOAuth, SpotifyOauthError, SpotifyPKCE

from soulsync.sim.spotify import DEFAULT_REDIRECT_URI, SpotifySim

REDIRECT = DEFAULT_REDIRECT_URI
SCOPE = "playlist-read-private user-library-read"


def _api(sim: SpotifySim, token: str | None = None) -> spotipy.Spotify:
    sp = spotipy.Spotify(auth=token or sim.issue_token(), requests_timeout=5, retries=0, status_retries=0,
                         status_forcelist=(599,))
    sp.prefix = sim.api_url
    return sp


def _consent(url: str) -> dict[str, str]:
    """What a browser would do: open the authorize URL and read the redirect it gets."""
    resp = requests.get(url, allow_redirects=False, timeout=5)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _oauth(sim: SpotifySim) -> SpotifyOAuth:
    oauth = SpotifyOAuth(sim.client_id, sim.client_secret, REDIRECT, scope=SCOPE, open_browser=False,
                         cache_handler=MemoryCacheHandler(), requests_timeout=5)
    oauth.OAUTH_AUTHORIZE_URL = f"{sim.url}/authorize"
    oauth.OAUTH_TOKEN_URL = f"{sim.url}/api/token"
    return oauth


def _pkce(sim: SpotifySim) -> SpotifyPKCE:
    pkce = SpotifyPKCE(sim.client_id, REDIRECT, scope=SCOPE, open_browser=False,
                       cache_handler=MemoryCacheHandler(), requests_timeout=5)
    pkce.OAUTH_AUTHORIZE_URL = f"{sim.url}/authorize"
    pkce.OAUTH_TOKEN_URL = f"{sim.url}/api/token"
    return pkce


# ---------------------------------------------------------------- accounts
def test_authorization_code_flow_with_spotipy(spotify_sim):
    oauth = _oauth(spotify_sim)
    reply = _consent(oauth.get_authorize_url(state="xyz"))
    assert reply["state"] == "xyz"
    oauth.get_access_token(reply["code"], as_dict=False, check_cache=False)
    token = oauth.cache_handler.get_cached_token()
    assert token["scope"] == SCOPE and token["expires_in"] == 3600 and token["refresh_token"]
    assert _api(spotify_sim, token["access_token"]).me()["id"] == spotify_sim.user_id
    refreshed = oauth.refresh_access_token(token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == token["refresh_token"]  # confidential clients keep theirs
    assert _api(spotify_sim, refreshed["access_token"]).me()["display_name"] == "Demo User"


def test_pkce_flow_returns_scope_and_rotates_refresh_tokens(spotify_sim):
    pkce = _pkce(spotify_sim)
    reply = _consent(pkce.get_authorize_url(state="s1"))
    access = pkce.get_access_token(reply["code"], check_cache=False)
    cached = pkce.cache_handler.get_cached_token()
    assert cached["scope"] == SCOPE and pkce.validate_token(cached) is not None
    assert _api(spotify_sim, access).me()["id"] == spotify_sim.user_id
    refreshed = pkce.refresh_access_token(cached["refresh_token"])
    assert refreshed["refresh_token"] != cached["refresh_token"]
    with pytest.raises(SpotifyOauthError) as err:
        pkce.refresh_access_token(cached["refresh_token"])  # the old one was rotated away
    assert err.value.error == "invalid_grant"


def test_pkce_rejects_a_wrong_verifier_and_reused_codes(spotify_sim):
    pkce = _pkce(spotify_sim)
    reply = _consent(pkce.get_authorize_url())
    good_verifier = pkce.code_verifier
    pkce.code_verifier = "x" * 50
    with pytest.raises(SpotifyOauthError) as err:
        pkce.get_access_token(reply["code"], check_cache=False)
    assert (err.value.error, err.value.error_description) == ("invalid_grant", "code_verifier was incorrect")
    pkce.code_verifier = good_verifier
    with pytest.raises(SpotifyOauthError) as err:  # codes are single-use, even after a failed attempt
        pkce.get_access_token(reply["code"], check_cache=False)
    assert err.value.error == "invalid_grant"


def test_token_endpoint_errors(spotify_sim):
    url = f"{spotify_sim.url}/api/token"
    bad_secret = requests.post(url, data={"grant_type": "refresh_token", "refresh_token": "x"},
                               auth=(spotify_sim.client_id, "nope"), timeout=5)
    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    bad_grant = requests.post(url, data={"grant_type": "authorization_code", "code": "nope",
                                         "redirect_uri": REDIRECT},
                              auth=(spotify_sim.client_id, spotify_sim.client_secret), timeout=5)
    assert bad_grant.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    unknown = requests.post(url, data={"grant_type": "password"}, auth=(spotify_sim.client_id,
                                                                        spotify_sim.client_secret), timeout=5)
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_authorize_refuses_unknown_clients_and_can_deny(spotify_sim):
    base = f"{spotify_sim.url}/authorize"
    unknown = requests.get(base, params={"client_id": "nobody", "response_type": "code", "redirect_uri": REDIRECT},
                           allow_redirects=False, timeout=5)
    assert unknown.status_code == 400 and "INVALID_CLIENT" in unknown.text
    spotify_sim.deny_consent = True
    reply = _consent(f"{base}?client_id={spotify_sim.client_id}&response_type=code&redirect_uri={REDIRECT}&state=q")
    assert reply == {"error": "access_denied", "state": "q"}


def test_expired_and_invalid_tokens_get_401_bodies(catalog_3k):
    now = [1000.0]
    sim = SpotifySim(catalog_3k, token_lifetime=60, clock=lambda: now[0]).start()
    try:
        sp = _api(sim)
        assert sp.me()["id"]
        now[0] += 61
        with pytest.raises(spotipy.SpotifyException) as err:
            sp.me()
        assert err.value.http_status == 401 and "The access token expired" in err.value.msg
        raw = requests.get(f"{sim.api_url}me", headers={"Authorization": "Bearer bogus"}, timeout=5)
        assert raw.status_code == 401
        assert raw.json() == {"error": {"status": 401, "message": "Invalid access token"}}
        assert raw.headers["WWW-Authenticate"].startswith("Bearer")
    finally:
        sim.stop()


# ---------------------------------------------------------------- Web API
def test_playlists_page_through_absolute_next_urls(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    page = sp.current_user_playlists(limit=3)
    assert page["next"].startswith(f"{spotify_sim.url}/v1/me/playlists?")
    seen, pages = [], 0
    while page:
        pages += 1
        for p in page["items"]:
            seen.append(p["id"])
            assert isinstance(p["items"]["total"], int) and "tracks" not in p  # renamed, no alias
            assert p["owner"]["id"] and p["snapshot_id"]
        page = sp.next(page) if page["next"] else None
    assert pages >= 4
    assert seen == [p.id for p in catalog_3k.playlists]
    empty = next(p for p in catalog_3k.playlists if not p.tracks)
    assert sp.playlist(empty.id)["images"] is None  # as Spotify does for a playlist without a cover


def test_playlist_items_pages_with_item_only_and_odd_entries(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    playlist = catalog_3k.playlists[1]
    page = sp.playlist_items(playlist.id, limit=20)
    entries, pages = [], 0
    while page:
        pages += 1
        entries.extend(page["items"])
        page = sp.next(page) if page["next"] else None
    assert pages >= 2 and len(entries) == spotify_sim.playlist_total(playlist.id) == len(playlist.tracks) + 3
    assert all("item" in e and "track" not in e for e in entries)  # development mode: no "track" alias
    kinds = [("local" if e["is_local"] else "null" if e["item"] is None else e["item"]["type"]) for e in entries]
    assert kinds.count("local") == kinds.count("null") == kinds.count("episode") == 1
    ids = [e["item"]["id"] for e in entries if e["item"] and e["item"]["type"] == "track" and not e["is_local"]]
    assert ids == [t.spotify_id for t in playlist.tracks]
    track = next(e["item"] for e in entries if e["item"] and e["item"]["type"] == "track" and e["item"]["id"])
    assert track["external_ids"]["isrc"] and track["album"]["images"][0]["url"].startswith(spotify_sim.url)


def test_followed_playlist_gives_metadata_without_items_and_its_items_are_forbidden(spotify_sim, catalog_3k):
    followed = next(p for p in catalog_3k.playlists if p.owner not in (catalog_3k.user_id, "spotify")
                    and not p.collaborative)
    sp = _api(spotify_sim)
    meta = sp.playlist(followed.id)
    assert meta["name"] == followed.name and "items" not in meta and "tracks" not in meta
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.playlist_items(followed.id)
    assert err.value.http_status == 403 and "Forbidden" in err.value.msg
    collaborative = next(p for p in catalog_3k.playlists if p.collaborative)
    assert sp.playlist_items(collaborative.id, limit=5)["total"] == len(collaborative.tracks)


def test_scopes_limit_what_a_token_sees(spotify_sim, catalog_3k):
    sp = _api(spotify_sim, spotify_sim.issue_token(scope=["user-read-private"]))
    names = {p["name"] for p in sp.current_user_playlists(limit=50)["items"]}
    private = {p.name for p in catalog_3k.playlists if p.public is False}
    assert names and not names & private
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.current_user_saved_tracks()
    assert err.value.http_status == 403


def test_saved_tracks_page(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    page = sp.current_user_saved_tracks(limit=50)
    assert page["total"] == len(catalog_3k.liked)
    assert [i["track"]["id"] for i in page["items"]] == [t.spotify_id for t in catalog_3k.liked[:50]]
    assert page["items"][0]["added_at"] > page["items"][1]["added_at"]


def test_search_honours_limits_and_field_filters(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.search("love", limit=11)
    assert err.value.http_status == 400
    target = next(t for t in catalog_3k.tracks if t.artists[0].isascii() and " " in t.title)
    found = sp.search(f'track:"{target.title}" artist:"{target.artists[0]}"', limit=10)["tracks"]
    assert target.spotify_id in [t["id"] for t in found["items"]]
    page = sp.search("the", limit=10, type="track,artist")
    assert page["tracks"]["total"] > 10 and page["tracks"]["next"]
    second = sp.next(page["tracks"])
    assert second["tracks"]["offset"] == 10
    assert sp.track(second["tracks"]["items"][0]["id"])["id"]  # ids pass spotipy's base-62 check
    accentless = next(a for a in catalog_3k.artists if "ø" in a.name)
    hits = sp.search(accentless.name.replace("ø", "o"), type="artist", limit=5)["artists"]["items"]
    assert accentless.spotify_id in [a["id"] for a in hits]


def test_albums_and_artists(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    album = max(catalog_3k.albums, key=lambda a: len(a.tracks))
    data = sp.album(album.spotify_id)
    assert data["name"] == album.title and data["tracks"]["total"] == len(album.tracks)
    first = sp.album_tracks(album.spotify_id, limit=5)
    assert len(first["items"]) == 5 and first["next"].startswith(spotify_sim.url)
    assert first["next"].split("?")[0].endswith(f"/albums/{album.spotify_id}/tracks")
    artist = max(catalog_3k.artists, key=lambda a: a.album_count)
    assert sp.artist(artist.spotify_id)["genres"] == artist.genres
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.artist_albums(artist.spotify_id)  # spotipy's default limit=20 is over the 2026 maximum
    assert err.value.http_status == 400
    page = sp.artist_albums(artist.spotify_id, limit=10, include_groups="single")
    assert page["items"] and {a["album_type"] for a in page["items"]} == {"single"}
    everything = sp.artist_albums(artist.spotify_id, limit=10, include_groups="album,single,compilation,appears_on")
    assert everything["total"] == artist.album_count
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.album("0000000000000000000000")
    assert err.value.http_status == 404


def test_create_playlist_and_add_items(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    created = sp.current_user_playlist_create("Made by a test", public=False, description="a & b")
    assert created["owner"]["id"] == spotify_sim.user_id and created["description"] == "a &amp; b"
    ids = [t.spotify_id for t in catalog_3k.tracks[:3]]
    snapshot = sp.playlist_add_items(created["id"], [f"spotify:track:{i}" for i in ids])["snapshot_id"]
    assert snapshot != created["snapshot_id"]
    raw = requests.post(f"{spotify_sim.api_url}playlists/{created['id']}/items",
                        json={"uris": [f"spotify:track:{catalog_3k.tracks[9].spotify_id}"], "position": 0},
                        headers={"Authorization": f"Bearer {spotify_sim.issue_token()}"}, timeout=5)
    assert raw.status_code == 201
    assert spotify_sim.playlist_track_ids(created["id"]) == [catalog_3k.tracks[9].spotify_id] + ids
    assert sp.current_user_playlists(limit=1)["items"][0]["id"] == created["id"]


def test_error_bodies_and_injected_faults(spotify_sim):
    token = spotify_sim.issue_token()
    headers = {"Authorization": f"Bearer {token}"}
    control = requests.post(f"{spotify_sim.url}/__sim/faults",
                            json=[{"kind": "status", "status": 429, "retry_after": 2, "match": "/v1/me", "count": 1}],
                            timeout=5)
    assert control.status_code == 200
    limited = requests.get(f"{spotify_sim.api_url}me", headers=headers, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}
    assert requests.get(f"{spotify_sim.api_url}me", headers=headers, timeout=5).status_code == 200
    unknown = requests.get(f"{spotify_sim.api_url}nothing/here", headers=headers, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == 404
    bad_id = requests.get(f"{spotify_sim.api_url}albums/not-base62", headers=headers, timeout=5)
    assert bad_id.status_code == 400


def test_cover_images_are_jpegs_in_three_sizes(spotify_sim, catalog_3k):
    album = catalog_3k.albums[0]
    sizes = []
    for url in (i["url"] for i in _api(spotify_sim).album(album.spotify_id)["images"]):
        resp = requests.get(url, timeout=5)
        assert resp.headers["Content-Type"] == "image/jpeg"
        sizes.append(Image.open(io.BytesIO(resp.content)).size)
    assert sizes == [(640, 640), (300, 300), (64, 64)]
    again = requests.get(f"{spotify_sim.url}{album.image_url}", timeout=5).content
    assert again == requests.get(f"{spotify_sim.url}{album.image_url}", timeout=5).content


# ---------------------------------------------------------------- development mode (reference 2.4, 2.5)
def _raw(sim: SpotifySim, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{sim.api_url}{path}", headers={"Authorization": f"Bearer {sim.issue_token()}"},
                            timeout=5, **kwargs)


def test_development_mode_leaves_out_the_removed_fields_and_keeps_isrc(spotify_sim, catalog_3k):
    sp = _api(spotify_sim)
    me = sp.me()
    assert me["id"] == spotify_sim.user_id and me["account_id"]
    assert not {"country", "email", "product", "explicit_content", "followers"} & set(me)
    track = sp.track(catalog_3k.tracks[0].spotify_id)
    assert not {"popularity", "available_markets", "linked_from"} & set(track)
    assert track["external_ids"]["isrc"] == catalog_3k.tracks[0].isrc
    assert "available_markets" not in track["album"]
    album = sp.album(catalog_3k.albums[0].spotify_id)
    assert not {"label", "popularity", "available_markets", "album_group"} & set(album)
    assert album["external_ids"]["upc"] and album["album_type"]
    artist = sp.artist(catalog_3k.artists[0].spotify_id)
    assert not {"followers", "popularity"} & set(artist)
    releases = sp.artist_albums(catalog_3k.artists[0].spotify_id, limit=10)["items"]
    assert releases and all("album_group" not in a for a in releases)
    local = next(e["item"] for e in sp.playlist_items(catalog_3k.playlists[1].id, limit=50)["items"] if e["is_local"])
    assert not {"popularity", "available_markets"} & set(local)


def test_spotify_owned_playlists_are_not_found(spotify_sim, catalog_3k):
    owned_by_spotify = [p for p in catalog_3k.playlists if p.owner == "spotify"]
    assert len(owned_by_spotify) >= 2 and all(p.id.startswith("37i9dQZF") for p in owned_by_spotify)
    listed = [p["id"] for p in _api(spotify_sim).current_user_playlists(limit=50)["items"]]
    assert {p.id for p in owned_by_spotify} <= set(listed)  # followed, so listed; but not readable
    for p in owned_by_spotify:
        for path in (f"playlists/{p.id}", f"playlists/{p.id}/items"):
            resp = _raw(spotify_sim, "GET", path)
            assert resp.status_code == 404
            assert resp.json() == {"error": {"status": 404, "message": "Resource not found"}}


@pytest.mark.parametrize("path, params", [
    ("search", {"q": "the", "type": "track", "limit": 11}),
    ("search", {"q": "the", "type": "album", "limit": 50}),
    ("artists/{artist}/albums", {"limit": 11}),
])
def test_limits_over_ten_are_invalid(spotify_sim, catalog_3k, path, params):
    resp = _raw(spotify_sim, "GET", path.format(artist=catalog_3k.artists[0].spotify_id), params=params)
    assert resp.status_code == 400 and resp.json() == {"error": {"status": 400, "message": "Invalid limit"}}


@pytest.mark.parametrize("method, path", [
    ("GET", "tracks?ids={track}"), ("GET", "albums?ids={album}"), ("GET", "artists?ids={artist}"),
    ("GET", "playlists/{playlist}/tracks"), ("POST", "playlists/{playlist}/tracks"),
    ("POST", "users/demouser/playlists"), ("GET", "users/demouser"), ("GET", "users/demouser/playlists"),
    ("GET", "artists/{artist}/top-tracks"), ("GET", "browse/new-releases"), ("GET", "markets"),
    ("PUT", "me/tracks?ids={track}"),
])
def test_removed_endpoints_are_forbidden(spotify_sim, catalog_3k, method, path):
    ids = {"track": catalog_3k.tracks[0].spotify_id, "album": catalog_3k.albums[0].spotify_id,
           "artist": catalog_3k.artists[0].spotify_id, "playlist": catalog_3k.playlists[0].id}
    body = [f"spotify:track:{ids['track']}"] if method == "POST" else None
    resp = _raw(spotify_sim, method, path.format(**ids), json=body)
    assert resp.status_code == 403 and resp.json() == {"error": {"status": 403, "message": "Forbidden"}}


def test_extended_quota_keeps_the_old_names_and_fields(catalog_3k):
    sim = SpotifySim(catalog_3k, quota="extended").start()
    try:
        sp = _api(sim)
        assert {"country", "product", "email"} <= set(sp.me())
        listed = sp.current_user_playlists(limit=50)["items"]
        assert all("tracks" in p and "items" not in p for p in listed)
        page = sp.playlist_items(catalog_3k.playlists[1].id, limit=20)
        assert all("track" in e and "item" not in e for e in page["items"])
        followed = next(p for p in catalog_3k.playlists if p.owner == "marta.k" and not p.collaborative)
        assert sp.playlist(followed.id)["tracks"]["total"] == len(followed.tracks)
        track = sp.tracks([catalog_3k.tracks[0].spotify_id, "0000000000000000000000"])["tracks"]
        assert "popularity" in track[0] and track[1] is None
        assert {"label", "popularity"} <= set(sp.album(catalog_3k.albums[0].spotify_id))
        assert len(sp.search("the", limit=20)["tracks"]["items"]) == 20
        assert "album_group" in sp.artist_albums(catalog_3k.artists[0].spotify_id)["items"][0]
    finally:
        sim.stop()


def test_unknown_quota_mode_is_refused(catalog_3k):
    with pytest.raises(ValueError, match="quota"):
        SpotifySim(catalog_3k, quota="premium")


# ---------------------------------------------------------------- redirect URIs (reference 2.2)
def _authorize(sim: SpotifySim, redirect_uri: str) -> requests.Response:
    return requests.get(f"{sim.url}/authorize", params={"client_id": sim.client_id, "response_type": "code",
                                                        "redirect_uri": redirect_uri, "state": "s"},
                        allow_redirects=False, timeout=5)


@pytest.mark.parametrize("registered, requested", [
    (None, "http://127.0.0.1:9999/callback"),                  # not registered
    ("http://127.0.0.1:8000/callback", "http://127.0.0.1:8001/callback"),  # another port
    ("http://127.0.0.1:8000/callback", "http://127.0.0.1:8000/callbak"),   # a typo
    ("http://localhost:8000/callback", "http://localhost:8000/callback"),  # localhost, even registered
    ("http://localhost/callback", "http://localhost:8000/callback"),
    ("http://example.com/callback", "http://example.com/callback"),        # plain http off loopback
])
def test_authorize_refuses_a_redirect_uri_that_is_not_registered_with_a_page(spotify_sim, registered, requested):
    if registered:
        spotify_sim.register_redirect_uri(registered)
    resp = _authorize(spotify_sim, requested)
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "INVALID_CLIENT: Invalid redirect URI" in resp.text


@pytest.mark.parametrize("registered, requested", [
    ("http://127.0.0.1:8000/callback", "http://127.0.0.1:8000/callback"),
    ("http://127.0.0.1/callback", "http://127.0.0.1:53124/callback"),  # port-less loopback literal: any port
    ("http://[::1]/callback", "http://[::1]:53124/callback"),
    ("https://soulsync.example/callback", "https://soulsync.example/callback"),
])
def test_authorize_redirects_to_a_registered_uri(spotify_sim, registered, requested):
    spotify_sim.register_redirect_uri(registered)
    resp = _authorize(spotify_sim, requested)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(requested + "?code=")


def test_the_default_redirect_uri_of_the_app_is_registered(spotify_sim):
    from soulsync.config import SpotifySettings

    assert _authorize(spotify_sim, SpotifySettings().redirect_uri).status_code == 302


def test_token_endpoint_checks_the_redirect_uri_again(spotify_sim):
    other = "http://127.0.0.1:8123/callback"
    spotify_sim.register_redirect_uri(other)
    location = _authorize(spotify_sim, REDIRECT).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    resp = requests.post(f"{spotify_sim.url}/api/token", data={"grant_type": "authorization_code", "code": code,
                                                               "redirect_uri": other},
                         auth=(spotify_sim.client_id, spotify_sim.client_secret), timeout=5)
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "Invalid redirect URI"}


def test_a_script_can_register_a_redirect_uri_over_http(spotify_sim):
    uri = "http://127.0.0.1:47001/cb"
    assert _authorize(spotify_sim, uri).status_code == 400
    assert requests.post(f"{spotify_sim.url}/__sim/redirect_uri", json={"uri": uri}, timeout=5).status_code == 204
    assert _authorize(spotify_sim, uri).status_code == 302
    assert requests.post(f"{spotify_sim.url}/__sim/redirect_uri", json={}, timeout=5).status_code == 400

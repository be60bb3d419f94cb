"""SoulSync: keep a Plex music library complete from Spotify playlists via Soulseek (slskd)."""

__version__ = "0.1.0"

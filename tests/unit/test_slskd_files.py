"""Where slskd files finished downloads, per version and host OS, and when a failed transfer is final
(soulsync.core.slskd_files; service-apis.md 1.6 and 1.7)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from soulsync.core.models import Transfer, TransferState
from soulsync.core.slskd_files import (
    DEFAULT_DESTINATION,
    UNKNOWN_RULES,
    DownloadRules,
    LocateError,
    UnsafeRemotePath,
    expected_local_paths,
    incomplete_names,
    local_names,
    locate_download,
)

LEGACY = DownloadRules()
"""slskd 0.24 / 0.25."""
V026 = DownloadRules(destination=DEFAULT_DESTINATION, retry_attempts=3)
WHY = "@@abcde\\Music\\Live: Berlin\\Why?.flac"


def joined(names: list[tuple[str, ...]]) -> list[str]:
    return ["/".join(parts) for parts in names]


@pytest.mark.parametrize("rules, remote, expected", [
    (LEGACY, "@@x\\Music\\Album (2020)\\01 - One.flac", ["Album (2020)/01 - One.flac"]),
    (LEGACY, "@@x/Music/Album/01.mp3", ["Album/01.mp3"]),
    (LEGACY, "loose.mp3", ["loose.mp3"]),
    (LEGACY, "@@x\\A/B\\c.mp3", ["B/c.mp3"]),  # both separators split local names
    (LEGACY, "../../etc/passwd", ["etc/passwd"]),  # only the last folder counts
    (LEGACY, "@@abcde\\x.flac", ["@@abcde/x.flac"]),  # up to 0.25 a share root is a folder
    (LEGACY, WHY, ["Live: Berlin/Why?.flac", "Live_ Berlin/Why_.flac"]),  # Linux host, then Windows host
    (V026, WHY, ["Live: Berlin/Why?.flac", "Live_ Berlin/Why_.flac"]),
    (V026, "@@abcde\\x.flac", ["x.flac"]),  # 0.26 strips the share root first
    (V026, "@@abcd\\x.flac", ["@@abcd/x.flac"]),  # not a SoulseekQt root (fewer than 5 letters)
    (V026, "C:\\x.flac", ["x.flac", "C_/x.flac"]),  # on Windows the ':' goes before the root does
    (V026, "\\\\nas\\share\\x.flac", ["share/x.flac"]),
    (DownloadRules(destination="${SOURCE_USERNAME}/${SOURCE_PATH}"), WHY,
     ["al:ce/Music/Live: Berlin/Why?.flac", "al_ce/Music/Live_ Berlin/Why_.flac"]),
    (DownloadRules(destination="{}"), WHY, ["Why?.flac", "Why_.flac"]),
    (DownloadRules(destination="in/${BATCH_ID}"), "@@abcde\\x.flac", ["in/unknown_batch_id/x.flac"]),
    (UNKNOWN_RULES, "@@abcde\\x.flac", ["@@abcde/x.flac", "x.flac"]),  # options unread: either version's rule
])
def test_local_names_like_slskd(rules, remote, expected):
    user = "al:ce" if "SOURCE_USERNAME" in (rules.destination or "") else "alice"
    assert joined(local_names(user, remote, rules)) == expected


def test_incomplete_names_cover_every_version_and_host():
    assert joined(incomplete_names("al:ce", WHY)) == [
        "Live: Berlin/Why?.flac", "al:ce/Music/Live: Berlin/Why?.flac", "Why?.flac",
        "Live_ Berlin/Why_.flac", "al_ce/Music/Live_ Berlin/Why_.flac", "Why_.flac"]


@pytest.mark.parametrize("on_disk", ["Live: Berlin/Why?.flac", "Live_ Berlin/Why_.flac"])
def test_either_hosts_file_is_found(tmp_path, on_disk):
    target = tmp_path / on_disk
    target.parent.mkdir()
    target.write_bytes(b"x" * 10)
    assert locate_download(tmp_path, "alice", WHY, 10, V026) == Path(os.path.realpath(target))


def test_a_file_in_a_share_root_is_found_where_026_puts_it(tmp_path):
    (tmp_path / "x.flac").write_bytes(b"x" * 4)
    assert locate_download(tmp_path, "alice", "@@abcde\\x.flac", 4, V026).name == "x.flac"
    with pytest.raises(LocateError, match="does not exist"):
        locate_download(tmp_path, "alice", "@@abcde\\x.flac", 4, LEGACY)  # 0.25 would use @@abcde/x.flac


@pytest.mark.parametrize("name", ["@@x\\..\\evil.mp3", "@@x\\Music\\", "..", "@@x\\a\\..", "@@x/../x.mp3",
                                  "\\..\\x", ""])
@pytest.mark.parametrize("rules", [LEGACY, V026, UNKNOWN_RULES], ids=["0.25", "0.26", "unknown"])
def test_hostile_remote_paths_never_leave_the_downloads_folder(tmp_path, name, rules):
    with pytest.raises(UnsafeRemotePath):
        expected_local_paths(tmp_path / "dl", "mallory", name, rules)


def test_a_hostile_pattern_or_username_cannot_lead_outside(tmp_path):
    with pytest.raises(UnsafeRemotePath):
        expected_local_paths(tmp_path / "dl", "alice", WHY, DownloadRules(destination="../.."))
    with pytest.raises(UnsafeRemotePath):
        expected_local_paths(tmp_path / "dl", "..", WHY, DownloadRules(destination="${SOURCE_USERNAME}"))


def test_symlinked_folder_pointing_outside_is_refused(tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "dl" / "Album").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafeRemotePath):
        expected_local_paths(tmp_path / "dl", "alice", "@@x\\Album\\x.mp3", LEGACY)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(list("ab.\\/ \x00:*?") + ["..", "é", "@@", "\\..\\", "${SOURCE_PATH}"]),
                max_size=12).map("".join),
       st.sampled_from([LEGACY, V026, UNKNOWN_RULES, DownloadRules(destination="${SOURCE_PATH}/x")]))
def test_any_remote_name_stays_inside_or_is_refused(tmp_path_factory, name, rules):
    root = tmp_path_factory.getbasetemp() / "fuzz-dl"
    root.mkdir(exist_ok=True)
    try:
        paths = expected_local_paths(root, "user", name, rules)
    except UnsafeRemotePath:
        return
    real_root = os.path.realpath(root)
    for path in paths:
        assert os.path.commonpath([str(path), real_root]) == real_root and str(path) != real_root
        assert path.name in {parts[-1] for parts in local_names("user", name, rules)}


def transfer(state: TransferState, attempts: int | None) -> Transfer:
    return Transfer(id="t", username="u", filename="f", state=state, attempts=attempts)


@pytest.mark.parametrize("state, attempts, rules, retried", [
    (TransferState.TIMED_OUT, 1, V026, True),
    (TransferState.ERRORED, 2, V026, True),
    (TransferState.ERRORED, 3, V026, False),  # the configured attempts are used up
    (TransferState.REJECTED, 1, V026, False),  # never retried
    (TransferState.ABORTED, 1, V026, False),
    (TransferState.CANCELLED, 1, V026, False),
    (TransferState.ERRORED, None, V026, False),  # <= 0.25 reports no attempts (0.25's 0 is read as None)
    (TransferState.ERRORED, 1, LEGACY, False),
    (TransferState.ERRORED, 1, UNKNOWN_RULES, True),  # only 0.26 reports attempts: assume its default
])
def test_which_failures_slskd_retries(state, attempts, rules, retried):
    assert rules.will_retry(transfer(state, attempts)) is retried


def test_timing_rules():
    assert V026.retry_window_s == 65.0
    assert DownloadRules(connect_timeout_s=20).enqueue_timeout_s == 45.0

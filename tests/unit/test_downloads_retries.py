"""The download queue and slskd 0.26's own retries, and enqueue rounds that one slow peer must not halt
(service-apis.md 1.6: "Client rule for 0.26" and the enqueue that answers after reaching the peer)."""
from __future__ import annotations

import pytest

from soulsync.core.slskd_files import DEFAULT_DESTINATION, DownloadRules
from soulsync.core.models import TransferState
from soulsync.services.errors import RateLimited, ServerError, ServiceTimeout, Unreachable
from tests.unit.test_downloads_engine import env, only, remote  # noqa: F401  (env is a fixture)

V026 = DownloadRules(destination=DEFAULT_DESTINATION, retry_attempts=3, retry_delay_s=5.0, retry_max_delay_s=60.0)
ERROR = "Transfer failed: The connection was closed unexpectedly"


@pytest.fixture
def slskd026(env):  # noqa: F811  (the engine tests' fixture)
    env.fake.rules = V026
    return env


def started(world, **queue_options):
    q = world.queue(**queue_options)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    return q, item, world.fake.of("alice", item.filename)


def test_a_failure_slskd_retries_is_not_final(slskd026):
    q, item, t = started(slskd026, stall_timeout_s=30)
    slskd026.fake.set(t, TransferState.ERRORED, exception=ERROR, attempts=1)
    waiting = q.tick().changed[item.id]
    assert waiting.state == "queued_locally" and waiting.attempt == 1 and waiting.tried == []
    assert waiting.reason == "retrying (attempt 2 of 3) after: The connection was closed unexpectedly"
    slskd026.fake.set(t, TransferState.QUEUED_LOCALLY, attempts=2)  # the record is queued again, failure still on it
    q.tick()
    slskd026.clock.advance(45)  # slskd waits up to 5-10 s, but this is longer than the stall timeout: not stalled
    q.tick()
    assert only(q).state == "queued_locally" and slskd026.fake.cancel_calls == []
    assert only(q).reason == "retrying (attempt 2 of 3) after: The connection was closed unexpectedly"
    slskd026.fake.set(t, TransferState.IN_PROGRESS, exception=None, bytes_transferred=40)
    assert q.tick().changed[item.id].state == "in_progress"
    slskd026.fake.set(t, TransferState.SUCCEEDED, bytes_transferred=100)
    assert q.poll().changed[item.id].state == "processing"


def test_a_failure_with_no_attempts_left_is_final(slskd026):
    q, item, t = started(slskd026)
    slskd026.fake.set(t, TransferState.TIMED_OUT, exception="The wait timed out after 15000 milliseconds", attempts=3)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and done.reason.startswith("Timed out (The wait timed out")
    assert slskd026.fake.cancel_calls == []


@pytest.mark.parametrize("state", [TransferState.REJECTED, TransferState.ABORTED, TransferState.CANCELLED])
def test_failures_slskd_never_retries_are_final_at_once(slskd026, state):
    q, item, t = started(slskd026)
    slskd026.fake.set(t, state, exception="x", attempts=1)
    assert q.tick().changed[item.id].state == "failed"


def test_a_failure_unchanged_past_slskds_longest_wait_is_final(slskd026):
    q, item, t = started(slskd026, stall_timeout_s=10)
    slskd026.fake.set(t, TransferState.ERRORED, exception=ERROR, attempts=1)
    q.tick()
    slskd026.clock.advance(64)  # maxDelay + delay = 65 s
    q.tick()
    assert only(q).state == "queued_locally"
    slskd026.clock.advance(2)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and done.reason.startswith("Transfer failed: The connection was closed")
    assert slskd026.fake.cancel_calls == [(t.id, False)], "slskd is told not to retry it later"


def test_a_retry_that_never_starts_is_stalled_after_slskds_longest_wait(slskd026):
    q, item, t = started(slskd026, stall_timeout_s=10)
    slskd026.fake.set(t, TransferState.QUEUED_LOCALLY, exception=ERROR, attempts=2)
    q.tick()
    slskd026.clock.advance(64)
    q.tick()
    assert only(q).state == "queued_locally" and slskd026.fake.cancel_calls == []
    slskd026.clock.advance(2)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and done.reason == "Stalled: no progress for 65 s"
    assert slskd026.fake.cancel_calls == [(t.id, False)]


def test_older_slskd_failures_stay_final(env):  # noqa: F811
    q, item, t = started(env)
    env.fake.set(t, TransferState.ERRORED, exception=ERROR, attempts=None)  # 0.24/0.25 report no attempts
    assert q.tick().changed[item.id].state == "failed"


def test_unreadable_options_assume_026_retries_only_where_attempts_are_reported(env):  # noqa: F811
    env.fake.rules = ServerError("slskd", "options are admin-only", status=403)
    q, item, t = started(env)
    env.fake.set(t, TransferState.ERRORED, exception=ERROR, attempts=1)
    assert q.tick().changed[item.id].reason.startswith("retrying (attempt 2 of 3)")


@pytest.mark.parametrize("error", [ServiceTimeout("slskd", "no answer in time"),
                                   RateLimited("slskd", "slskd is busy"),
                                   ServerError("slskd", "Failed to connect to user bob", status=500)])
def test_one_slow_or_failing_enqueue_does_not_halt_the_round(env, error):  # noqa: F811
    env.fake.enqueue_errors["bob"] = error
    q = env.queue(max_concurrent=3)
    items = q.enqueue([(user, remote(user, "1.mp3"), 100) for user in ("alice", "bob", "carol")])
    assert [call[0] for call in env.fake.enqueue_calls] == ["alice", "bob", "carol"]
    states = {i.username: i.state for i in items}
    assert states["alice"] == states["carol"] == "queued_locally"


def test_slskd_itself_down_halts_the_round(env):  # noqa: F811
    env.fake.enqueue_errors["alice"] = Unreachable("slskd", "connection refused")
    q = env.queue(max_concurrent=3)
    items = q.enqueue([(user, remote(user, "1.mp3"), 100) for user in ("alice", "bob")])
    assert [call[0] for call in env.fake.enqueue_calls] == ["alice"]
    assert [i.state for i in items] == ["submitting", "queued"]

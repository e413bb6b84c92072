"""Instance refresh decisions: what to replace next, how far along, when to pause.  Pure.

No I/O here: every function takes plain data (the group's members as
:class:`Unit`\\ s, the refresh's :class:`Preferences` and :class:`Track`, and
``now``) and returns values; :mod:`refresh` applies them.

Rules (EC2 Auto Scaling user guide, "Use an instance refresh to update
instances in an Auto Scaling group", "Understand the default values for an
instance refresh"; API reference "RefreshPreferences"):

* **What is replaced.**  Every member that counts toward the capacity
  (Pending…, InService) and was there when the refresh started; with
  ``SkipMatching`` only those not launched from the refresh's configuration.
  A member launched later from another configuration is replaced too.
  Scale-in protected members are left alone unless
  ``ScaleInProtectedInstances`` is ``Refresh``; Standby members never count.
  (Gureum treats the ``Wait`` choices like ``Ignore`` and does not terminate
  Standby members: those preferences are shown as given.)
* **Batches.**  A batch starts only when nothing is in flight: no member is
  pending and every replacement has been InService for ``InstanceWarmup``
  seconds.  Its size keeps the healthy InService count at or above
  ``ceil(desired × MinHealthyPercentage / 100)`` — at least one instance at
  a time, as AWS does at 100 % — and never overshoots the next checkpoint.
  Members not in service go first, then unhealthy ones, then the oldest.
* **Progress.**  ``InstancesToUpdate`` counts the members still to replace
  plus the replacements still in flight; ``PercentageComplete`` is the share
  of the refresh's total done, rounded down (100 only when nothing is left).
* **Checkpoints.**  ``CheckpointPercentages`` (ascending, unique, 1–100):
  reaching one pauses the refresh for ``CheckpointDelay`` seconds (default
  3600).  When the last checkpoint is below 100 the refresh ends there,
  Successful, with the rest not replaced.
* **Defaults.**  MinHealthyPercentage 90, MaxHealthyPercentage 100,
  InstanceWarmup the group's DefaultInstanceWarmup, else its
  HealthCheckGracePeriod.  Gureum replaces terminate-first; a
  MaxHealthyPercentage above 100 is validated and shown but does not make it
  launch before terminating.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from gureum.services.autoscaling.lifecycle import ACTIVE_STATES, LAUNCH_STATES, LState

PENDING, IN_PROGRESS, SUCCESSFUL, FAILED = "Pending", "InProgress", "Successful", "Failed"
CANCELLING, CANCELLED = "Cancelling", "Cancelled"
ACTIVE = frozenset({PENDING, IN_PROGRESS, CANCELLING})
DEFAULT_MIN_HEALTHY, DEFAULT_MAX_HEALTHY, DEFAULT_CHECKPOINT_DELAY = 90, 100, 3600
MAX_DELAY = 172_800


class PreferenceError(ValueError):
    """A preference AWS would refuse; the message is AWS-style."""


@dataclass(frozen=True, slots=True)
class Preferences:
    min_healthy: int = DEFAULT_MIN_HEALTHY
    max_healthy: int = DEFAULT_MAX_HEALTHY
    warmup: int = 0
    checkpoints: tuple[int, ...] = ()
    checkpoint_delay: int = DEFAULT_CHECKPOINT_DELAY
    skip_matching: bool = False
    protected: str = "Ignore"
    standby: str = "Ignore"

    def shown(self) -> dict[str, Any]:
        """As DescribeInstanceRefreshes shows them."""
        out: dict[str, Any] = {"MinHealthyPercentage": self.min_healthy, "MaxHealthyPercentage": self.max_healthy,
                               "InstanceWarmup": self.warmup, "SkipMatching": self.skip_matching,
                               "AutoRollback": False, "ScaleInProtectedInstances": self.protected,
                               "StandbyInstances": self.standby}
        if self.checkpoints:
            out.update(CheckpointPercentages=list(self.checkpoints), CheckpointDelay=self.checkpoint_delay)
        return out


def _int(given: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = given.get(key)
    if value is None:
        return default
    if not low <= int(value) <= high:
        raise PreferenceError(f"{key} must be between {low} and {high}, but was {value}.")
    return int(value)


def preferences(given: Mapping[str, Any] | None, default_warmup: int) -> Preferences:
    """The preferences of a StartInstanceRefresh request, defaults filled in (PreferenceError if bad)."""
    given = given or {}
    min_healthy = _int(given, "MinHealthyPercentage", DEFAULT_MIN_HEALTHY, 0, 100)
    max_healthy = _int(given, "MaxHealthyPercentage", DEFAULT_MAX_HEALTHY, 100, 200)
    if max_healthy - min_healthy > 100:
        raise PreferenceError("The difference between MaxHealthyPercentage and MinHealthyPercentage must not be "
                              f"greater than 100 ({max_healthy} - {min_healthy}).")
    warmup = _int(given, "InstanceWarmup", default_warmup, 0, 2**31 - 1)
    checkpoints = tuple(int(p) for p in given.get("CheckpointPercentages") or ())
    if given.get("CheckpointDelay") is not None and not checkpoints:
        raise PreferenceError("CheckpointDelay can only be specified with CheckpointPercentages.")
    if any(not 1 <= p <= 100 for p in checkpoints):
        raise PreferenceError("CheckpointPercentages values must be between 1 and 100.")
    if list(checkpoints) != sorted(set(checkpoints)):
        raise PreferenceError("CheckpointPercentages must be unique and in ascending order.")
    delay = _int(given, "CheckpointDelay", DEFAULT_CHECKPOINT_DELAY, 0, MAX_DELAY)
    if given.get("AutoRollback"):
        raise PreferenceError("AutoRollback is not supported by Gureum.")
    return Preferences(min_healthy, max_healthy, warmup, checkpoints, delay, bool(given.get("SkipMatching")),
                       str(given.get("ScaleInProtectedInstances") or "Ignore"),
                       str(given.get("StandbyInstances") or "Ignore"))


# -- the group as the refresh sees it -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    """One member of the group."""

    instance_id: str
    state: str  # LifecycleState
    healthy: bool = True
    launched_at: float = 0.0
    in_service_at: float | None = None
    matches: bool = False  # launched from the refresh's configuration
    protected: bool = False


@dataclass(frozen=True, slots=True)
class Track:
    """What the refresh remembers between steps (stored on the refresh)."""

    started_at: float
    total: int = 0  # instances to replace, counted at the first step (and grown if more appear)
    passed: int = 0  # the last checkpoint reached
    paused_until: float | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    to_update: int

    @property
    def done(self) -> int:
        return self.total - self.to_update

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (100 * self.done) // self.total


def outdated(units: Sequence[Unit], prefs: Preferences, started_at: float) -> list[Unit]:
    """The members still to be replaced."""
    return [u for u in units if u.state in ACTIVE_STATES
            and not (u.protected and prefs.protected != "Refresh")
            and (not u.matches or (not prefs.skip_matching and u.launched_at < started_at))]


def in_flight(units: Sequence[Unit], prefs: Preferences, started_at: float, now: float) -> list[Unit]:
    """Members not to be replaced that are not ready yet: pending, or InService but warming up."""
    old = {u.instance_id for u in outdated(units, prefs, started_at)}
    return [u for u in units if u.instance_id not in old and u.state in ACTIVE_STATES
            and (u.state in LAUNCH_STATES or now < (u.in_service_at or 0.0) + prefs.warmup)]


def progress(units: Sequence[Unit], prefs: Preferences, track: Track, now: float) -> Progress:
    left = len(outdated(units, prefs, track.started_at)) + len(in_flight(units, prefs, track.started_at, now))
    return Progress(max(track.total, left), left)


# -- the next step --------------------------------------------------------------------------------


class Action(StrEnum):
    WAIT = "wait"
    REPLACE = "replace"
    PAUSE = "pause"  # a checkpoint was reached
    SUCCEED = "succeed"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    progress: Progress
    track: Track
    replace: tuple[str, ...] = ()
    reason: str = ""
    wake: float | None = None  # seconds until the refresh needs a look without an event


def min_healthy_count(desired: int, prefs: Preferences) -> int:
    return math.ceil(desired * prefs.min_healthy / 100)


def next_checkpoint(prefs: Preferences, track: Track) -> int | None:
    return next((p for p in prefs.checkpoints if p > track.passed), None)


def batch_size(units: Sequence[Unit], desired: int, prefs: Preferences, track: Track, done: int,
               left: int) -> int:
    """How many to replace now: keep the healthy in-service floor, at least one, not past a checkpoint."""
    healthy = sum(1 for u in units if u.state == LState.IN_SERVICE and u.healthy)
    size = max(1, healthy - min_healthy_count(desired, prefs))
    checkpoint = next_checkpoint(prefs, track)
    if checkpoint is not None:
        size = min(size, max(1, math.ceil(track.total * checkpoint / 100) - done))
    return min(size, left)


def _order(u: Unit) -> tuple[bool, bool, float, str]:
    return (u.state == LState.IN_SERVICE, u.healthy, u.launched_at, u.instance_id)


def decide(units: Sequence[Unit], desired: int, prefs: Preferences, track: Track, now: float,
           held: str = "") -> Decision:
    """The refresh's next step.  ``held`` names what holds replacements back (a suspended process)."""
    if track.paused_until is not None:
        if now < track.paused_until:
            prog = progress(units, prefs, track, now)
            return Decision(Action.WAIT, prog, track, reason=f"Checkpoint {track.passed}% reached; waiting for the "
                            "checkpoint delay to pass before continuing.", wake=track.paused_until - now)
        track = replace(track, paused_until=None)
    track = replace(track, total=max(track.total, progress(units, prefs, track, now).to_update))
    prog = progress(units, prefs, track, now)
    old = outdated(units, prefs, track.started_at)
    flying = in_flight(units, prefs, track.started_at, now)
    if prog.to_update == 0:
        return Decision(Action.SUCCEED, prog, track)
    checkpoint = next_checkpoint(prefs, track)
    if checkpoint is not None and checkpoint < 100 and prog.percent >= checkpoint and not flying:
        if checkpoint == prefs.checkpoints[-1]:
            return Decision(Action.SUCCEED, prog, replace(track, passed=checkpoint),
                            reason=f"The final checkpoint ({checkpoint}%) was reached.")
        paused = replace(track, passed=checkpoint, paused_until=now + prefs.checkpoint_delay)
        return Decision(Action.PAUSE, prog, paused, reason=f"Checkpoint {checkpoint}% reached; waiting for the "
                        "checkpoint delay to pass before continuing.", wake=float(prefs.checkpoint_delay))
    if held:
        return Decision(Action.WAIT, prog, track, reason=held)
    if flying or any(u.state in LAUNCH_STATES for u in units):
        warm = [(u.in_service_at or 0.0) + prefs.warmup - now for u in flying if u.state == LState.IN_SERVICE]
        names = ", ".join(u.instance_id for u in flying[:3])
        return Decision(Action.WAIT, prog, track, wake=min(warm) if warm else 1.0,
                        reason=f"Waiting for instances to come into service and warm up: {names}." if names else
                        "Waiting for pending instances to come into service.")
    size = batch_size(units, desired, prefs, track, prog.done, len(old))
    chosen = tuple(u.instance_id for u in sorted(old, key=_order)[:size])
    return Decision(Action.REPLACE, prog, track, replace=chosen, wake=1.0,
                    reason=f"Replacing {len(chosen)} instance(s): {', '.join(chosen)}.")

"""Auto-healing decisions.  Pure: no I/O, ``now`` is passed in.

OpsWorks' rules (workinginstances-autohealing.html):

* every instance's agent reports to the service regularly; an agent that has
  been silent for the **heal timeout** (about five minutes on AWS; Gureum's
  default :data:`DEFAULT_HEAL_TIMEOUT`, scaled by the clock like every other
  duration) makes the instance ``connection_lost``;
* auto-healing is on by default per layer (``EnableAutoHealing``); an
  instance in several layers is healed only when **every** one of its layers
  has it on;
* healing an EBS-backed instance = stop it, confirm it stopped, start it
  again — the same instance, not a replacement (unlike Auto Scaling);
* a lost instance whose agent reports again before it is healed (healing
  off) comes back online.

Only instances whose agent has come up are watched (``running_setup``,
``online``, ``connection_lost``): a booting instance has its own boot timeout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_HEAL_TIMEOUT = 300.0
WATCHED = ("running_setup", "online", "connection_lost")


class Heal(StrEnum):
    NONE = "none"  # nothing to do
    LOST = "connection_lost"  # silent too long; healing is off: mark it lost
    HEAL = "heal"  # silent too long; heal it
    RECOVERED = "recovered"  # it was lost and reports again


@dataclass(frozen=True, slots=True)
class HealView:
    status: str
    auto_healing: bool  # every layer of the instance has EnableAutoHealing


def auto_healing(layer_flags: Iterable[bool | None]) -> bool:
    """EnableAutoHealing of an instance's layers (unset means on): all must be on."""
    flags = list(layer_flags)
    return bool(flags) and all(f is None or f for f in flags)


def decide_heal(instance: HealView, last_heartbeat: float | None, now: float, heal_timeout: float) -> Heal:
    """What the agent's silence means for ``instance``.

    ``last_heartbeat`` is when its agent last reported (or came up); None
    means it never did, which is the boot timeout's business, not healing's.
    """
    if instance.status not in WATCHED or last_heartbeat is None:
        return Heal.NONE
    silent = (now - last_heartbeat) > heal_timeout
    if instance.status == "connection_lost":
        if instance.auto_healing:
            return Heal.HEAL
        return Heal.NONE if silent else Heal.RECOVERED
    if not silent:
        return Heal.NONE
    return Heal.HEAL if instance.auto_healing else Heal.LOST

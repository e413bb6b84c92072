"""CPU credits of burstable instances (t2, t3): the accounting, pure.

AWS's rules (EC2 User Guide, "Key concepts for burstable performance
instances" and the standard/unlimited mode pages), as applied here minute by
minute:

* one credit = one vCPU at 100 % for one minute;
* an instance earns ``credits_per_hour / 60`` credits a minute while it runs;
  its earned balance is capped at 24 hours of earnings (:func:`max_balance`);
  earnings beyond the cap are lost;
* it spends ``vCPUs × CPUUtilization / 100`` credits a minute
  (``CPUUtilization`` is per instance: 100 = every vCPU busy);
* **launch credits** (T2 in standard mode only): 30 per vCPU at each launch or
  start; spent before earned credits; they do not count towards the cap
  (an idle t2.micro shows 30 + 144 = 174); ``CPUCreditBalance`` reports launch
  + earned credits;
* **standard mode**: when launch and earned credits are gone the instance is
  held at its baseline: it cannot use more than it earns, so the minute's
  usage is cut to what was available and the balance stays at zero.
  :attr:`Minute.throttled` says the instance must be held at its baseline
  (the controller lowers the container's CPU quota to ``baseline × vCPUs``);
  it is released once the balance is back at :data:`UNTHROTTLE_AT` credits
  (hysteresis, so a loop burning at the baseline does not flap);
* **unlimited mode**: spending beyond the balance accrues **surplus credits**
  (``CPUSurplusCreditBalance``); earned credits pay the surplus down before
  they add to the balance; surplus beyond the 24-hour cap is charged at once
  (``CPUSurplusCreditsCharged`` for that minute).  No launch credits.
* default modes: T2 standard, T3 unlimited (:func:`default_mode`).
* on a stop a T2 loses its balance (a start brings fresh launch credits); a
  T3 keeps it (AWS: for 7 days; here, as long as the instance exists).

Not modelled: millisecond accounting (the unit is the controller's minute),
the 100-launches-a-day limit on launch credits, charging surplus at stop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gureum.services.ec2.instance_types import InstanceType

STANDARD = "standard"
UNLIMITED = "unlimited"
MODES = (STANDARD, UNLIMITED)
UNTHROTTLE_AT = 1.0
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Credits:
    """An instance's credit state between minutes."""

    earned: float = 0.0
    launch: float = 0.0
    surplus: float = 0.0
    throttled: bool = False

    @property
    def balance(self) -> float:
        """``CPUCreditBalance``: launch + earned credits."""
        return self.launch + self.earned


@dataclass(frozen=True, slots=True)
class Minute:
    """What one minute did: the new state and the minute's metric values."""

    state: Credits
    usage: float  # CPUCreditUsage
    charged: float  # CPUSurplusCreditsCharged

    @property
    def throttled(self) -> bool:
        return self.state.throttled


def default_mode(t: InstanceType) -> str:
    return STANDARD if t.family == "t2" else UNLIMITED


def earn_per_minute(t: InstanceType) -> float:
    return (t.credits_per_hour or 0.0) / 60.0


def max_balance(t: InstanceType) -> float:
    """24 hours of earnings (t2.micro: 144)."""
    return (t.credits_per_hour or 0.0) * 24.0


def baseline_cpus(t: InstanceType) -> float:
    """The CPUs a throttled instance may use: baseline per vCPU × vCPUs."""
    return (t.baseline or 0.0) * t.vcpus


def at_launch(t: InstanceType, mode: str) -> Credits:
    """The credits of a freshly launched (or started) instance."""
    return Credits(launch=float(t.launch_credits) if mode == STANDARD else 0.0)


def on_start(t: InstanceType, mode: str, previous: Credits) -> Credits:
    """After a stop and start: T2 starts over, T3 keeps what it had."""
    if t.family == "t2":
        return at_launch(t, mode)
    return replace(previous, throttled=False)


def minute(t: InstanceType, mode: str, state: Credits, cpu_percent: float, minutes: float = 1.0) -> Minute:
    """Account ``minutes`` at ``cpu_percent`` (per instance, 0–100)."""
    spend = t.vcpus * max(0.0, min(100.0, cpu_percent)) / 100.0 * minutes
    earn = earn_per_minute(t) * minutes
    if mode == UNLIMITED:
        return _unlimited(t, state, spend, earn)
    return _standard(t, state, spend, earn)


def _standard(t: InstanceType, state: Credits, spend: float, earn: float) -> Minute:
    from_launch = min(state.launch, spend)
    rest = spend - from_launch
    earned = state.earned + earn - rest
    usage = spend
    if earned < 0:
        usage += earned  # it could not use what it did not have: held at the baseline
        earned = 0.0
    earned = min(earned, max_balance(t))
    launch = state.launch - from_launch
    available = launch + earned
    throttled = available < UNTHROTTLE_AT if state.throttled else available <= _EPS
    return Minute(Credits(earned=earned, launch=launch, surplus=state.surplus, throttled=throttled), usage, 0.0)


def _unlimited(t: InstanceType, state: Credits, spend: float, earn: float) -> Minute:
    from_launch = min(state.launch, spend)  # kept from standard mode, spent first
    pay_down = min(state.surplus, earn)
    surplus = state.surplus - pay_down
    earned = state.earned + (earn - pay_down) - (spend - from_launch)
    if earned < 0:
        surplus += -earned
        earned = 0.0
    earned = min(earned, max_balance(t))
    charged = max(0.0, surplus - max_balance(t))
    surplus -= charged
    launch = state.launch - from_launch
    return Minute(Credits(earned=earned, launch=launch, surplus=surplus, throttled=False), spend, charged)

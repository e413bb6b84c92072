"""One shell session of a build phase, run as a container on the runtime driver.

:func:`run_session` creates and starts the container (or adopts one that a
previous Gureum started), ships its output to the build log line by line as
it arrives, and races its end against the build's stop signal and its
deadline.  A stop or a timeout kills the container; whatever ended it, the
container is removed afterwards — except when Gureum itself is stopping (the
task is cancelled): then the shell runs on and the next Gureum adopts it.  The caller reads the phase's result file
to know how the commands went (:mod:`.script`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gureum.core.clock import RealClock
from gureum.runtime.base import ContainerSpec, DriverError, NotFound, RuntimeDriver
from gureum.services.codebuild.runner.logs import BuildLog

if TYPE_CHECKING:
    from gureum.app import App

log = logging.getLogger("gureum.codebuild")

EXITED = "exited"
STOPPED = "stopped"
TIMED_OUT = "timed_out"
_EXIT_POLLS = 100
_EXIT_POLL_REAL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class SessionEnd:
    how: str  # EXITED | STOPPED | TIMED_OUT
    exit_code: int | None = None


async def run_session(
    app: App,
    driver: RuntimeDriver,
    spec: ContainerSpec | None,
    log_to: BuildLog,
    stop: asyncio.Event,
    timeout: float,
    adopt: str | None = None,
    on_start: Callable[[], object] | None = None,
) -> SessionEnd:
    """Run (or adopt) one phase container until it ends, is stopped, or times out.

    ``on_start`` is called once the container started (the caller records
    that, so a restart knows whether to adopt or to start afresh).
    """
    if adopt is None:
        assert spec is not None
        cid = await driver.create(spec)
        since = None
    else:
        cid, since = adopt, RealClock().now()
    try:
        if adopt is None:
            await driver.start(cid)
            if on_start is not None:
                on_start()
        end = await _watch(app, driver, cid, log_to, stop, timeout, since)
    except asyncio.CancelledError:
        raise  # Gureum is stopping: the shell runs on, and the next Gureum adopts it
    except BaseException:
        with contextlib.suppress(DriverError):
            await driver.remove(cid, force=True)
        raise
    with contextlib.suppress(DriverError):
        await driver.remove(cid, force=True)
    return end


async def _watch(
    app: App, driver: RuntimeDriver, cid: str, log_to: BuildLog, stop: asyncio.Event, timeout: float, since: float | None
) -> SessionEnd:
    ship = asyncio.ensure_future(_ship(driver, cid, log_to, since))
    stopped = asyncio.ensure_future(stop.wait())
    timer = asyncio.ensure_future(app.clock.sleep(max(0.0, timeout)))
    how = EXITED
    try:
        done, _ = await asyncio.wait({ship, stopped, timer}, return_when=asyncio.FIRST_COMPLETED)
        if ship not in done:
            how = STOPPED if stopped in done else TIMED_OUT
            with contextlib.suppress(DriverError):
                await driver.kill(cid, "SIGKILL")
            with contextlib.suppress(asyncio.TimeoutError, DriverError):
                await asyncio.wait_for(asyncio.shield(ship), 10.0)
    finally:
        for task in (ship, stopped, timer):
            task.cancel()
        await asyncio.gather(ship, stopped, timer, return_exceptions=True)
    return SessionEnd(how, await _exit_code(app, driver, cid))


async def _ship(driver: RuntimeDriver, cid: str, log_to: BuildLog, since: float | None) -> None:
    async for line in driver.logs(cid, follow=True, since=since):
        log_to.write([line.line])


async def _exit_code(app: App, driver: RuntimeDriver, cid: str) -> int | None:
    """The exit code once the driver reports the container ended (docker may lag its log end)."""
    scale = float(getattr(app.clock, "time_scale", 1.0))
    for _ in range(_EXIT_POLLS):
        try:
            state = await driver.inspect(cid)
        except NotFound:
            return None
        if not state.running:
            return state.exit_code
        await app.clock.sleep(_EXIT_POLL_REAL_SECONDS * scale)
    return None


def find_adoptable(states: list[Any], phase: str) -> str | None:
    """The id of a container left running for ``phase`` by an earlier Gureum, if any."""
    for state in states:
        if state.labels.get(PHASE_LABEL) == phase and state.running:
            return str(state.id)
    return None


PHASE_LABEL = "gureum.codebuild.phase"
BUILD_LABEL = "gureum.codebuild.build"

"""``update_limits``: docker lowers and raises a running container's CPU quota for real;
the process driver records the limit (it enforces no CPU limits)."""

from __future__ import annotations

from runtime_support import Runtime, run, wait_for
from test_lifecycle import spec

from gureum.runtime.base import NotFound


def test_update_limits_throttles_a_busy_loop(runtime: Runtime) -> None:
    async def scenario() -> None:
        d = await runtime.make()
        cid = await d.create(spec(runtime, "burn", ("sh", "-c", "while :; do :; done"), cpus=1.0))
        await d.start(cid)
        try:
            await d.update_limits(cid, 0.1)
            if runtime.kind == "docker":
                async def throttled() -> bool:
                    return (await d.stats(cid)).cpu_percent < 20

                await wait_for(throttled, 15, "the loop held near 10 % of a CPU")
                await d.update_limits(cid, 1.0)

                async def released() -> bool:
                    # well above the 10 % cap; not near 100: the 2 cores are shared with other tests
                    return (await d.stats(cid)).cpu_percent > 18

                await wait_for(released, 15, "the loop above its old 10 % cap")
            else:
                assert d.cpu_limits[cid] == 0.1  # type: ignore[attr-defined]
            try:
                await d.update_limits("nope" * 8, 1.0)
                raise AssertionError("update_limits of an unknown container must raise NotFound")
            except NotFound:
                pass
        finally:
            await d.remove(cid, force=True)
            await d.close()

    run(scenario)

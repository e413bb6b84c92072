"""GetConsoleOutput: what the instance's container wrote (its init and the
user data's output), base64-encoded as EC2 answers it (boto3 decodes it).

EC2 keeps the last 64 KB of console output; so does this.  Reading the
container's log is a bounded read through the runtime driver, not a wait.
"""

from __future__ import annotations

import base64
from typing import Any

from gureum.runtime.base import DriverError
from gureum.services.api import RequestContext
from gureum.services.ec2 import errors
from gureum.services.ec2.instances import require_instances

MAX_OUTPUT = 64 * 1024


async def get_console_output(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    doc = require_instances(ctx.app, ctx.scope, [str(req["InstanceId"])])[0]
    out: dict[str, Any] = {"InstanceId": doc["InstanceId"], "Timestamp": ctx.clock.now()}
    cid = doc.get("_cid")
    if not cid:
        return out
    lines: list[str] = []
    try:
        driver = await ctx.app.get_runtime()
        async for line in driver.logs(cid):
            lines.append(line.line)
    except DriverError:
        return out
    text = "\n".join(lines).encode()[-MAX_OUTPUT:]
    if text:
        out["Output"] = base64.b64encode(text).decode()
    return out


OPERATIONS = {"GetConsoleOutput": get_console_output}

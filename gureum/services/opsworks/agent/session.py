"""The agent's hands inside one instance: every call is a ``driver.exec``.

:class:`AgentSession` is bound to one EC2 instance's container and knows
nothing of the store: the controller decides, this module does.  Files go in
as base64 through exec arguments (a runtime driver has no copy call), in
chunks under Linux's 128 KiB limit per argument.  Each method raises
:class:`AgentUnreachable` when the instance cannot be reached (stopped,
removed, exec failing), which the controller treats as a silent agent.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from gureum.runtime.base import DriverError, ExecResult
from gureum.services.opsworks.agent import scripts

CHUNK = 96 * 1024  # base64 characters per argument (< MAX_ARG_STRLEN = 131072)
CHUNKS_PER_EXEC = 6  # ~576 KiB per exec, well under ARG_MAX
LOG_LIMIT = 1024 * 1024


class AgentUnreachable(Exception):
    """The instance did not answer an exec; ``str()`` says why."""


@dataclass
class AgentSession:
    driver: Any  # RuntimeDriver
    container_id: str
    init_pid: int  # the instance's init as the instance sees it (1 on docker)

    @property
    def kind(self) -> str:
        return str(self.driver.name)

    async def _run(self, argv: list[str], what: str) -> ExecResult:
        try:
            result: ExecResult = await self.driver.exec(self.container_id, argv)
        except DriverError as exc:
            raise AgentUnreachable(f"{what}: {exc}") from exc
        return result

    async def _ok(self, argv: list[str], what: str) -> str:
        result = await self._run(argv, what)
        if result.exit_code != 0:
            raise AgentUnreachable(f"{what} exited {result.exit_code}: {(result.stderr or result.stdout).strip()[:300]}")
        return result.stdout

    async def install(self, boot: str) -> None:
        """Write the agent and start its heartbeat for this boot (idempotent)."""
        await self._ok(scripts.install_argv(self.kind, boot, self.init_pid), "installing the agent")

    async def heartbeat(self) -> tuple[str, int] | None:
        out = await self._ok(scripts.heartbeat_argv(self.kind), "reading the heartbeat")
        return scripts.parse_heartbeat(out)

    async def write_file(self, path: str, data: bytes) -> None:
        """Put ``data`` at ``$R<path>`` inside the instance."""
        text = base64.b64encode(data).decode()
        chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        for i in range(0, len(chunks), CHUNKS_PER_EXEC):
            argv = scripts.write_chunks_argv(self.kind, path, chunks[i:i + CHUNKS_PER_EXEC], first=i == 0)
            await self._ok(argv, f"copying {path}")
        await self._ok(scripts.finish_write_argv(self.kind, path), f"copying {path}")

    async def launch(self, command_id: str, bundle: bytes) -> None:
        """Copy a command's bundle in and start it (a second launch of the same id does nothing)."""
        await self.write_file(scripts.command_dir(command_id) + ".tar", bundle)
        await self._ok(scripts.launch_argv(self.kind, command_id, self.init_pid), "starting the command")

    async def poll(self, command_id: str) -> int | str:
        """The exit code of a finished command, ``"running"``, or ``"lost"`` (it died unrecorded)."""
        out = (await self._ok(scripts.poll_argv(self.kind, command_id), "polling the command")).strip()
        if out.lstrip("-").isdigit():
            return int(out)
        return "running" if out == "running" else "lost"

    async def read_log(self, command_id: str) -> str:
        result = await self._run(scripts.log_argv(self.kind, command_id, LOG_LIMIT), "reading the log")
        return result.stdout

    async def kill(self, command_id: str) -> None:
        await self._run(scripts.kill_argv(self.kind, command_id), "killing the command")

"""The docker runtime driver: the Docker Engine API through the ``docker`` SDK.

Theory of operation: every SDK call blocks, so each one runs in this
driver's own thread pool (``_call``), and the two long-lived streams (events
and followed logs) each get a daemon thread (:mod:`gureum.runtime.streams`).
SDK errors become :class:`~gureum.runtime.base.DriverError` subclasses at one
place (``_translate``).  Value translation lives in
:mod:`gureum.runtime.docker_convert` (pure).

Rules:

* Everything created carries ``gureum.owner`` and this driver's
  ``gureum.data-dir-id``; ``list`` and ``events`` only see those.
* Ports are published on the spec's private IP (127.0.1.x), so two
  containers can both publish port 80; host port None/0 gets an ephemeral
  one from the engine.
* ``create`` never pulls: call ``pull`` first (ECS records ``pullStartedAt``
  around it); a missing image is :class:`ImageNotFound`.
* ``start`` of a command that does not exist raises :class:`StartFailed`;
  ``inspect`` then reports the container exited with Docker's exit code
  (127) and error.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import requests.exceptions

from gureum.core.clock import RealClock
from gureum.runtime.base import (
    DATA_DIR_LABEL,
    Conflict,
    ContainerSpec,
    ContainerState,
    DriverError,
    EngineUnavailable,
    Event,
    ExecResult,
    ImageNotFound,
    LogLine,
    NotFound,
    StartFailed,
    Stats,
    gureum_labels,
)
from gureum.runtime.docker_convert import (
    create_kwargs,
    event_from_raw,
    split_image,
    split_log_line,
    state_from_inspect,
    stats_from_raw,
)
from gureum.runtime.streams import merge_blocking

R = TypeVar("R")


def _translate(exc: Exception) -> DriverError:
    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, docker.errors.ImageNotFound):
        return ImageNotFound(_explain(exc))
    if isinstance(exc, docker.errors.NotFound):
        return NotFound(_explain(exc))
    if isinstance(exc, docker.errors.APIError) and exc.status_code == 409:
        return Conflict(_explain(exc))
    if isinstance(exc, requests.exceptions.ConnectionError | docker.errors.DockerException) and not isinstance(
        exc, docker.errors.APIError
    ):
        return EngineUnavailable(f"the Docker engine does not answer: {exc}")
    return DriverError(_explain(exc))


def _explain(exc: Exception) -> str:
    return str(getattr(exc, "explanation", None) or exc)


def connect_client(base_url: str | None = None, timeout: int = 120) -> Any:
    """A docker client that has answered a ping, or :class:`EngineUnavailable`."""
    try:
        client = docker.DockerClient(base_url=base_url, timeout=timeout) if base_url else docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineUnavailable(f"no Docker engine answers: {exc}") from exc
    return client


class DockerDriver:
    name = "docker"

    def __init__(self, client: Any, data_dir_id: str, max_workers: int = 32) -> None:
        self.client = client
        self.data_dir_id = data_dir_id
        self._clock = RealClock()  # engine times are real, whatever the cloud's time scale
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="gureum-docker")

    @classmethod
    async def connect(cls, data_dir_id: str, base_url: str | None = None) -> DockerDriver:
        client = await asyncio.to_thread(connect_client, base_url)
        return cls(client, data_dir_id)

    async def _call(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        except Exception as exc:
            raise _translate(exc) from exc

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self.client.close)

    # -- images ------------------------------------------------------------------

    async def image_exists(self, image: str) -> bool:
        try:
            await self._call(self.client.images.get, image)
        except (ImageNotFound, NotFound):
            return False
        return True

    async def pull(self, image: str, auth: Mapping[str, str] | None = None) -> None:
        repo, tag = split_image(image)
        try:
            await self._call(self.client.images.pull, repo, tag=tag or None, auth_config=dict(auth) if auth else None)
        except EngineUnavailable:
            raise
        except DriverError as exc:
            raise ImageNotFound(f"pull of {image} failed: {exc}") from exc

    async def remove_image(self, image: str) -> None:
        await self._call(self.client.images.remove, image, force=True)

    async def commit(self, container_id: str, image: str) -> str:
        repo, tag = split_image(image)
        container = await self._call(self.client.containers.get, container_id)
        committed = await self._call(container.commit, repository=repo, tag=tag or None)
        return str(committed.id)

    # -- lifecycle ----------------------------------------------------------------

    async def create(self, spec: ContainerSpec) -> str:
        kwargs = create_kwargs(spec, gureum_labels(spec, self.data_dir_id))
        container = await self._call(self.client.containers.create, **kwargs)
        return str(container.id)

    async def start(self, container_id: str) -> None:
        try:
            await self._call(self.client.api.start, container_id)
        except (NotFound, Conflict):
            raise
        except DriverError as exc:
            raise StartFailed(str(exc)) from exc

    async def stop(self, container_id: str, timeout: float = 10.0) -> None:
        await self._call(self.client.api.stop, container_id, timeout=max(0, math.ceil(timeout)))

    async def kill(self, container_id: str, signal: str = "SIGKILL") -> None:
        await self._call(self.client.api.kill, container_id, signal=signal)

    async def remove(self, container_id: str, force: bool = True) -> None:
        await self._call(self.client.api.remove_container, container_id, force=force, v=True)

    async def inspect(self, container_id: str) -> ContainerState:
        attrs = await self._call(self.client.api.inspect_container, container_id)
        return state_from_inspect(attrs)

    async def stats(self, container_id: str) -> Stats:
        raw = await self._call(self.client.api.stats, container_id, stream=False)
        return stats_from_raw(raw)

    async def update_limits(self, container_id: str, cpus: float) -> None:
        """``docker update --cpus``: the containers were made with NanoCpus, which the
        engine will not mix with a CPU quota, so NanoCpus is what changes."""

        def run() -> None:
            url = self.client.api._url("/containers/{0}/update", container_id)
            response = self.client.api._post_json(url, data={"NanoCpus": int(cpus * 1e9)})
            self.client.api._raise_for_status(response)

        await self._call(run)

    async def exec(self, container_id: str, command: list[str]) -> ExecResult:
        def run() -> ExecResult:
            created = self.client.api.exec_create(container_id, command, stdout=True, stderr=True)
            out, err = self.client.api.exec_start(created["Id"], demux=True)
            code = self.client.api.exec_inspect(created["Id"]).get("ExitCode")
            return ExecResult(
                int(code if code is not None else -1),
                (out or b"").decode(errors="replace"),
                (err or b"").decode(errors="replace"),
            )

        return await self._call(run)

    async def list(self, labels: Mapping[str, str] | None = None) -> list[ContainerState]:
        wanted = {DATA_DIR_LABEL: self.data_dir_id, **(labels or {})}
        filters = {"label": [f"{k}={v}" for k, v in wanted.items()]}

        def run() -> list[ContainerState]:
            out = []
            for summary in self.client.api.containers(all=True, filters=filters):
                try:
                    out.append(state_from_inspect(self.client.api.inspect_container(summary["Id"])))
                except docker.errors.NotFound:
                    continue  # removed between the list and the inspect
            return out

        return await self._call(run)

    # -- streams ----------------------------------------------------------------

    async def logs(
        self, container_id: str, *, follow: bool = False, since: float | None = None
    ) -> AsyncIterator[LogLine]:
        await self.inspect(container_id)  # NotFound now, not inside a thread later

        def opener(stdout: bool) -> Callable[[], Any]:
            return lambda: self.client.api.logs(
                container_id, stdout=stdout, stderr=not stdout, stream=True,
                timestamps=True, follow=follow, since=int(since) if since else None,
            )

        sources = [("stdout", opener(True)), ("stderr", opener(False))]
        pending: dict[str, str] = {"stdout": "", "stderr": ""}
        merged = merge_blocking(sources, _close_stream)
        lines: list[LogLine] = []
        try:
            async for tag, chunk in merged:
                pending[tag] += chunk.decode(errors="replace")
                *complete, pending[tag] = pending[tag].split("\n")
                # The SDK sends a float ``since`` in a form the engine misreads; we
                # ask from the whole second and drop the earlier lines here.
                batch = [_log_line(tag, text) for text in complete]
                batch = [line for line in batch if since is None or line.time >= since]
                if follow:
                    for line in batch:
                        yield line
                else:
                    lines.extend(batch)
        finally:
            await merged.aclose()
        tail = [_log_line(tag, text) for tag, text in pending.items() if text]
        lines.extend(line for line in tail if since is None or line.time >= since)
        lines.sort(key=lambda line: line.time)  # stdout and stderr read apart: merge by time
        for line in lines:
            yield line

    def events(self) -> AsyncIterator[Event]:
        """Start/die/oom/health events from the moment of this call on.

        The engine replays from ``since`` = now, so nothing between this call
        and the stream's opening (in its thread) is lost.
        """
        return self._events(self._clock.now())

    async def _events(self, since: float) -> AsyncIterator[Event]:
        filters = {"type": "container", "label": [f"{DATA_DIR_LABEL}={self.data_dir_id}"]}
        opener = functools.partial(self.client.api.events, since=f"{since:.9f}", decode=True, filters=filters)
        merged = merge_blocking([("events", opener)], _close_stream)
        try:
            async for _tag, raw in merged:
                event = event_from_raw(raw)
                if event is not None:
                    yield event
        except Exception as exc:
            raise _translate(exc) from exc
        finally:
            await merged.aclose()
        # Only the engine ends this stream (it stopped or restarted): say so,
        # so the watcher resubscribes and resyncs instead of waiting forever.
        raise EngineUnavailable("the Docker engine closed its event stream")


def _close_stream(stream: Any) -> None:
    stream.close()


def _log_line(stream: str, text: str) -> LogLine:
    stamp, line = split_log_line(text)
    return LogLine(time=stamp or 0.0, stream=stream, line=line)

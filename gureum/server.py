"""Run the App behind uvicorn until Ctrl-C/SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from gureum.settings import Settings


def serve(settings: Settings, quiet: bool = False) -> int:
    import uvicorn

    from gureum.app import App
    from gureum.gateway.asgi import Gateway

    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = App(settings)
    gateway = Gateway(app)
    config = uvicorn.Config(
        gateway,
        host=settings.host,
        port=settings.port,
        loop="asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level="warning",
        timeout_keep_alive=60,
    )
    server = uvicorn.Server(config)
    if not quiet:
        _summary(settings, app)
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal
    # at itself, which with the default handler ends the process with status
    # 143.  Stopping Gureum with SIGTERM is the normal way to stop it (systemd,
    # docker stop, CI): make that re-raised signal a clean exit instead.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        server.run()
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0 if server.started else 1


class _Stopped(Exception):
    pass


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def _summary(settings: Settings, app: object) -> None:
    from rich.console import Console

    from gureum.services import SERVICES

    console = Console(file=sys.stderr, highlight=False)
    console.print(f"[bold cyan]구름 Gureum[/] {getattr(app, 'version', '')} — local AWS-compatible cloud")
    console.print(f"  endpoint   [bold]{settings.endpoint}[/]   (credentials test/test, region {settings.default_region})")
    console.print(f"  data dir   {settings.data_path}")
    console.print(f"  runtime    {_runtime_found(settings.runtime)}")
    if settings.time_scale != 1.0:
        console.print(f"  time scale ×{settings.time_scale:g}")
    console.print(f"  services   {', '.join(SERVICES)}")


def _runtime_found(wanted: str) -> str:
    """What ``--runtime`` will give, from a cheap probe of the Docker socket.

    The driver itself opens lazily (on the first workload), so the summary
    pings the engine's ``/_ping`` instead of importing the Docker SDK.
    """
    if wanted == "process":
        return "process (asked for)"
    if _docker_answers():
        return "docker (engine answers)" + ("" if wanted == "docker" else ", auto")
    if wanted == "docker":
        return "docker asked for, but no engine answers: workloads will fail"
    return "process (no Docker engine answers), auto"


def _docker_answers(timeout: float = 0.5) -> bool:
    import os
    import socket

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(host[len("unix://"):])
        elif host.startswith("tcp://"):
            addr, _, port = host[len("tcp://"):].partition(":")
            sock = socket.create_connection((addr, int(port or 2375)), timeout)
        else:
            return False
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            head = sock.recv(64)
        return head.startswith(b"HTTP/1.") and b" 200 " in head
    except (OSError, ValueError):
        return False

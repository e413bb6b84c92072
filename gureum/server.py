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
    console.print(f"  runtime    {getattr(app, 'runtime_name', 'none')} (asked: {settings.runtime})")
    if settings.time_scale != 1.0:
        console.print(f"  time scale ×{settings.time_scale:g}")
    console.print(f"  services   {', '.join(SERVICES)}")

"""Run the App behind uvicorn until Ctrl-C/SIGTERM."""

from __future__ import annotations

import logging
import sys

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
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0 if not getattr(server, "started", True) is False else 1


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

"""Where a redirect action sends the client.  Pure.

The ``RedirectConfig`` components may use the keywords ``#{protocol}``,
``#{host}``, ``#{port}``, ``#{path}`` (the request path without its leading
``/``) and ``#{query}`` (without the ``?``); the default config keeps every
part of the request URL.  The port is left out of the URL when it is the
protocol's default (80 for HTTP, 443 for HTTPS), as ALB does.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_PORTS = {"http": "80", "https": "443"}


def _fill(template: str, words: Mapping[str, str]) -> str:
    for key, value in words.items():
        template = template.replace("#{" + key + "}", value)
    return template


def location(
    cfg: Mapping[str, str], protocol: str, port: int, host: str, path: str, query: str
) -> str:
    words = {
        "protocol": protocol.upper(),
        "host": host,
        "port": str(port),
        "path": path.lstrip("/"),
        "query": query,
    }
    proto = _fill(cfg.get("Protocol", "#{protocol}"), words).lower()
    new_host = _fill(cfg.get("Host", "#{host}"), words)
    new_port = _fill(cfg.get("Port", "#{port}"), words)
    new_path = _fill(cfg.get("Path", "/#{path}"), words)
    new_query = _fill(cfg.get("Query", "#{query}"), words)
    netloc = new_host if DEFAULT_PORTS.get(proto) == new_port else f"{new_host}:{new_port}"
    url = f"{proto}://{netloc}{new_path}"
    return f"{url}?{new_query}" if new_query else url

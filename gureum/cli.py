"""The ``gureum`` command: up | status | reset | data-path | images build-base.

``up`` runs the cloud in the foreground until Ctrl-C or SIGTERM.  Every flag
also comes from a ``GUREUM_<FLAG>`` environment variable (flags win).
``data-path`` prints the folder of service models Gureum ships (OpsWorks…):
``AWS_DATA_PATH=$(gureum data-path)`` lets boto3 and the AWS CLI load them.
``images build-base`` builds the offline base image ``gureum/busybox`` through
the local Docker engine (:mod:`gureum.runtime.images`); it talks to no Gureum.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

from gureum import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gureum", description="A local AWS-compatible DevOps cloud.")
    p.add_argument("--version", action="version", version=f"gureum {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the cloud in the foreground")
    up.add_argument("--host", help="address to listen on (default 127.0.0.1; GUREUM_HOST)")
    up.add_argument("--port", type=int, help="port for every service (default 4566; GUREUM_PORT)")
    up.add_argument("--data-dir", help="where state lives (default ~/.gureum; GUREUM_DATA_DIR)")
    up.add_argument(
        "--runtime",
        choices=("auto", "docker", "process"),
        help="how workloads run (default auto: docker when an engine answers; GUREUM_RUNTIME)",
    )
    up.add_argument(
        "--time-scale",
        type=float,
        help="run the clock K times faster: a 300 s cooldown passes in 300/K s (GUREUM_TIME_SCALE)",
    )
    up.add_argument("--default-account", help="account for unknown access keys (GUREUM_DEFAULT_ACCOUNT)")
    up.add_argument("--log-level", help="debug | info | warning (GUREUM_LOG_LEVEL)")
    up.add_argument("--quiet", action="store_true", help="no start-up summary")

    for name, text in (("status", "show a running instance's health"), ("reset", "clear all state of a running instance")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--endpoint", help="default http://127.0.0.1:$GUREUM_PORT (4566)")

    sub.add_parser("data-path", help="print the folder of service models Gureum ships (for AWS_DATA_PATH)")

    images = sub.add_parser("images", help="local images for tasks and instances (needs Docker)")
    isub = images.add_subparsers(dest="images_command", required=True)
    base = isub.add_parser(
        "build-base", help="build gureum/busybox FROM scratch from the host's static busybox"
    )
    base.add_argument("--tag", default="gureum/busybox:latest", help="image name (default %(default)s)")
    base.add_argument("--busybox", help="path of a static busybox (default /bin/busybox)")
    base.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        return _up(args)
    if args.command == "images":
        return _build_base(args)
    if args.command == "data-path":
        from gureum.protocol.models import DATA_PATH

        print(DATA_PATH)
        return 0
    endpoint = args.endpoint or os.environ.get("GUREUM_ENDPOINT") or (
        f"http://127.0.0.1:{os.environ.get('GUREUM_PORT', '4566')}"
    )
    if args.command == "status":
        return _status(endpoint)
    if args.command == "reset":
        return _reset(endpoint)
    return 2


def _call(method: str, url: str) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _status(endpoint: str) -> int:
    try:
        code, doc = _call("GET", endpoint + "/_gureum/health")
    except (OSError, ValueError) as exc:
        print(f"gureum is not answering at {endpoint}: {exc}", file=sys.stderr)
        return 1
    print(f"gureum {doc.get('version')} at {endpoint}: {'ready' if code == 200 else 'starting'}")
    print(f"  data dir: {doc.get('dataDir')}   runtime: {doc.get('runtime')}")
    for name, state in sorted(doc.get("services", {}).items()):
        print(f"  {name:<12} {state}")
    for line in doc.get("warnings") or []:
        print(f"  warning: {line}")
    return 0 if code == 200 else 1


def _reset(endpoint: str) -> int:
    try:
        code, _ = _call("POST", endpoint + "/_gureum/reset")
    except (OSError, ValueError) as exc:
        print(f"gureum is not answering at {endpoint}: {exc}", file=sys.stderr)
        return 1
    print("all state cleared" if code == 200 else f"reset failed ({code})")
    return 0 if code == 200 else 1


def _build_base(args: argparse.Namespace) -> int:
    import docker.errors  # type: ignore[import-untyped]

    from gureum.runtime import images
    from gureum.runtime.base import EngineUnavailable
    from gureum.runtime.docker import connect_client

    try:
        client = connect_client()
    except EngineUnavailable as exc:
        print(f"gureum images: {exc}", file=sys.stderr)
        return 1
    try:
        if not args.force and images.base_image_present(client, args.tag):
            image_id = images.build_base(client, args.tag, args.busybox)
            print(f"{args.tag} is already there ({image_id}); --force rebuilds it")
            return 0
        busybox = images.find_busybox(args.busybox)
        image_id = images.build_base(client, args.tag, str(busybox), force=True)
    except (images.BaseImageError, docker.errors.DockerException) as exc:
        print(f"gureum images: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"built {args.tag} ({image_id}) FROM scratch with {busybox}")
    return 0


def _up(args: argparse.Namespace) -> int:
    from gureum.settings import Settings

    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            runtime=args.runtime,
            time_scale=args.time_scale,
            default_account=args.default_account,
            log_level=args.log_level,
        )
    except ValueError as exc:
        print(f"gureum: {exc}", file=sys.stderr)
        return 2
    from gureum.server import serve

    return serve(settings, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())

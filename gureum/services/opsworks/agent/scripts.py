"""What the agent puts into an instance, and the exec command lines that drive it.  Pure.

Everything here is POSIX ``sh`` that busybox runs (the busybox AMI has no
bash and no python).  Inside the instance, with ``R`` the instance's root
(``/`` on docker, ``$HOME`` — the container's folder — on the process
driver) and ``A=$R/opt/aws/opsworks``:

``$A/bin/opsworks-agent``       the heartbeat: while the instance's init lives,
                                writes ``<boot> <n>`` to ``$A/run/heartbeat``
                                every second; its pid is in ``$A/run/agent.pid``
``$A/bin/opsworks-agent-cli``   ``stop`` (kill the heartbeat), ``instance_report``,
                                ``list_commands``, ``show_log [id]``
``$A/bin/opsworks-daemon``      ``opsworks-daemon PIDFILE CMD…``: a server that
                                lives as long as the instance (recipes use it)
``$A/bin/opsworks-template``    ``opsworks-template [cookbook::]NAME DEST``
``$A/site-cookbooks/``          the instance's copy of the custom cookbooks
``$A/commands/<id>/``           one command: ``run.sh``, ``env.sh``,
                                ``attributes.json``, ``log``, ``exit``, ``pid``

Why a watchdog: on the process driver a command run with ``exec`` is not in
the instance's process group, so stopping the instance would not stop what
recipes started.  The heartbeat and ``opsworks-daemon`` watch the init's pid
(``$OPSWORKS_INIT_PID``; 1 on docker) and end with it.
"""

from __future__ import annotations

import base64

AGENT_DIR = "/opt/aws/opsworks"
HEARTBEAT_INTERVAL = 1  # real seconds between heartbeats (see README: the clock scales the timeout, not this)

HEARTBEAT = r"""#!/bin/sh
# The Gureum OpsWorks agent's heartbeat (see opsworks-agent-cli stop).
A="$1"; BOOT="$2"; WATCH="$3"; INTERVAL="${4:-1}"
echo $$ > "$A/run/agent.pid"
n=0
while kill -0 "$WATCH" 2>/dev/null; do
  n=$((n + 1))
  echo "$BOOT $n" > "$A/run/heartbeat.new" && mv -f "$A/run/heartbeat.new" "$A/run/heartbeat"
  sleep "$INTERVAL"
done
"""

AGENT_CLI = r"""#!/bin/sh
# opsworks-agent-cli: a few of the real agent CLI's commands.
A="$(cd "$(dirname "$0")/.." && pwd)"
case "$1" in
  stop)
    pid=$(cat "$A/run/agent.pid" 2>/dev/null)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && echo "agent $pid stopped" ;;
  instance_report)
    echo "agent pid: $(cat "$A/run/agent.pid" 2>/dev/null)"
    echo "heartbeat: $(cat "$A/run/heartbeat" 2>/dev/null)"
    echo "commands: $(ls -1 "$A/commands" 2>/dev/null | grep -vc '\.tar$')" ;;
  list_commands)
    ls -1tr "$A/commands" 2>/dev/null | grep -v '\.tar$' ;;
  show_log)
    id="${2:-$(ls -1t "$A/commands" 2>/dev/null | grep -v '\.tar$' | head -n 1)}"
    cat "$A/commands/$id/log" ;;
  *)
    echo "usage: opsworks-agent-cli stop|instance_report|list_commands|show_log [command id]" >&2
    exit 2 ;;
esac
"""

DAEMON = r"""#!/bin/sh
# opsworks-daemon PIDFILE COMMAND [ARG...]: run COMMAND in the background for as long
# as this instance lives; its pid goes to PIDFILE, its output to PIDFILE.log.
pidfile="$1"; shift
mkdir -p "$(dirname "$pidfile")"
setsid "$@" </dev/null >>"$pidfile.log" 2>&1 &
child=$!
echo "$child" > "$pidfile"
setsid sh -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill "$2" 2>/dev/null' \
  watchdog "${OPSWORKS_INIT_PID:-1}" "$child" </dev/null >/dev/null 2>&1 &
"""

TEMPLATE = r"""#!/bin/sh
# opsworks-template [COOKBOOK::]NAME DEST: put a template Gureum rendered for this command into place.
name="$1"; dest="$2"
case "$name" in
  *::*) cb="${name%%::*}"; name="${name#*::}" ;;
  *) cb="$OPSWORKS_COOKBOOK" ;;
esac
src="$OPSWORKS_TEMPLATES/$cb/$name"
if [ -f "$src.error" ]; then echo "template $cb/$name failed to render: $(cat "$src.error")" >&2; exit 1; fi
if [ ! -f "$src" ]; then echo "template $cb/$name not found (templates/$name.j2 in cookbook $cb)" >&2; exit 1; fi
mkdir -p "$(dirname "$dest")" && cp "$src" "$dest"
"""

BIN = {"opsworks-agent": HEARTBEAT, "opsworks-agent-cli": AGENT_CLI, "opsworks-daemon": DAEMON,
       "opsworks-template": TEMPLATE}


def root_expr(driver_name: str) -> str:
    """Shell that sets R (the instance's root) and A (the agent's folder)."""
    root = '"$HOME"' if driver_name == "process" else '""'
    return f'R={root}; A="$R{AGENT_DIR}"'


def _sh(driver_name: str, body: str, *args: str) -> list[str]:
    return ["sh", "-c", f"{root_expr(driver_name)}\n{body}", "opsworks", *args]


def install_argv(driver_name: str, boot: str, init_pid: int) -> list[str]:
    """Write the agent's scripts and start its heartbeat, unless this boot's runs already."""
    names = sorted(BIN)
    writes = "\n".join(
        f'printf %s "${i + 1}" | base64 -d > "$A/bin/{name}"' for i, name in enumerate(names))
    n = len(names)
    body = f"""set -e
mkdir -p "$A/bin" "$A/run" "$A/commands" "$A/site-cookbooks" "$R/srv/www" "$R/etc/opsworks"
{writes}
chmod +x "$A/bin/"*
BOOT="${n + 1}"; WATCH="${n + 2}"
if [ "$(cut -d ' ' -f 1 "$A/run/heartbeat" 2>/dev/null)" = "$BOOT" ] && kill -0 "$(cat "$A/run/agent.pid")" 2>/dev/null; then
  echo "agent already running"; exit 0
fi
setsid sh "$A/bin/opsworks-agent" "$A" "$BOOT" "$WATCH" {HEARTBEAT_INTERVAL} </dev/null >/dev/null 2>&1 &
echo $! > "$A/run/agent.pid"
echo "$BOOT 0" > "$A/run/heartbeat"
echo "agent started"
"""
    encoded = [base64.b64encode(BIN[name].encode()).decode() for name in names]
    return _sh(driver_name, body, *encoded, boot, str(init_pid))


def heartbeat_argv(driver_name: str) -> list[str]:
    return _sh(driver_name, 'cat "$A/run/heartbeat" 2>/dev/null || true')


def parse_heartbeat(text: str) -> tuple[str, int] | None:
    """``"<boot> <n>"`` → (boot, n); None when there is none (yet)."""
    parts = text.split()
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def write_chunks_argv(driver_name: str, path: str, chunks: list[str], first: bool) -> list[str]:
    """Append base64 ``chunks`` to ``$R<path>.b64`` (truncating it first when ``first``)."""
    start = 'mkdir -p "$(dirname "$F")"; : > "$F.b64"\n' if first else ""
    body = f'F="$R{path}"\n{start}for c in "$@"; do printf %s "$c" >> "$F.b64"; done'
    return _sh(driver_name, body, *chunks)


def finish_write_argv(driver_name: str, path: str) -> list[str]:
    return _sh(driver_name, f'F="$R{path}"; base64 -d "$F.b64" > "$F" && rm -f "$F.b64"')


def command_dir(command_id: str) -> str:
    return f"{AGENT_DIR}/commands/{command_id}"


def launch_argv(driver_name: str, command_id: str, init_pid: int) -> list[str]:
    """Unpack ``<command dir>.tar`` and start its ``run.sh`` in its own session; prints its pid."""
    body = """set -e
ID="$1"; D="$A/commands/$ID"
if [ -f "$D/pid" ]; then cat "$D/pid"; exit 0; fi
rm -rf "$D"; mkdir -p "$D"
tar -xf "$D.tar" -C "$D"; rm -f "$D.tar"
export R A D OPSWORKS_INIT_PID="$2"
setsid sh -c 'sh "$1/run.sh" > "$1/log" 2>&1; echo $? > "$1/exit.new"; mv -f "$1/exit.new" "$1/exit"' \\
  run "$D" </dev/null >/dev/null 2>&1 &
echo $! > "$D/pid"
cat "$D/pid"
"""
    return _sh(driver_name, body, command_id, str(init_pid))


def poll_argv(driver_name: str, command_id: str) -> list[str]:
    """Prints the exit code when the command finished, ``running`` while its session lives, else ``lost``."""
    body = """D="$A/commands/$1"
if [ -f "$D/exit" ]; then cat "$D/exit"; exit 0; fi
if kill -0 "$(cat "$D/pid" 2>/dev/null)" 2>/dev/null; then echo running; else
  if [ -f "$D/exit" ]; then cat "$D/exit"; else echo lost; fi
fi"""
    return _sh(driver_name, body, command_id)


def log_argv(driver_name: str, command_id: str, limit: int) -> list[str]:
    return _sh(driver_name, f'tail -c {int(limit)} "$A/commands/$1/log" 2>/dev/null || true', command_id)


def kill_argv(driver_name: str, command_id: str) -> list[str]:
    """Kill a command's whole session (its recipes and what they started without opsworks-daemon)."""
    body = """D="$A/commands/$1"; pg=$(cat "$D/pid" 2>/dev/null)
[ -n "$pg" ] && kill -TERM -"$pg" 2>/dev/null; sleep 1; [ -n "$pg" ] && kill -KILL -"$pg" 2>/dev/null
echo killed"""
    return _sh(driver_name, body, command_id)

"""An instance as a container: the ContainerSpec and the init it runs.  Pure.

The container of instance ``i-…`` is named ``gureum-ec2-i-…`` and labelled
with its store key, so a restarted Gureum adopts it instead of making
another.  It runs a small init (``sh -c``), which is the instance's
"operating system":

1. on the first boot of *this instance id* only (a semaphore file under
   ``/var/lib/cloud/instances/<id>/sem/``, as cloud-init keeps one), it
   writes the user data to ``/var/lib/cloud/instances/<id>/user-data.txt``
   and, when it starts with ``#!``, runs it in the background as
   cloud-init's ``scripts-user`` would, with its output appended to
   ``/var/log/cloud-init-output.log`` and to the console
   (GetConsoleOutput).  The interpreter of the ``#!`` line is used when the
   image has it, else ``sh`` (the busybox AMI has no bash).  User data
   without ``#!`` (cloud-config…) is stored but not run;
2. then it waits for ever (``sleep`` in a loop) and exits 0 on SIGTERM, so
   StopInstances is a clean shutdown.

Because the semaphore is per instance id, an AMI baked from an instance
(CreateImage) runs the *new* instance's user data, not the old one's, and
a reboot or stop/start does not run it again (as on AWS).

The process driver runs host programs in a folder: there the init's root
is ``$HOME`` (the container's own folder), so ``/var/lib/cloud`` becomes
``$HOME/var/lib/cloud``.

Ports: the docker driver publishes :data:`PUBLISHED_PORTS` on the private
IP (a published port is a listening proxy per container, so not all 65535);
the process driver has the program bind ``$GUREUM_PRIVATE_IP`` itself.
"""

from __future__ import annotations

from typing import Any

from gureum.runtime.base import ContainerSpec, PortMapping
from gureum.services.ec2.instance_types import InstanceType, cpu_limit

Doc = dict[str, Any]

SERVICE_LABEL = "gureum.service"
KEY_LABEL = "gureum.ec2.key"
INSTANCE_LABEL = "gureum.ec2.instance"
USER_DATA_ENV = "GUREUM_USER_DATA"
PUBLISHED_PORTS = (22, 80, 443, 8080)

_INIT = r"""
trap 'exit 0' TERM INT
R={root}
ID={instance_id}
I="$R/var/lib/cloud/instances/$ID"
LOG="$R/var/log/cloud-init-output.log"
mkdir -p "$I/sem" "$I/scripts" "$R/var/log" 2>/dev/null
ln -sfn "$I" "$R/var/lib/cloud/instance" 2>/dev/null
echo "gureum-init: booting $ID" | tee -a "$LOG"
if [ ! -e "$I/sem/config_scripts_user" ]; then
  : > "$I/sem/config_scripts_user"
  printf '%s' "${user_data_env}" | base64 -d > "$I/user-data.txt" 2>/dev/null
  if [ "$(head -c 2 "$I/user-data.txt")" = '#!' ]; then
    cp "$I/user-data.txt" "$I/scripts/part-001"
    chmod +x "$I/scripts/part-001"
    (
      set -- $(head -n 1 "$I/scripts/part-001" | cut -c 3-)
      if [ "${{1##*/}}" = env ]; then shift; fi
      if [ -n "${{1:-}}" ] && command -v "$1" >/dev/null 2>&1; then "$@" "$I/scripts/part-001"; else sh "$I/scripts/part-001"; fi
      echo "gureum-init: user data exited with $?"
    ) 2>&1 | tee -a "$LOG" &
  elif [ -s "$I/user-data.txt" ]; then
    echo "gureum-init: unhandled non-multipart user data (not a #! script): stored, not run" | tee -a "$LOG"
  fi
fi
echo "gureum-init: $ID is up" | tee -a "$LOG"
while :; do sleep 3600 & wait $!; done
"""


def container_name(instance_id: str) -> str:
    return f"gureum-ec2-{instance_id}"


def hostname(ip: str) -> str:
    return "ip-" + ip.replace(".", "-")


def init_script(instance_id: str, driver_name: str) -> str:
    root = '"$HOME"' if driver_name == "process" else '""'
    return _INIT.format(root=root, instance_id=instance_id, user_data_env=USER_DATA_ENV).strip() + "\n"


def container_spec(doc: Doc, itype: InstanceType, *, skey: str, region: str,
                   driver_name: str, host_cpus: int) -> ContainerSpec:
    instance_id = doc["InstanceId"]
    ip = doc.get("PrivateIpAddress")
    return ContainerSpec(
        name=container_name(instance_id),
        image=doc["_dockerImage"],
        owner=doc["_arn"],
        entrypoint=("sh", "-c", init_script(instance_id, driver_name)),
        command=("gureum-init",),  # $0 of the init
        env={
            USER_DATA_ENV: doc.get("_userData") or "",
            "GUREUM_INSTANCE_ID": instance_id,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        },
        labels={SERVICE_LABEL: "ec2", KEY_LABEL: skey, INSTANCE_LABEL: instance_id},
        hostname=hostname(ip) if ip else None,
        ip=ip,
        ports=tuple(PortMapping(p, p) for p in PUBLISHED_PORTS),
        cpus=cpu_limit(itype, host_cpus),
        memory_bytes=itype.memory_bytes,
    )

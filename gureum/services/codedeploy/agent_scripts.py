"""The shell the CodeDeploy agent runs inside an instance.  Pure: strings only.

Every command is one ``sh -c`` script run by the runtime driver's exec in
the instance's container.  ``$R`` is the instance's root: empty on the
docker driver, ``$HOME`` on the process driver (whose "containers" are
folders on the host, see the EC2 README) — so ``/var/www`` in an AppSpec is
``$R/var/www``.  Lifecycle scripts get it as ``GUREUM_ROOT`` besides the
variables the real agent sets (``LIFECYCLE_EVENT``, ``DEPLOYMENT_ID``,
``APPLICATION_NAME``, ``DEPLOYMENT_GROUP_NAME``, ``DEPLOYMENT_GROUP_ID``).

Layout, as the real agent keeps it::

    /opt/codedeploy-agent/deployment-root/<group id>/<deployment id>/bundle.tar
    /opt/codedeploy-agent/deployment-root/<group id>/<deployment id>/deployment-archive/
    /opt/codedeploy-agent/deployment-root/deployment-instructions/<group id>_last_successful_install
    /opt/codedeploy-agent/deployment-root/deployment-instructions/<group id>-cleanup

Exit codes a script run answers beyond the script's own:
:data:`MISSING` (no such file in the revision) and :data:`TIMED_OUT`.
"""

from __future__ import annotations

import posixpath
import shlex

from gureum.services.codedeploy.appspec import FileMapping, Script

AGENT_ROOT = "/opt/codedeploy-agent/deployment-root"
MISSING = 254
TIMED_OUT = 124
CHUNK = 96 * 1024  # base64 characters per exec: one argument stays under Linux's 128 KiB


def prelude(root_is_home: bool) -> str:
    return 'R="$HOME"\n' if root_is_home else "R=\n"


def deployment_dir(group_id: str, deployment_id: str) -> str:
    return f"{AGENT_ROOT}/{group_id}/{deployment_id}"


def instructions(group_id: str) -> tuple[str, str]:
    """(last successful install marker, cleanup file) of a deployment group."""
    base = f"{AGENT_ROOT}/deployment-instructions"
    return f"{base}/{group_id}_last_successful_install", f"{base}/{group_id}-cleanup"


def q(path: str) -> str:
    """A path under the instance root, quoted for sh: ``"$R"'/var/www'``."""
    return '"$R"' + shlex.quote(path)


def upload_chunk(path: str, b64: str, first: bool) -> str:
    redirect = ">" if first else ">>"
    return f"mkdir -p {q(posixpath.dirname(path))} && printf '%s' {shlex.quote(b64)} | base64 -d {redirect} {q(path)}"


def unpack(tar_path: str, archive_dir: str) -> str:
    return f"rm -rf {q(archive_dir)} && mkdir -p {q(archive_dir)} && tar -xf {q(tar_path)} -C {q(archive_dir)}"


def read_file(path: str) -> str:
    return f"cat {q(path)} 2>/dev/null || true"


def run_script(archive_dir: str, script: Script, env: dict[str, str], run_as_ok: bool) -> str:
    """Run one lifecycle script from the revision's folder, with the agent's environment."""
    loc = script.location.lstrip("/")
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    target = shlex.quote("./" + loc)
    invoke = f'if head -c 2 {target} | grep -q "^#!"; then set -- {target}; else set -- sh {target}; fi'
    run = f'timeout {int(script.timeout)} "$@"'
    if script.runas and run_as_ok and script.runas != "root":
        run = f"timeout {int(script.timeout)} su -s /bin/sh {shlex.quote(script.runas)} -c \"$*\""
    return (
        f"cd {q(archive_dir)} || exit {MISSING}\n"
        f"[ -f {target} ] || {{ echo 'Script does not exist at specified location: {loc}' >&2; exit {MISSING}; }}\n"
        f"chmod +x {target} 2>/dev/null\n"
        f'export GUREUM_ROOT="$R" {exports}\n'
        f"{invoke}\n{run}\n"
    )


def install_pairs(files: tuple[str, ...], mappings: tuple[FileMapping, ...]) -> list[tuple[str, str]]:
    """(file in the revision, absolute destination) for every file the ``files`` section copies."""
    out: dict[str, str] = {}
    for m in mappings:
        src = posixpath.normpath(m.source.strip("/")) if m.source.strip("/") else ""
        for f in files:
            if src == "" or f.startswith(src + "/"):
                rel = f if src == "" else f[len(src) + 1:]
                out[posixpath.normpath(posixpath.join(m.destination, rel))] = f
            elif f == src:
                out[posixpath.normpath(posixpath.join(m.destination, posixpath.basename(f)))] = f
    return sorted(((src, dest) for dest, src in out.items()), key=lambda p: p[1])


def install(archive_dir: str, pairs: list[tuple[str, str]], behavior: str, cleanup_file: str) -> str:
    """Remove what the group's last deployment installed, then copy the files (the Install event)."""
    lines = [
        f"if [ -f {q(cleanup_file)} ]; then while IFS= read -r f; do rm -f \"$R$f\"; done < {q(cleanup_file)}; fi",
        f"mkdir -p {q(posixpath.dirname(cleanup_file))} && : > {q(cleanup_file)}.new",
    ]
    if behavior == "DISALLOW":  # every check before any copy: a refused deployment changes nothing
        for _, dest in pairs:
            lines.append(
                f"if [ -e {q(dest)} ]; then echo 'The deployment failed because a specified file already exists at this location: {dest}' >&2; exit 3; fi"
            )
    for src, dest in pairs:
        d, s = q(dest), q(posixpath.join(archive_dir, src))
        copy = f"mkdir -p {q(posixpath.dirname(dest))} && cp -p {s} {d} || exit 4"
        lines.append(f"if [ ! -e {d} ]; then {copy}; fi" if behavior == "RETAIN" else copy)
        lines.append(f"echo {shlex.quote(dest)} >> {q(cleanup_file)}.new")
    lines.append(f"mv {q(cleanup_file)}.new {q(cleanup_file)}")
    return "\n".join(lines) + "\n"


def mark_success(marker: str, archive_dir: str) -> str:
    return f"mkdir -p {q(posixpath.dirname(marker))} && printf '%s' {shlex.quote(archive_dir)} > {q(marker)}"

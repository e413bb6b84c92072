"""Everything Gureum does for a command before the agent runs it.

:func:`prepare` reads the store and S3 and returns the bundle (bundle.py) of
one command on one instance: its recipes (events.py), the instance's
cookbooks — fetched anew from S3 on Setup and ``update_custom_cookbooks``,
else the instance's snapshot —, the merged attributes (attributes.py), the
environment, the apps' archives and the rendered templates.

Anything that keeps the command from starting (cookbooks or an app archive
not in S3, a recipe not in the cookbooks, an unreadable attributes file)
raises :class:`~gureum.services.opsworks.bundle.PrepareError`; the command
then fails with that message as its log, and nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gureum.core.errors import ServiceError
from gureum.core.store import Scope
from gureum.services.opsworks import attributes as attrs_mod
from gureum.services.opsworks import bundle, cookbooks, events
from gureum.services.opsworks.bundle import AppPart, PrepareError
from gureum.services.opsworks.records import APP, INSTANCE, LAYER, of_stack
from gureum.services.opsworks.sources import SourceError, archive_format, object_ref

if TYPE_CHECKING:
    from gureum.app import App

Doc = dict[str, Any]
MAX_APP_ARCHIVE = 100 * 1024 * 1024
_ACTIVITY = {"setup": "setup", "configure": "configure", "shutdown": "shutdown", "undeploy": "undeploy",
             "execute_recipes": "execute_recipes", "update_custom_cookbooks": "update_custom_cookbooks"}


@dataclass(frozen=True)
class Prepared:
    data: bytes  # the bundle (tar)
    cookbooks_digest: str | None  # the cookbooks the instance has once this command ran


def release_name(now: float, command_id: str) -> str:
    """``20240501100000-ab12``: the time of the command (names sort by it), unique per command."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y%m%d%H%M%S") + "-" + command_id[:4]


def _fetch_archive(app: App, app_doc: Doc) -> bytes:
    from gureum.services.s3.public import read_object

    short = app_doc["Shortname"]
    try:
        ref = object_ref(app_doc.get("AppSource"))
    except SourceError as exc:
        raise PrepareError(f"ERROR: cannot deploy app {short}: its source: {exc}") from None
    try:
        data = read_object(app, ref.bucket, ref.key, ref.version_id)
    except ServiceError as exc:
        raise PrepareError(f"ERROR: cannot download the source of app {short} from {ref}: "
                           f"{exc.code}: {exc.message}") from None
    if len(data) > MAX_APP_ARCHIVE:
        raise PrepareError(f"ERROR: the source of app {short} ({ref}) is larger than 100 MB")
    return data


def _app_part(app: App, app_doc: Doc, *, release: str, needs_archive: bool) -> AppPart:
    short = app_doc["Shortname"]
    user_env = {e["Key"]: e["Value"] for e in app_doc.get("Environment") or []}
    env = {
        "OPSWORKS_APP_ID": app_doc["AppId"],
        "OPSWORKS_APP_SHORTNAME": short,
        "OPSWORKS_APP_NAME": app_doc.get("Name") or short,
        "OPSWORKS_APP_TYPE": app_doc.get("Type") or "other",
        "OPSWORKS_APP_DIR": f"$R/srv/www/{short}",
        "OPSWORKS_RELEASE": release,
        "OPSWORKS_RELEASE_DIR": f"$R/srv/www/{short}/releases/{release}",
        "OPSWORKS_DOCUMENT_ROOT": (app_doc.get("Attributes") or {}).get("DocumentRoot") or "",
        "OPSWORKS_APP_PORT": str(user_env.get("PORT") or 80),
    }
    archive = None
    if needs_archive and app_doc.get("AppSource"):
        archive = _fetch_archive(app, app_doc)
        try:
            env["OPSWORKS_APP_ARCHIVE_FORMAT"] = archive_format(archive)
        except SourceError as exc:
            raise PrepareError(f"ERROR: cannot deploy app {short}: {exc}") from None
        env["OPSWORKS_APP_ARCHIVE"] = f"$D/apps/{short}.archive"
    for key, value in user_env.items():
        if not key.startswith("OPSWORKS_"):
            env[key] = value
    return AppPart(short, env, archive)


def _snapshot(app: App, scope: Scope, cmd: Doc, inst: Doc, stack: Doc) -> tuple[cookbooks.Cookbooks, bool]:
    if cmd["Type"] in ("setup", "update_custom_cookbooks"):
        try:
            return cookbooks.fetch(app, stack), True
        except cookbooks.CookbookError as exc:
            raise PrepareError(f"ERROR: {exc}") from None
    return cookbooks.load(app.store, scope, inst.get("_cookbooks")), False


def _base_env(cmd: Doc, inst: Doc, stack: Doc, layers: list[Doc], apps: list[Doc], online: str,
              bind_ip: str) -> dict[str, str]:
    return {
        "OPSWORKS_ROOT": "$R",
        "OPSWORKS_AGENT_DIR": "$A",
        "OPSWORKS_COMMAND_DIR": "$D",
        "OPSWORKS_ATTRIBUTES": "$D/attributes.json",
        "OPSWORKS_COMMAND_ID": cmd["CommandId"],
        "OPSWORKS_COMMAND": cmd["Type"],
        "OPSWORKS_DEPLOYMENT_ID": cmd.get("DeploymentId") or "",
        "OPSWORKS_STACK_ID": stack["StackId"],
        "OPSWORKS_STACK_NAME": stack["Name"],
        "OPSWORKS_INSTANCE_ID": inst["InstanceId"],
        "OPSWORKS_EC2_INSTANCE_ID": inst.get("Ec2InstanceId") or "",
        "OPSWORKS_HOSTNAME": inst.get("Hostname") or "",
        "OPSWORKS_PRIVATE_IP": inst.get("PrivateIp") or "",
        "OPSWORKS_BIND_IP": bind_ip,
        "OPSWORKS_LAYERS": " ".join(lay["Shortname"] for lay in layers),
        "OPSWORKS_APPS": " ".join(a["Shortname"] for a in apps),
        "OPSWORKS_ONLINE_HOSTS": online,
    }


def prepare(app: App, scope: Scope, cmd: Doc, inst: Doc, stack: Doc, driver_name: str) -> Prepared:
    store, now = app.store, app.clock.now()
    layers = [d for d in of_stack(store, LAYER, scope, stack["StackId"])
              if d["LayerId"] in (inst.get("LayerIds") or [])]
    all_layers = of_stack(store, LAYER, scope, stack["StackId"])
    instances = of_stack(store, INSTANCE, scope, stack["StackId"])
    stack_apps = of_stack(store, APP, scope, stack["StackId"])
    the_app = cmd.get("_app")
    apps = [the_app] if the_app else stack_apps
    snapshot, install = _snapshot(app, scope, cmd, inst, stack)
    plan = events.plan(cmd["Type"], layers, [a["Shortname"] for a in stack_apps],
                       app=the_app["Shortname"] if the_app else None, args=cmd.get("_args"),
                       boot=bool(cmd.get("_boot")))
    bundle.check_recipes(plan, snapshot)
    try:
        defaults = snapshot.attributes()
    except cookbooks.CookbookError as exc:
        raise PrepareError(f"ERROR: {exc}") from None
    attrs = attrs_mod.node_attributes(
        cookbook_defaults=defaults, stack=stack, layers=all_layers, instances=instances, instance=inst,
        apps=apps, activity=_ACTIVITY.get(cmd["Type"], "deploy"), now=now, deployment_json=cmd.get("_customJson"))
    bind_ip = (inst.get("PrivateIp") or "127.0.0.1") if driver_name == "process" else "0.0.0.0"
    env = _base_env(cmd, inst, stack, layers, apps, attrs_mod.online_hosts(instances), bind_ip)
    env.update(attrs_mod.flatten_env(attrs))
    release = release_name(now, cmd["CommandId"])
    by_short = {a["Shortname"]: a for a in apps}
    parts = {}
    for short in dict.fromkeys(r.app for r in plan if r.app):
        deploying = any(r.app == short and r.name == "deploy::default" for r in plan)
        parts[short] = _app_part(app, by_short[short], release=release, needs_archive=deploying)
    templates = {}
    if any(snapshot.templates(cb) for cb in snapshot.names()):
        for key in ["_", *parts]:
            view = attrs["deploy"].get(key) if key != "_" else None
            templates[key] = cookbooks.render_templates(snapshot, cookbooks.template_context(attrs, view))
    data = bundle.build(bundle.Bundle(
        command_id=cmd["CommandId"], command_type=cmd["Type"], hostname=inst.get("Hostname") or "",
        plan=plan, cookbooks=snapshot, attributes=attrs, env=env, apps=parts, templates=templates,
        install_cookbooks=install))
    digest = cookbooks.save(store, scope, snapshot) if install and snapshot.files else (
        None if install else inst.get("_cookbooks"))
    return Prepared(data, digest)

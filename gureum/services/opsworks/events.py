"""Which lifecycle events run which recipes on which instances, and when.  Pure.

OpsWorks' rules (workingcookbook-events.html), as Gureum applies them:

* **Setup** runs when a started instance has booted (its agent reported),
  then — in the same command — **Deploy** for every app of the stack.  The
  instance is not online meanwhile, so it is in no load balancer.
* **Configure** runs on *every online instance of the stack* whenever an
  instance comes online or leaves online (stop, lost connection), and when a
  load balancer is attached or detached.  Bursts coalesce: queuing a
  Configure on an instance supersedes its Configure commands that the agent
  has not taken yet (status ``superseded``), so only the newest runs, with
  the newest topology.
* **Deploy** / **Undeploy** run on Deploy / Undeploy commands (and Undeploy
  when an app is deleted).
* **Shutdown** runs after a stop request, before the EC2 instance stops,
  for at most the layer's ``ExecutionTimeout`` (default
  :data:`DEFAULT_SHUTDOWN_TIMEOUT` seconds); then the instance is stopped
  anyway.  A healed instance (its agent is silent) stops without it.
* Built-in recipes run first, then the layers' custom recipes for the event
  (every layer of the instance, in order, each recipe once).
* Reboot runs no lifecycle event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEFAULT_SHUTDOWN_TIMEOUT = 120
# How long other commands may run before the agent gives up on them.
DEFAULT_COMMAND_TIMEOUT = 3600


class Lifecycle(StrEnum):
    SETUP = "Setup"
    CONFIGURE = "Configure"
    DEPLOY = "Deploy"
    UNDEPLOY = "Undeploy"
    SHUTDOWN = "Shutdown"


# The built-in recipes of every layer (DescribeLayers' DefaultRecipes), by event.
BUILTIN: dict[Lifecycle, tuple[str, ...]] = {
    Lifecycle.SETUP: ("opsworks_initial_setup::default",),
    Lifecycle.CONFIGURE: ("opsworks_stack_state_sync::default",),
    Lifecycle.DEPLOY: ("deploy::default",),
    Lifecycle.UNDEPLOY: ("deploy::undeploy",),
    Lifecycle.SHUTDOWN: ("opsworks_shutdown::default",),
}
# Built-in recipes that exist but belong to no event (app commands).
BUILTIN_APP_CONTROL = ("deploy::rollback", "deploy::start", "deploy::stop", "deploy::restart")
BUILTIN_NAMES = frozenset(r for rs in BUILTIN.values() for r in rs) | frozenset(BUILTIN_APP_CONTROL)

# CreateDeployment command names that act on one app.
APP_COMMANDS = ("deploy", "rollback", "undeploy", "start", "stop", "restart")
STACK_COMMANDS = ("install_dependencies", "update_dependencies", "update_custom_cookbooks",
                  "execute_recipes", "configure", "setup")


@dataclass(frozen=True, slots=True)
class RecipeRun:
    """One recipe of a command: a built-in one or ``cookbook::recipe`` of the custom cookbooks."""

    name: str
    event: str  # the lifecycle event (or the command name) it runs for
    builtin: bool
    app: str | None = None  # the app's shortname for per-app recipes


def default_recipes() -> dict[str, list[str]]:
    return {e.value: list(BUILTIN[e]) for e in Lifecycle}


def custom_recipes(layers: Sequence[Mapping[str, Any]], event: Lifecycle) -> list[str]:
    """The custom recipes of the instance's layers for ``event``, in layer order, each once."""
    out: list[str] = []
    for layer in layers:
        for name in (layer.get("CustomRecipes") or {}).get(event.value) or []:
            if name not in out:
                out.append(name)
    return out


def _event(event: Lifecycle, layers: Sequence[Mapping[str, Any]], app: str | None = None) -> list[RecipeRun]:
    runs = [RecipeRun(r, event.value, True, app) for r in BUILTIN[event]]
    runs += [RecipeRun(r, event.value, False, app) for r in custom_recipes(layers, event)]
    return runs


def plan(command: str, layers: Sequence[Mapping[str, Any]], apps: Sequence[str], *,
         app: str | None = None, args: Mapping[str, Sequence[str]] | None = None,
         boot: bool = False) -> list[RecipeRun]:
    """The recipes one command runs on an instance, in order.

    ``apps`` are the stack's app shortnames (Setup at boot deploys each);
    ``app`` is the app of an app command; ``args`` the deployment's Args.
    """
    if command == "setup":
        runs = _event(Lifecycle.SETUP, layers)
        if boot:
            for a in apps:
                runs += _event(Lifecycle.DEPLOY, layers, a)
        return runs
    if command == "configure":
        return _event(Lifecycle.CONFIGURE, layers)
    if command == "shutdown":
        return _event(Lifecycle.SHUTDOWN, layers)
    if command == "deploy":
        return _event(Lifecycle.DEPLOY, layers, app)
    if command == "undeploy":
        return _event(Lifecycle.UNDEPLOY, layers, app)
    if command in ("rollback", "start", "stop", "restart"):
        return [RecipeRun(f"deploy::{command}", command, True, app)]
    if command == "execute_recipes":
        names = list((args or {}).get("recipes") or [])
        return [RecipeRun(n, command, n in BUILTIN_NAMES, None) for n in names]
    return []  # update_custom_cookbooks, install/update_dependencies: no recipes


def split_recipe(name: str) -> tuple[str, str]:
    """``cookbook::recipe`` → (cookbook, recipe); a bare ``cookbook`` means its ``default``."""
    cookbook, _, recipe = name.partition("::")
    return cookbook, recipe or "default"


def shutdown_timeout(layers: Iterable[Mapping[str, Any]]) -> int:
    """Shutdown's ExecutionTimeout: the longest of the instance's layers (default 120 s)."""
    values = []
    for layer in layers:
        cfg = ((layer.get("LifecycleEventConfiguration") or {}).get("Shutdown") or {})
        values.append(int(cfg.get("ExecutionTimeout") or DEFAULT_SHUTDOWN_TIMEOUT))
    return max(values) if values else DEFAULT_SHUTDOWN_TIMEOUT


def drain_first(layers: Iterable[Mapping[str, Any]]) -> bool:
    """DelayUntilElbConnectionsDrained on any layer of the instance."""
    return any(((layer.get("LifecycleEventConfiguration") or {}).get("Shutdown") or {})
               .get("DelayUntilElbConnectionsDrained") for layer in layers)


# -- when commands run -----------------------------------------------------------------------


def may_run(command: str, status: str, boot_setup: bool) -> bool:
    """Whether a queued command may start on an instance in ``status``."""
    if status == "running_setup":
        return boot_setup
    if status == "stopping":
        return command == "shutdown"
    return status == "online" and command != "shutdown"


def never_runs(command: str, status: str) -> bool:
    """A queued command that will not run any more (its instance left online): skip it."""
    if status in ("online", "running_setup", "rebooting"):
        return False
    if status == "stopping":
        return command != "shutdown"
    return True


@dataclass(frozen=True, slots=True)
class Queued:
    command_id: str
    type: str
    acknowledged: bool
    automatic: bool  # queued by the service (topology change), not by a deployment


def superseded_by_new_configure(queue: Iterable[Queued]) -> list[str]:
    """Automatic Configure commands the agent has not taken yet: a newer one replaces them."""
    return [q.command_id for q in queue if q.type == "configure" and q.automatic and not q.acknowledged]

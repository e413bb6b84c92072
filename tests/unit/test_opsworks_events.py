"""Which recipes a command runs, when commands run, Configure coalescing, sources."""

from __future__ import annotations

import io
import tarfile

import pytest

from gureum.services.opsworks import events
from gureum.services.opsworks.events import Queued, RecipeRun, plan
from gureum.services.opsworks.sources import (
    ObjectRef,
    SourceError,
    archive_format,
    object_ref,
    parse_url,
)

WEB = {"LayerId": "l1", "CustomRecipes": {"Setup": ["web::setup", "common::base"], "Deploy": ["web::deploy"],
                                          "Configure": ["web::configure"]}}
DB = {"LayerId": "l2", "CustomRecipes": {"Setup": ["common::base", "db::setup"], "Shutdown": ["db::dump"]},
      "LifecycleEventConfiguration": {"Shutdown": {"ExecutionTimeout": 300, "DelayUntilElbConnectionsDrained": True}}}


def names(runs: list[RecipeRun]) -> list[str]:
    return [(r.name + (f"@{r.app}" if r.app else "")) for r in runs]


def test_boot_setup_runs_setup_then_deploys_every_app() -> None:
    runs = plan("setup", [WEB, DB], ["site", "api"], boot=True)
    assert names(runs) == ["opsworks_initial_setup::default", "web::setup", "common::base", "db::setup",
                           "deploy::default@site", "web::deploy@site", "deploy::default@api", "web::deploy@api"]
    assert [r.builtin for r in runs[:2]] == [True, False]


def test_a_setup_command_alone_does_not_deploy() -> None:
    assert names(plan("setup", [WEB], ["site"])) == ["opsworks_initial_setup::default", "web::setup", "common::base"]


@pytest.mark.parametrize(("command", "expected"), [
    ("configure", ["opsworks_stack_state_sync::default", "web::configure"]),
    ("deploy", ["deploy::default@site", "web::deploy@site"]),
    ("undeploy", ["deploy::undeploy@site"]),
    ("rollback", ["deploy::rollback@site"]),
    ("restart", ["deploy::restart@site"]),
    ("shutdown", ["opsworks_shutdown::default", "db::dump"]),
    ("update_custom_cookbooks", []),
    ("install_dependencies", []),
])
def test_plans(command: str, expected: list[str]) -> None:
    assert names(plan(command, [WEB, DB], ["site"], app="site")) == expected


def test_execute_recipes_runs_what_it_is_given() -> None:
    runs = plan("execute_recipes", [WEB], [], args={"recipes": ["web::setup", "deploy::default", "x"]})
    assert [(r.name, r.builtin) for r in runs] == [("web::setup", False), ("deploy::default", True), ("x", False)]
    assert events.split_recipe("x") == ("x", "default")


def test_shutdown_settings_of_the_layers() -> None:
    assert events.shutdown_timeout([WEB]) == 120
    assert events.shutdown_timeout([WEB, DB]) == 300
    assert events.drain_first([WEB]) is False and events.drain_first([WEB, DB]) is True


@pytest.mark.parametrize(("command", "status", "boot", "may"), [
    ("setup", "running_setup", True, True),
    ("deploy", "running_setup", False, False),
    ("deploy", "online", False, True),
    ("shutdown", "online", False, False),
    ("shutdown", "stopping", False, True),
    ("configure", "stopping", False, False),
    ("configure", "booting", False, False),
])
def test_may_run(command: str, status: str, boot: bool, may: bool) -> None:
    assert events.may_run(command, status, boot) is may


@pytest.mark.parametrize(("command", "status", "never"), [
    ("deploy", "online", False), ("deploy", "running_setup", False), ("deploy", "stopping", True),
    ("shutdown", "stopping", False), ("configure", "stopped", True), ("configure", "connection_lost", True),
])
def test_never_runs(command: str, status: str, never: bool) -> None:
    assert events.never_runs(command, status) is never


def test_a_new_configure_supersedes_queued_automatic_ones_only() -> None:
    queue = [Queued("a", "configure", acknowledged=True, automatic=True),  # running: keeps going
             Queued("b", "configure", acknowledged=False, automatic=True),
             Queued("c", "configure", acknowledged=False, automatic=False),  # a deployment's: kept
             Queued("d", "deploy", acknowledged=False, automatic=False),
             Queued("e", "configure", acknowledged=False, automatic=True)]
    assert events.superseded_by_new_configure(queue) == ["b", "e"]


@pytest.mark.parametrize(("url", "ref"), [
    ("s3://bucket/path/to/cb.zip", ObjectRef("bucket", "path/to/cb.zip")),
    ("http://127.0.0.1:4566/bucket/a%20b.zip", ObjectRef("bucket", "a b.zip")),
    ("https://s3.amazonaws.com/bucket/k.zip", ObjectRef("bucket", "k.zip")),
    ("https://s3-us-west-2.amazonaws.com/bucket/k.zip", ObjectRef("bucket", "k.zip")),
    ("https://bucket.s3.amazonaws.com/dir/k.zip", ObjectRef("bucket", "dir/k.zip")),
    ("https://my.bucket.s3.us-east-1.amazonaws.com/k.zip", ObjectRef("my.bucket", "k.zip")),
    ("s3://bucket/k.zip?versionId=v1", ObjectRef("bucket", "k.zip", "v1")),
])
def test_s3_urls(url: str, ref: ObjectRef) -> None:
    assert parse_url(url) == ref


@pytest.mark.parametrize("source", [
    {"Type": "git", "Url": "https://github.com/x/y.git"},
    {"Type": "s3"},
    {"Type": "s3", "Url": "s3://bucket-only"},
    {"Type": "archive", "Url": "ftp://host/x.zip"},
])
def test_unusable_sources(source: dict[str, str]) -> None:
    with pytest.raises(SourceError):
        object_ref(source)


def test_archive_formats() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("a")
        t.addfile(info, io.BytesIO(b""))
    assert archive_format(buf.getvalue()) == "tar"
    assert archive_format(b"PK\x03\x04rest") == "zip"
    assert archive_format(b"\x1f\x8b\x08rest") == "tgz"
    assert archive_format(b"BZh91AY") == "tbz"
    with pytest.raises(SourceError):
        archive_format(b"plain text")

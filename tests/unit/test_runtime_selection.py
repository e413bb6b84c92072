"""Opening the runtime driver: auto falls back to processes; the data dir id is stable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gureum.runtime.base import EngineUnavailable
from gureum.runtime.selection import data_dir_id, open_driver

NO_ENGINE = "unix:///nonexistent/gureum-test-docker.sock"


def test_data_dir_id_is_made_once(tmp_path: Path) -> None:
    first = data_dir_id(tmp_path)
    assert len(first) == 12 and data_dir_id(tmp_path) == first
    assert data_dir_id(tmp_path / "other") != first


def test_auto_without_an_engine_is_the_process_driver(tmp_path: Path) -> None:
    async def scenario() -> None:
        driver = await open_driver("auto", tmp_path, docker_url=NO_ENGINE)
        assert driver.name == "process" and driver.data_dir_id == data_dir_id(tmp_path)
        await driver.close()
        with pytest.raises(EngineUnavailable):
            await open_driver("docker", tmp_path, docker_url=NO_ENGINE)
        with pytest.raises(ValueError):
            await open_driver("kubernetes", tmp_path)

    asyncio.run(scenario())

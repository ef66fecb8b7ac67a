"""The headless deployment files: a Dockerfile and a compose file that hang together.

Docker is not needed (nor used): the files are parsed and checked against the station
itself (its settings, its health endpoint, the files the image copies).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from task_station.config import Settings

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "packaging" / "docker"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_dockerfile_runs_serve_as_a_non_root_user_with_a_healthcheck() -> None:
    steps = instructions(DOCKER / "Dockerfile")
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    assert re.fullmatch(r"python:3\.1\d-slim(-\w+)?", final[0][1].split()[0])
    users = [arg for key, arg in final if key == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert dict(final)["ENTRYPOINT"] == '["task-station"]'
    assert dict(final)["CMD"] == '["serve"]'
    health = dict(final)["HEALTHCHECK"]
    assert "--interval=" in health and "/app/healthcheck.py" in health
    env_line = " ".join(a for k, a in final if k == "ENV")
    assert "TASK_API_HOST=0.0.0.0" in env_line and "TASK_DATA_DIR=/data" in env_line
    assert dict(final)["EXPOSE"] == "8765" and "TASK_API_PORT=8765" in env_line


def test_dockerfile_copies_only_files_that_exist_and_the_context_allows() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    allowed = {line[1:].removesuffix("/**") for line in ignore.splitlines() if line.startswith("!")}
    for key, arg in instructions(DOCKER / "Dockerfile"):
        if key == "COPY" and "--from=" not in arg:
            *sources, _target = shlex.split(arg)
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is not in the build context"


def test_compose_runs_the_station_with_postgresql_and_healthchecks(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"db", "station"}
    db, station = services["db"], services["station"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert station["command"] == ["serve"]
    assert station["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert station["healthcheck"]["test"] == ["CMD", "python", "/app/healthcheck.py"]
    build = station["build"]
    assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    env = station["environment"]
    assert re.fullmatch(r"postgresql\+psycopg://station:\$\{POSTGRES_PASSWORD[^}]*\}@db:5432/station",
                        env["TASK_DATABASE_URL"])  # fmt: skip
    assert env["TASK_KEYRING_PASSWORD"].startswith("${TASK_KEYRING_PASSWORD:?")  # never inline
    assert all(p.startswith("127.0.0.1:") for p in station["ports"])
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert named == set(compose["volumes"]) == {"pgdata", "station-data"}


def test_compose_environment_names_real_settings(compose: dict[str, Any]) -> None:
    fields = {f"TASK_{name.upper()}" for name in Settings.model_fields}
    env = compose["services"]["station"]["environment"]
    assert set(env) <= fields, set(env) - fields
    example = (DOCKER / "example.env").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{(\w+):\?", (DOCKER / "compose.yaml").read_text()))
    assert needed <= {line.split("=")[0] for line in example.splitlines() if "=" in line}

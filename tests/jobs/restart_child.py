"""A station that is SIGKILLed with jobs in its queue (run by ``test_restart.py``).

``python -m tests.jobs.restart_child DATA_DIR`` builds the real container on the SQLite
file in DATA_DIR with one job slot, starts it, and queues two jobs: ``test.hang`` (its
effect done, then it hangs, holding the only slot) and ``test.effect`` (left queued
behind it). It prints ``READY <hang id> <effect id>`` once the hang job's effect is in
the file, then waits for its SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from keyrings.cryptfile.cryptfile import CryptFileKeyring

from task_station.config import Settings
from task_station.container import Container, build_container
from task_station.jobs.queue import JobContext

EFFECTS = "effects.txt"
VAULT_PASSWORD = "test-vault-password"
#: The vault's Argon2 cost in these tests (child and parent must agree; the real cost
#: makes each secret read take seconds).
CHEAP_KDF = {"time_cost": 1, "memory_cost": 1024}


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        keyring_backend="cryptfile",
        keyring_password=VAULT_PASSWORD,
        bcrypt_rounds=4,
        api_port=0,
    )


async def record_effect(ctx: JobContext, data_dir: Path) -> None:
    """The job's one outside effect: a line with its id, done at most once per job."""

    async def write() -> str:
        with (data_dir / EFFECTS).open("a", encoding="utf-8") as out:
            out.write(f"{ctx.job.id}\n")
        return "written"

    await ctx.once("effect", write)


def register(container: Container, data_dir: Path, *, hang: bool) -> None:
    async def effect(ctx: JobContext) -> dict[str, int]:
        await record_effect(ctx, data_dir)
        return {"attempt": ctx.attempt}

    async def hanging(ctx: JobContext) -> dict[str, int]:
        await record_effect(ctx, data_dir)
        if hang:
            await asyncio.Event().wait()
        return {"attempt": ctx.attempt}

    jobs = container.services.jobs
    jobs.register("test.effect", effect)
    jobs.register("test.hang", hanging)
    jobs.queue.lease_seconds = 1.0
    jobs.queue.poll_seconds = 0.05


async def main(data_dir: Path) -> None:
    for name, value in CHEAP_KDF.items():
        setattr(CryptFileKeyring, name, value)
    container = build_container(settings_for(data_dir))
    register(container, data_dir, hang=True)
    container.services.jobs.queue.concurrency = 1
    await container.start()
    hang = container.services.jobs.enqueue("test.hang", title="holds the only slot")
    while not (data_dir / EFFECTS).exists():
        await asyncio.sleep(0.02)
    later = container.services.jobs.enqueue("test.effect", title="queued behind it")
    print(f"READY {hang.id} {later.id}", flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

"""Secrets planted through the real vault and services appear nowhere else.

An exchange API key and secret, a wallet's private key, an RPC URL's key, a webhook's
URL and signing key and the JWT signing key go in through the API (or exist, for the
JWT key); then the station is made to talk: every read route, error answers, an
unexpected exception, log lines (the JSON log file), the database dumped table by
table, the backup archive unpacked file by file. None of the secret strings may show
up in any of it.
"""

from __future__ import annotations

import logging
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from task_station.container import JWT_KEY_REF, backup_service
from task_station.logging_setup import configure_logging
from task_station.redaction import forget_secrets
from tests.api.helpers import Station

API_KEY = "AKIAPLANTEDKEY0001234567"
API_SECRET = "planted-api-secret-9f8e7d6c5b4a"
WALLET_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe512961708279f3c5a1b2c3d4e5f6a7"
RPC_KEY = "rpcplantedkey5566778899aabb"
HOOK_URL = "https://hooks.example.invalid/planted-hook-token-31415926"
HOOK_KEY = "planted-signing-key-27182818"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs" / "station.jsonl"
    level = logging.getLogger().level
    configure_logging("DEBUG", path)
    try:
        yield path
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_task_station", False):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
        forget_secrets()


async def _plant(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    account = {"name": "main", "exchange_id": "binance", "api_key": API_KEY,
               "api_secret": API_SECRET, "sandbox": True}  # fmt: skip
    assert (await client.post("/accounts", json=account, headers=auth)).status_code == 201
    chain = {"name": "dev", "rpc_url": f"https://node.example.invalid/v3/{RPC_KEY}",
             "chain_id": 31337}  # fmt: skip
    assert (await client.post("/chains", json=chain, headers=auth)).status_code == 201
    wallet = {"chain_id": 31337, "label": "hot", "private_key": WALLET_KEY}
    response = await client.post("/wallets", json=wallet, headers=auth)
    assert response.status_code == 201, response.text
    channel = {"type": "webhook", "secret": {"url": HOOK_URL, "signing_key": HOOK_KEY}}
    response = await client.put("/notifications/channels/ops", json=channel, headers=auth)
    assert response.status_code == 200, response.text


async def _talk(
    station: Station,
    client: httpx.AsyncClient,
    auth: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    """Everything the station says over HTTP while exercised."""
    said = []
    for path in ("/accounts", "/chains", "/wallets", "/notifications/channels", "/audit",
                 "/auth/me", "/auth/sessions", "/auth/users", "/logs", "/openapi.json",
                 "/jobs", "/health/ready", "/metrics"):  # fmt: skip
        response = await client.get(path, headers=auth)
        assert response.status_code == 200, (path, response.text)
        said.append(response.text)
    # errors that name what was refused
    duplicate = {"name": "main", "exchange_id": "binance", "api_key": API_KEY,
                 "api_secret": API_SECRET}  # fmt: skip
    said.append((await client.post("/accounts", json=duplicate, headers=auth)).text)
    wrong = {**duplicate, "name": "other", "exchange_id": f"no-such-{API_SECRET}"}
    said.append((await client.post("/accounts", json=wrong, headers=auth)).text)
    bad_wallet = {"chain_id": 31337, "label": "x", "private_key": WALLET_KEY[:-2] + "zz"}
    said.append((await client.post("/wallets", json=bad_wallet, headers=auth)).text)
    extra = {**duplicate, "unexpected": API_SECRET}
    said.append((await client.post("/accounts", json=extra, headers=auth)).text)

    # a careless failure deep inside: the answer is generic, the log redacted
    def boom() -> None:
        raise RuntimeError(f"exchange rejected key {API_KEY} / {API_SECRET}")

    monkeypatch.setattr(station.services.accounts, "list", boom)
    failed = await client.get("/accounts", headers=auth)
    assert failed.status_code == 500
    said.append(failed.text)
    logging.getLogger("task_station.careless").warning(
        "connecting with %s and wallet %s", API_SECRET, WALLET_KEY
    )
    return said


def _database_dump(station: Station) -> str:
    path = station.container.settings.data_dir / "task-station.db"
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump())


def _archive_text(station: Station, tmp_path: Path) -> str:
    archive = tmp_path / "backup.tar.gz"
    backup_service(station.container.settings).backup(archive)
    chunks = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member)
            if extracted is not None:
                # text files as they are; a database file's strings are UTF-8 inside it
                chunks.append(extracted.read().decode("utf-8", "replace"))
    return "\n".join(chunks)


async def test_planted_secrets_appear_in_no_response_log_database_or_export(
    station: Station,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    log_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jwt_key = station.container.vault.get(JWT_KEY_REF)
    assert jwt_key
    await _plant(client, admin_headers)
    said = await _talk(station, client, admin_headers, monkeypatch)
    monkeypatch.undo()
    for handler in logging.getLogger().handlers:
        handler.flush()
    places = {
        "API responses": "\n".join(said),
        "log file": log_file.read_text(encoding="utf-8"),
        "database": _database_dump(station),
        "backup archive": _archive_text(station, tmp_path),
    }
    assert "exchange rejected key" in places["log file"]  # the failure was logged...
    secrets = {"API key": API_KEY, "API secret": API_SECRET, "wallet key": WALLET_KEY,
               "wallet key (bare hex)": WALLET_KEY[2:], "RPC key": RPC_KEY,
               "webhook URL": HOOK_URL, "webhook signing key": HOOK_KEY, "JWT key": jwt_key}  # fmt: skip
    leaks = [
        f"{name} in the {where}"
        for where, text in places.items()
        for name, secret in secrets.items()
        if secret in text
    ]
    assert not leaks, leaks

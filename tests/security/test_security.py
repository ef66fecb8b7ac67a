"""Passwords, tokens, the vault and log redaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from task_station.domain.errors import (
    AuthenticationError,
    ConfigurationError,
    SecretStoreError,
    ValidationError,
)
from task_station.logging_setup import RedactingFilter, redact
from task_station.security.passwords import hash_password, verify_password
from task_station.security.tokens import TokenClaims, TokenIssuer
from task_station.security.vault import SecretsVault

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_password_hash_verifies_only_the_right_password() -> None:
    h = hash_password("correct horse", rounds=4)
    assert verify_password("correct horse", h)
    assert not verify_password("wrong horse", h)
    assert "correct" not in h


@pytest.mark.parametrize(
    ("pw", "message"), [("short", "at least 8"), ("é" * 40, "at most 72 bytes")]
)
def test_password_policy(pw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        hash_password(pw, rounds=4)


def test_token_round_trip_and_expiry_and_tamper() -> None:
    issuer = TokenIssuer(b"k" * 32, timedelta(minutes=5))
    claims = TokenClaims("u1", "ann", "admin", "s1", NOW + timedelta(minutes=5))
    token = issuer.issue(claims)
    assert issuer.verify(token, NOW).user_id == "u1"
    with pytest.raises(AuthenticationError, match="expired"):
        issuer.verify(token, NOW + timedelta(minutes=6))
    with pytest.raises(AuthenticationError, match="invalid token"):
        TokenIssuer(b"x" * 32, timedelta(minutes=5)).verify(token, NOW)


def test_short_jwt_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        TokenIssuer(b"12345", timedelta(minutes=1))


def test_encrypted_vault_round_trip_and_wrong_password(tmp_path: Path) -> None:
    vault = SecretsVault(tmp_path, "cryptfile")
    with pytest.raises(SecretStoreError, match="locked"):
        vault.get("api")
    vault.unlock("master-password-1")
    vault.set("binance-key", "s3cr3t-value")
    assert "s3cr3t-value" not in (tmp_path / "secrets.cfg").read_text()
    again = SecretsVault(tmp_path, "cryptfile")
    again.unlock("master-password-1")
    assert again.get("binance-key") == "s3cr3t-value"
    with pytest.raises(SecretStoreError, match="wrong vault password"):
        SecretsVault(tmp_path, "cryptfile").unlock("not-the-password")


def test_redaction_masks_credentials_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    assert "hunter2" not in redact("login password=hunter2 ok")
    assert "abc.def.ghi" not in redact("Authorization: Bearer abc.def.ghijklmnop")
    assert "pw" not in redact("postgresql://user:pw@host/db").split("@")[0].split(":")[-1]
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("api_key=%s", "AKIA-SECRET")
    assert "AKIA-SECRET" not in caplog.text
    logger.filters.clear()


def test_deleted_secret_is_gone_after_reopening(tmp_path: Path) -> None:
    vault = SecretsVault(tmp_path, "cryptfile")
    vault.unlock("master-password-1")
    vault.set("account:1:api_key", "key-to-forget")
    vault.delete("account:1:api_key")
    vault.delete("never-stored")  # deleting nothing is fine
    again = SecretsVault(tmp_path, "cryptfile")
    again.unlock("master-password-1")
    assert again.get("account:1:api_key") is None

"""bcrypt's 72-byte limit, access and refresh tokens, login lockout, redaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from task_station.domain.errors import AuthenticationError, TooManyRequestsError, ValidationError
from task_station.logging_setup import RedactingFilter
from task_station.redaction import forget_secrets, redact, remember_secret
from task_station.security.lockout import LockoutPolicy, LoginThrottle
from task_station.security.passwords import MAX_BYTES, hash_password, verify_password
from task_station.security.tokens import (
    TokenClaims,
    TokenIssuer,
    new_refresh_token,
    refresh_token_hash,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = b"k" * 32


def test_password_of_exactly_72_bytes_hashes_and_verifies() -> None:
    password = "é" * 36  # 72 bytes in UTF-8
    assert len(password.encode()) == MAX_BYTES
    assert verify_password(password, hash_password(password, rounds=4))


def test_password_over_72_bytes_is_refused_not_truncated() -> None:
    head = "a" * MAX_BYTES
    with pytest.raises(ValidationError, match="at most 72 bytes"):
        hash_password(head + "b", rounds=4)
    # bcrypt itself would have ignored the tail: a stored 72-byte password must not
    # accept a longer one that merely starts with it
    stored = hash_password(head, rounds=4)
    assert verify_password(head, stored)
    assert not verify_password(head + "anything", stored)


def test_password_with_nul_is_refused_and_never_verifies() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        hash_password("abc\x00defghij", rounds=4)
    assert not verify_password("abc\x00defghij", hash_password("abcdefghij", rounds=4))


def test_expired_forged_and_refresh_shaped_tokens_are_refused() -> None:
    issuer = TokenIssuer(KEY, timedelta(minutes=5))
    token = issuer.issue(TokenClaims("u1", "ann", "admin", "s1", NOW + timedelta(minutes=5)))
    assert issuer.verify(token, NOW).session_id == "s1"
    with pytest.raises(AuthenticationError, match="expired"):
        issuer.verify(token, NOW + timedelta(minutes=5))
    with pytest.raises(AuthenticationError, match="invalid"):
        TokenIssuer(b"x" * 32, timedelta(minutes=5)).verify(token, NOW)
    unsigned = jwt.encode({"sub": "u1", "sid": "s1", "exp": 2**40}, key="", algorithm="none")
    with pytest.raises(AuthenticationError, match="invalid"):
        issuer.verify(unsigned, NOW)
    wrong_type = jwt.encode(
        {"typ": "refresh", "sub": "u1", "sid": "s1", "exp": 2**40}, KEY, algorithm="HS256"
    )
    with pytest.raises(AuthenticationError, match="not an access token"):
        issuer.verify(wrong_type, NOW)


def test_refresh_tokens_are_random_and_stored_only_as_a_hash() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second and len(first) >= 43
    digest = refresh_token_hash(first)
    assert len(digest) == 64 and first not in digest


def test_lockout_after_free_attempts_with_growing_backoff() -> None:
    now = [NOW]
    throttle = LoginThrottle(lambda: now[0], LockoutPolicy(free_attempts=3))
    keys = LoginThrottle.keys("Alice", "10.0.0.1")
    for _ in range(2):
        throttle.check(keys)
        throttle.failed(keys)
    throttle.check(keys)  # two failures: still free
    throttle.failed(keys)  # the third locks for 2 s
    with pytest.raises(TooManyRequestsError) as locked:
        throttle.check(keys)
    assert locked.value.retry_after == 2
    now[0] += timedelta(seconds=3)
    throttle.check(keys)
    throttle.failed(keys)  # the next one locks twice as long
    with pytest.raises(TooManyRequestsError) as longer:
        throttle.check(keys)
    assert longer.value.retry_after == 4


def test_lockout_is_per_username_and_per_address() -> None:
    throttle = LoginThrottle(
        lambda: NOW, LockoutPolicy(free_attempts=2), LockoutPolicy(free_attempts=4)
    )
    for name in ("a1", "a2", "a3", "a4"):  # a sprayer trying one password per user
        throttle.failed(LoginThrottle.keys(name, "10.0.0.9"))
    with pytest.raises(TooManyRequestsError):
        throttle.check(LoginThrottle.keys("someone-else", "10.0.0.9"))
    throttle.check(LoginThrottle.keys("someone-else", "10.0.0.10"))  # other address: fine
    throttle.failed(LoginThrottle.keys("bob", None))
    throttle.failed(LoginThrottle.keys("BOB", "10.0.0.11"))
    with pytest.raises(TooManyRequestsError):
        throttle.check(LoginThrottle.keys("bob", "10.0.0.12"))  # the name, from anywhere
    throttle.succeeded("bob")
    throttle.check(LoginThrottle.keys("bob", "10.0.0.12"))


def test_redaction_masks_known_secrets_and_jwts_anywhere(caplog: pytest.LogCaptureFixture) -> None:
    secret = "wallet-Key-0xABCDEF0123456789"
    remember_secret(secret)
    remember_secret("short")  # too short to remember
    try:
        assert secret not in redact(f"failed with {secret}!")
        assert "short" in redact("a short word")
        token = jwt.encode({"sub": "x"}, KEY, algorithm="HS256")
        assert token not in redact(f"got {token} back")
        logger = logging.getLogger("test.planted")
        logger.addFilter(RedactingFilter())
        with caplog.at_level(logging.INFO, logger="test.planted"):
            try:
                raise RuntimeError(f"venue refused {secret}")
            except RuntimeError:
                logger.exception("while using %s", secret)
        logger.filters.clear()
        assert secret not in caplog.text
    finally:
        forget_secrets()

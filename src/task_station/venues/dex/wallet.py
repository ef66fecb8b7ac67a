"""Wallets: a signing key held in memory only, or a watch-only address.

The key comes from the secrets vault (the caller reads it) and is never stored,
printed or logged here: ``repr`` and error messages show the address alone.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from task_station.domain.dex import check_address
from task_station.domain.errors import ValidationError


class Wallet:
    """An address the venue reads balances for; signs only if it holds a key."""

    def __init__(self, address: str, account: LocalAccount | None = None) -> None:
        self.address = check_address(address, "wallet")
        self.__account = account

    @classmethod
    def from_key(cls, private_key: str) -> Wallet:
        """A signing wallet; a malformed key gives an error that does not echo it."""
        try:
            account: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError, Exception):
            raise ValidationError(
                "that is not a valid private key (expected 32 bytes as 64 hex digits)"
            ) from None
        return cls(str(account.address), account)

    @classmethod
    def watch_only(cls, address: str) -> Wallet:
        return cls(address)

    @property
    def can_sign(self) -> bool:
        return self.__account is not None

    def sign(self, tx: dict[str, Any]) -> bytes:
        """Sign a transaction dict; raw bytes ready for ``eth_sendRawTransaction``."""
        if self.__account is None:
            raise ValidationError(
                f"wallet {self.address} is watch-only: add its key to trade from it"
            )
        signed = self.__account.sign_transaction(tx)
        return bytes(signed.raw_transaction)

    def __repr__(self) -> str:
        kind = "signing" if self.can_sign else "watch-only"
        return f"Wallet({self.address}, {kind})"

    __str__ = __repr__

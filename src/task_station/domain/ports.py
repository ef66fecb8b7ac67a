"""Storage ports: what the engine and services need from persistence.

``persistence/`` implements them on SQLAlchemy; ``engine/memory.py`` implements them in
memory for backtests, where writing every simulated order to disk would only slow the
run. Both honour the same contract, and the same tests run against both.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from task_station.domain.accounts import Account
from task_station.domain.balances import Balance
from task_station.domain.bots import BotDefinition
from task_station.domain.dex import Token
from task_station.domain.dex_registry import ChainRecord, DexRecord, FollowedToken, WalletRecord
from task_station.domain.orders import Fill, Order, OrderStatus
from task_station.domain.positions import Position
from task_station.domain.proposals import ApprovalRules, Proposal, ProposalStatus
from task_station.domain.risk import KillSwitchState
from task_station.domain.users import SessionRecord, User


class OrderStore(Protocol):
    def add(self, order: Order) -> None:
        """Insert a new order (the write-ahead intent). Raises ConflictError on a duplicate id."""

    def update(self, order: Order) -> None:
        """Persist the order's new state. Raises NotFoundError for an unknown id."""

    def record_fill(self, order: Order, fill: Fill) -> None:
        """Atomically store ``fill`` and the order state after it (idempotent by trade id)."""

    def get(self, client_order_id: str) -> Order | None: ...

    def list(
        self,
        *,
        bot_id: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        limit: int = 500,
    ) -> builtins.list[Order]:
        """Newest first."""

    def list_fills(self, *, bot_id: str | None = None, limit: int = 5000) -> builtins.list[Fill]:
        """Oldest first."""


class BotStore(Protocol):
    def add(self, bot: BotDefinition) -> None: ...
    def update(self, bot: BotDefinition) -> None: ...
    def get(self, bot_id: str) -> BotDefinition | None: ...
    def list(self) -> builtins.list[BotDefinition]: ...

    def progress(self, bot_id: str) -> int:
        """How many bars of its feed the bot has processed (0 for a new bot)."""

    def save_progress(self, bot_id: str, bars_done: int) -> None:
        """Store only the bot's feed position (``update`` never touches it)."""

    def risk_marks(self, bot_id: str) -> Mapping[str, str]:
        """What its loss limits had measured when last stored (empty: nothing yet)."""

    def save_risk_marks(self, bot_id: str, marks: Mapping[str, str]) -> None:
        """Store only the bot's risk marks (``RiskMarks.to_mapping``)."""


class KillSwitchStore(Protocol):
    """Where the station's kill switch survives a restart."""

    def load(self) -> KillSwitchState | None:
        """The stored switch; None when it was never engaged."""

    def save(self, state: KillSwitchState) -> None: ...


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    """Balances and positions of one book (a bot, or the account when bot_id is None)."""

    bot_id: str | None
    balances: tuple[Balance, ...]
    positions: tuple[Position, ...]
    marks: tuple[tuple[str, Decimal], ...] = ()


class PortfolioStore(Protocol):
    def save(self, snapshot: PortfolioSnapshot, when: datetime) -> None:
        """Replace the stored balances and positions of ``snapshot.bot_id`` atomically."""

    def load(self, bot_id: str | None) -> PortfolioSnapshot | None: ...


class UserStore(Protocol):
    def add(self, user: User) -> None:
        """Raises ConflictError when the username is taken."""

    def get_by_username(self, username: str) -> User | None: ...
    def get(self, user_id: str) -> User | None: ...
    def count(self) -> int: ...

    def list(self) -> builtins.list[User]:
        """Every user, by username."""

    def update(self, user: User) -> None:
        """Store the user's role, active flag and password hash. NotFoundError if unknown."""


class SessionStore(Protocol):
    """Login sessions: families of refresh-token links (see ``SessionRecord``)."""

    def open(
        self,
        session_id: str,
        user_id: str,
        created_at: datetime,
        expires_at: datetime,
        *,
        family_id: str | None = None,
        refresh_hash: str | None = None,
        client: str | None = None,
    ) -> None:
        """A new link; without ``family_id`` it starts its own family."""

    def is_active(self, session_id: str, now: datetime) -> bool: ...
    def revoke(self, session_id: str, when: datetime) -> None: ...
    def get(self, session_id: str) -> SessionRecord | None: ...

    def get_with_user(self, session_id: str) -> tuple[SessionRecord, User] | None:
        """The link and its user, at once."""

    def find_by_refresh(self, refresh_hash: str) -> SessionRecord | None: ...

    def rotate(self, old_id: str, new: SessionRecord, when: datetime) -> bool:
        """Mark ``old_id`` rotated and add ``new``, atomically; False (and nothing
        changes) when ``old_id`` was already rotated or revoked."""

    def revoke_family(self, family_id: str, when: datetime) -> int: ...

    def revoke_user(self, user_id: str, when: datetime, *, keep_family: str | None = None) -> int:
        """Revoke every session of the user (but ``keep_family``); returns how many."""

    def families(self, user_id: str, now: datetime) -> builtins.list[SessionRecord]:
        """The newest link of each of the user's usable families, newest first."""


class AuditLog(Protocol):
    def record(
        self,
        when: datetime,
        actor: str | None,
        action: str,
        subject: str,
        detail: str = "",
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
    ) -> None:
        """Append an event (the face comes from ``domain.audit.current_face``)."""


class AccountStore(Protocol):
    def add(self, account: Account) -> None:
        """Raises ConflictError when the name is taken."""

    def get(self, account_id: str) -> Account | None: ...
    def list(self) -> builtins.list[Account]: ...

    def remove(self, account_id: str) -> None:
        """Raises NotFoundError for an unknown id."""


class DexStore(Protocol):
    """Chains, wallets, DEXes and followed tokens. Secrets never reach it: chains keep
    their RPC URL's display form and wallets a vault reference."""

    def add_chain(self, chain: ChainRecord) -> None:
        """Raises ConflictError when the chain id or the name is taken."""

    def get_chain(self, chain_id: int) -> ChainRecord | None: ...

    def list_chains(self) -> builtins.list[ChainRecord]:
        """Oldest first."""

    def remove_chain(self, chain_id: int) -> None:
        """Raises NotFoundError for an unknown chain, ConflictError while wallets or
        DEXes still use it."""

    def add_wallet(self, wallet: WalletRecord) -> None:
        """Raises ConflictError when the address (in any case) is already on the chain,
        NotFoundError when the chain is unknown."""

    def get_wallet(self, wallet_id: str) -> WalletRecord | None: ...

    def list_wallets(self, chain_id: int | None = None) -> builtins.list[WalletRecord]:
        """Oldest first."""

    def remove_wallet(self, wallet_id: str) -> None:
        """Raises NotFoundError for an unknown id."""

    def add_dex(self, dex: DexRecord) -> None:
        """Raises ConflictError when the chain already has a DEX of that name."""

    def get_dex(self, dex_id: str) -> DexRecord | None: ...

    def list_dexes(self, chain_id: int | None = None) -> builtins.list[DexRecord]:
        """Oldest first."""

    def remove_dex(self, dex_id: str) -> None:
        """Removes the DEX and its followed tokens; NotFoundError for an unknown id."""

    def add_token(self, dex_id: str, token: Token, when: datetime) -> FollowedToken:
        """Raises ConflictError when the DEX already follows the address or the symbol."""

    def list_tokens(self, dex_id: str) -> builtins.list[FollowedToken]:
        """In the order they were followed."""

    def remove_token(self, dex_id: str, address: str) -> None:
        """Raises NotFoundError when the DEX does not follow ``address``."""


class ProposalStore(Protocol):
    """Proposals of mixed-mode bots and each bot's approval rules."""

    def add(self, proposal: Proposal) -> None:
        """Raises ConflictError on a duplicate id, NotFoundError for an unknown bot."""

    def update(self, proposal: Proposal) -> None:
        """Persist the proposal's new state. Raises NotFoundError for an unknown id."""

    def get(self, proposal_id: str) -> Proposal | None: ...

    def list(
        self,
        *,
        bot_id: str | None = None,
        statuses: Sequence[ProposalStatus] | None = None,
        limit: int = 500,
    ) -> builtins.list[Proposal]:
        """Newest first."""

    def get_rules(self, bot_id: str) -> ApprovalRules | None:
        """The bot's saved rules, or None when it never had any."""

    def save_rules(self, bot_id: str, rules: ApprovalRules, when: datetime) -> None:
        """Replace the bot's rules. Raises NotFoundError for an unknown bot."""

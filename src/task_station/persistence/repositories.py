"""The SQL repositories, one import away. Each lives in its own small module."""

from task_station.persistence.accounts import SqlAccountStore
from task_station.persistence.audit import AuditEntry, SqlAuditLog
from task_station.persistence.bots import SqlBotStore
from task_station.persistence.identity import SqlSessionStore, SqlUserStore
from task_station.persistence.orders import SqlOrderStore
from task_station.persistence.portfolio import SqlPortfolioStore
from task_station.persistence.risk import SqlKillSwitchStore

__all__ = [
    "AuditEntry",
    "SqlAccountStore",
    "SqlAuditLog",
    "SqlBotStore",
    "SqlKillSwitchStore",
    "SqlOrderStore",
    "SqlPortfolioStore",
    "SqlSessionStore",
    "SqlUserStore",
]

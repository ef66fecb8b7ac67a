"""Keep credentials out of ccxt's own log records.

ccxt logs every request at DEBUG, headers included (binance sends the API key in
``X-MBX-APIKEY``). A filter on ccxt's loggers masks the secrets of every open venue in
each record before any handler sees it.
"""

from __future__ import annotations

import logging
import threading

from task_station.venues.ccxt_cex.errors import redact

_CCXT_LOGGERS = ("ccxt", "ccxt.base.exchange", "ccxt.async_support.base.exchange", "ccxt.pro")
_lock = threading.Lock()
_secrets: dict[str, int] = {}  # secret -> number of open venues using it


class SecretMaskFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            known = tuple(_secrets)
        if known:
            message = record.getMessage()
            masked = redact(message, known)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


_FILTER = SecretMaskFilter()


def _install() -> None:
    for name in _CCXT_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def register(secrets: tuple[str, ...]) -> None:
    """Mask ``secrets`` in ccxt's log records until ``unregister``."""
    _install()
    with _lock:
        for s in secrets:
            _secrets[s] = _secrets.get(s, 0) + 1


def unregister(secrets: tuple[str, ...]) -> None:
    with _lock:
        for s in secrets:
            left = _secrets.get(s, 0) - 1
            if left > 0:
                _secrets[s] = left
            else:
                _secrets.pop(s, None)

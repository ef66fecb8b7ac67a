"""Login lockout with exponential back-off, per username and per client address.

The first few failures are free (typos happen). After that each failure locks the key
for ``base_delay * 2**k`` (k the failures past the free ones), up to ``max_delay``, and
a login attempt on a locked key is refused before the password is even checked, so a
guesser gets a handful of tries an hour instead of thousands. A success clears the
username's strikes; an address's strikes fade only with time (one good account must not
let a guesser reset its address). Failures older than ``window`` are forgotten.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from task_station.domain.errors import TooManyRequestsError

#: Keys remembered at most (least recently failed forgotten first): bounded memory even
#: when a script tries a million usernames.
MAX_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    free_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(minutes=15)


@dataclass(slots=True)
class _Strikes:
    failures: int
    last_failure: datetime
    locked_until: datetime | None


class LoginThrottle:
    """Counts failures per key (``user:NAME``, ``ip:ADDRESS``) and refuses locked keys."""

    def __init__(
        self,
        now: Callable[[], datetime],
        user_policy: LockoutPolicy | None = None,
        address_policy: LockoutPolicy | None = None,
    ) -> None:
        self._now = now
        self._user_policy = user_policy or LockoutPolicy()
        # An address is shared by every user behind it: it gets more free attempts.
        self._address_policy = address_policy or LockoutPolicy(free_attempts=20)
        self._strikes: OrderedDict[str, _Strikes] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, address: str | None) -> list[str]:
        keys = [f"user:{username.strip().lower()[:64]}"]
        if address:
            keys.append(f"ip:{address}")
        return keys

    def check(self, keys: Iterable[str]) -> None:
        """Raise ``TooManyRequestsError`` when any key is locked now."""
        now = self._now()
        with self._lock:
            waits = [
                (s.locked_until - now).total_seconds()
                for key in keys
                if (s := self._strikes.get(key)) is not None
                and s.locked_until is not None
                and s.locked_until > now
            ]
        if waits:
            retry = max(1, math.ceil(max(waits)))
            raise TooManyRequestsError(
                f"too many failed logins; try again in {retry} s", retry_after=retry
            )

    def failed(self, keys: Iterable[str]) -> None:
        now = self._now()
        with self._lock:
            for key in keys:
                policy = self._address_policy if key.startswith("ip:") else self._user_policy
                strikes = self._strikes.pop(key, None)
                if strikes is None or now - strikes.last_failure > policy.window:
                    strikes = _Strikes(0, now, None)
                strikes.failures += 1
                strikes.last_failure = now
                past_free = strikes.failures - policy.free_attempts
                if past_free >= 0:
                    delay = min(policy.base_delay * (2 ** min(past_free, 30)), policy.max_delay)
                    strikes.locked_until = now + delay
                self._strikes[key] = strikes  # most recent last
            while len(self._strikes) > MAX_KEYS:
                self._strikes.popitem(last=False)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._strikes.pop(self.keys(username, None)[0], None)

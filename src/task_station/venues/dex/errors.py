"""web3 exceptions -> the station's errors, with reasons a trader can act on."""

from __future__ import annotations

import re

from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception

from task_station.domain.errors import VenueError

_REVERT = re.compile(r"execution reverted:?\s*(.*)", re.S)


def revert_reason(exc: BaseException) -> str:
    """The contract's own words from a revert (``UniswapV2Router: EXPIRED``...)."""
    message = str(exc)
    if isinstance(exc, ContractLogicError) and exc.message:
        message = exc.message
    found = _REVERT.search(message)
    reason = (found.group(1) if found else message).strip().strip("'\"")
    return reason or "reverted without a reason"


def node_error(what: str, exc: BaseException) -> VenueError:
    """A node we could not use: unreachable, timed out or refusing the call."""
    if isinstance(exc, TimeExhausted):
        return VenueError(f"{what}: the node did not answer in time ({exc})")
    if isinstance(exc, (OSError, Web3Exception)):
        return VenueError(f"{what}: the node refused or is unreachable ({exc})")
    return VenueError(f"{what}: {exc}")

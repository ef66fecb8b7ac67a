"""``UniswapV2Venue``: market and limit orders as swaps on a Uniswap V2-compatible AMM.

An order becomes one router call (``venues.amm.plan``): exact input for sells and
quote-sized buys, exact output for base-sized buys, bounded by ``amountOutMin`` /
``amountInMax`` and a deadline. The order is ACCEPTED when the node takes the signed
transaction (its hash is the venue order id) and FILLED from the pair's ``Swap`` event
when mined, or REJECTED with the contract's revert reason. Gas is the fill's fee,
converted to the quote currency where a price for the native token is known.

Several swaps may be in flight: nonces count up locally, and ERC-20 allowances are
tracked as they will stand after our pending transactions, so an exact approval for a
new swap never steals the allowance an earlier unmined swap still needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_typing import HexStr
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.logs import DISCARD
from web3.types import TxParams

from task_station.domain.clock import Clock
from task_station.domain.dex import PoolState, Token
from task_station.domain.errors import NotFoundError, ValidationError, VenueError
from task_station.domain.instruments import Instrument
from task_station.domain.orders import Fill, Order, OrderStatus, OrderType
from task_station.venues.amm import plan as amm_plan
from task_station.venues.amm.plan import SwapKind, SwapPlan
from task_station.venues.base import (
    FillReport,
    OrderAcceptedReport,
    OrderRejectedReport,
    VenueCapabilities,
    VenueListener,
    VenueOrderState,
    VenueReport,
)
from task_station.venues.dex.client import UniswapV2Client
from task_station.venues.dex.errors import node_error, revert_reason
from task_station.venues.dex.gas import GasPolicy, choose_fees
from task_station.venues.dex.nonces import NonceManager
from task_station.venues.dex.wallet import Wallet

log = logging.getLogger(__name__)

DEX_CAPABILITIES = VenueCapabilities(
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    quote_sized_market_buy=True,
    candle_driven=False,
)
#: Gas limits used when a swap cannot be estimated yet (its approval is still unmined).
FALLBACK_SWAP_GAS = 250_000
APPROVE_GAS = 60_000
MAX_UINT256 = 2**256 - 1


@dataclass(frozen=True, slots=True)
class DexMarket:
    """A symbol the trader names (``WETH/USDC``) and the two token addresses behind it."""

    symbol: str
    base: str
    quote: str


@dataclass(slots=True)
class _Market:
    symbol: str
    base: Token
    quote: Token
    pair: str
    instrument: Instrument


@dataclass(slots=True)
class _InFlight:
    """A swap sent and not yet mined."""

    order: Order
    plan: SwapPlan
    market: _Market
    tx_hash: str
    tx: dict[str, Any]
    approval_hash: str | None = None  # the approval sent for this swap: its gas is a cost of it
    done: asyncio.Event = field(default_factory=asyncio.Event)


class UniswapV2Venue:
    """A wallet trading on one Uniswap V2-compatible DEX."""

    capabilities = DEX_CAPABILITIES

    def __init__(
        self,
        client: UniswapV2Client,
        wallet: Wallet,
        markets: Sequence[DexMarket],
        clock: Clock,
        *,
        name: str | None = None,
        gas: GasPolicy | None = None,
        slippage_bps: int = 50,
        deadline_seconds: int = 120,
        approval: str = "exact",
        native_symbol: str = "ETH",
        native_price: Callable[[], Decimal | None] | None = None,
        receipt_poll_seconds: float = 0.5,
        receipt_timeout_seconds: float = 600.0,
    ) -> None:
        if approval not in ("exact", "unlimited"):
            raise ValidationError("approval must be 'exact' or 'unlimited'")
        if deadline_seconds <= 0:
            raise ValidationError("the swap deadline must be positive")
        self.client = client
        self.wallet = wallet
        self.name = name or client.dex.name
        self._wanted = list(markets)
        self._clock = clock
        self.gas = gas or GasPolicy()
        self.slippage_bps = slippage_bps
        self.deadline_seconds = deadline_seconds
        self.approval = approval
        self.native_symbol = native_symbol
        self._native_price = native_price
        self._poll = receipt_poll_seconds
        self._receipt_timeout = receipt_timeout_seconds
        self._listener: VenueListener | None = None
        self._markets: dict[str, _Market] = {}
        self._chain_id: int | None = None
        self.nonces = NonceManager(self._pending_count)
        self._allowance: dict[str, int] = {}  # token -> allowance once our txs are mined
        self._pending_approvals: dict[str, int] = {}
        self._in_flight: dict[str, _InFlight] = {}  # client order id -> swap
        self._orders: dict[str, Order] = {}  # the venue's copy of every order
        self._tasks: set[asyncio.Task[None]] = set()
        #: Counters a trader (and the tests) can read.
        self.approvals_sent = 0
        self.gas_spent_native = Decimal(0)

    # -- setup ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Read the chain id, token metadata and pair of every market."""
        self._chain_id = await self.client.chain_id()
        for wanted in self._wanted:
            base_sym, sep, quote_sym = wanted.symbol.partition("/")
            if not sep:
                raise ValidationError(f"symbol {wanted.symbol!r} must look like BASE/QUOTE")
            base = await self.client.token(wanted.base, base_sym)
            quote = await self.client.token(wanted.quote, quote_sym)
            pair = await self.client.pair_address(base.address, quote.address)
            inst = Instrument(
                venue=self.name,
                symbol=wanted.symbol,
                base=base_sym,
                quote=quote_sym,
                size_increment=Decimal(1).scaleb(-base.decimals),
                min_size=Decimal(1).scaleb(-base.decimals),
            )
            self._markets[wanted.symbol] = _Market(wanted.symbol, base, quote, pair, inst)

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        return self._market(symbol).instrument

    def _market(self, symbol: str) -> _Market:
        market = self._markets.get(symbol)
        if market is None:
            if not self._markets:
                raise VenueError(f"{self.name} is not connected yet: call connect() first")
            raise NotFoundError(
                f"{self.name} does not trade {symbol}; it trades {', '.join(self._markets)}"
            )
        return market

    def tokens(self, symbol: str) -> tuple[Token, Token]:
        """``(base, quote)`` tokens behind ``symbol``."""
        market = self._market(symbol)
        return market.base, market.quote

    def pair_address(self, symbol: str) -> str:
        return self._market(symbol).pair

    async def pool(self, symbol: str) -> PoolState:
        return await self.client.pool(self._market(symbol).pair)

    # -- trading --------------------------------------------------------------------

    async def submit_order(self, order: Order) -> None:
        cid = order.client_order_id
        known = self._orders.get(cid)
        if known is not None:
            # A resend after an unknown outcome: never swap twice, repeat what we know.
            if known.venue_order_id is not None:
                self._emit(OrderAcceptedReport(cid, known.venue_order_id, self._clock.now()))
            return
        if order.status is OrderStatus.INITIALIZED:
            order = order.submit(self._clock.now())
        self._orders[cid] = order
        try:
            market = self._market(order.symbol)
        except (NotFoundError, VenueError) as exc:
            self._reject(cid, str(exc))
            return
        if not self.wallet.can_sign:
            self._reject(cid, f"wallet {self.wallet.address} is watch-only: it cannot swap")
            return
        pool = await self.client.pool(market.pair)
        try:
            plan = amm_plan.plan_swap(
                order, pool, market.base, market.quote, slippage_bps=self.slippage_bps
            )
        except ValidationError as exc:
            self._reject(cid, str(exc))
            return
        preview = amm_plan.simulate(plan, pool)
        if preview.reverted is not None:
            self._reject(cid, f"the pool would revert this swap now: {preview.reverted}")
            return
        async with self.nonces.lock:
            try:
                flight = await self._send_swap(order, plan, market)
            except ValidationError as exc:
                self._reject(cid, str(exc))
                return
            except ContractLogicError as exc:
                self._reject(cid, f"the swap would revert: {revert_reason(exc)}")
                return
        accepted = self._orders[cid].accept(flight.tx_hash, self._clock.now())
        self._orders[cid] = accepted
        self._emit(OrderAcceptedReport(cid, flight.tx_hash, self._clock.now()))
        task = asyncio.create_task(self._settle(flight), name=f"dex-receipt-{cid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_swap(self, order: Order, plan: SwapPlan, market: _Market) -> _InFlight:
        """Approve if needed and send the swap; the caller holds the nonce lock."""
        owner = self.wallet.address
        token_in = plan.token_in
        have = await self.client.balance_of(token_in.address, owner)
        reserved = sum(
            f.plan.max_input for f in self._in_flight.values() if f.plan.token_in == token_in
        )
        if have - reserved < plan.max_input:
            raise ValidationError(
                f"insufficient {token_in.symbol}: the wallet has "
                f"{token_in.from_units(have - reserved)} free, the swap may need "
                f"{token_in.from_units(plan.max_input)}"
            )
        block = await self.client.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        tip = await self._node_tip()
        fees = choose_fees(self.gas, base_fee, tip)
        deadline = max(int(block["timestamp"]), int(self._clock.now().timestamp()))
        deadline += self.deadline_seconds
        call = self._router_call(plan, deadline)
        needs_approval = await self._needs_approval(token_in, plan.max_input)
        if needs_approval or self._pending_approvals.get(token_in.address, 0):
            gas_limit = FALLBACK_SWAP_GAS  # cannot be estimated before the approval mines
        else:
            # Against "latest": the reserves the plan was made on.
            estimate = await self.client.w3.eth.estimate_gas(
                {
                    "from": self.client.checksum(owner),
                    "to": self.client.router.address,
                    "data": HexStr(call),
                },
                "latest",
            )
            gas_limit = int(Decimal(estimate) * self.gas.gas_limit_margin)
        native = await self.client.native_balance(owner)
        worst_gas = (gas_limit + (APPROVE_GAS if needs_approval else 0)) * fees.max_fee_per_gas
        if native < worst_gas:
            raise ValidationError(
                f"not enough {self.native_symbol} for gas: the swap may cost up to "
                f"{Decimal(worst_gas).scaleb(-18)} {self.native_symbol}, the wallet holds "
                f"{Decimal(native).scaleb(-18)}"
            )
        approval_hash = None
        if needs_approval:
            approval_hash = await self._approve(token_in, plan.max_input, fees)
        tx = self._tx(self.client.router.address, call, gas_limit, fees, await self.nonces.take())
        tx_hash = await self._send(tx)
        self._allowance[token_in.address] = self._allowance[token_in.address] - plan.max_input
        flight = _InFlight(order, plan, market, tx_hash, tx, approval_hash)
        self._in_flight[order.client_order_id] = flight
        return flight

    async def _needs_approval(self, token: Token, amount: int) -> bool:
        if token.address not in self._allowance or not self._in_flight_with(token):
            self._allowance[token.address] = await self.client.allowance(
                token.address, self.wallet.address, self.client.router.address
            )
        return self._allowance[token.address] < amount

    def _in_flight_with(self, token: Token) -> bool:
        return any(f.plan.token_in == token for f in self._in_flight.values())

    async def _approve(self, token: Token, amount: int, fees: Any) -> str:
        value = amount if self.approval == "exact" else MAX_UINT256
        data = self.client.erc20(token.address).encode_abi(
            "approve", args=[self.client.router.address, value]
        )
        tx = self._tx(token.address, data, APPROVE_GAS, fees, await self.nonces.take())
        tx_hash = await self._send(tx)
        self.approvals_sent += 1
        self._allowance[token.address] = value
        key = token.address
        self._pending_approvals[key] = self._pending_approvals.get(key, 0) + 1
        task = asyncio.create_task(self._settle_approval(key, tx_hash))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.info(
            "%s: approved %s %s for the router (tx %s)", self.name, value, token.symbol, tx_hash
        )
        return tx_hash

    async def _settle_approval(self, token: str, tx_hash: str) -> None:
        try:
            receipt = await self._receipt(tx_hash)
            self._account_gas(receipt)
            if receipt["status"] != 1:
                log.warning("%s: approval %s reverted", self.name, tx_hash)
                self._allowance.pop(token, None)
        finally:
            self._pending_approvals[token] -= 1

    def _router_call(self, plan: SwapPlan, deadline: int) -> str:
        path = [plan.token_in.address, plan.token_out.address]
        to = self.client.checksum(self.wallet.address)
        router = self.client.router
        if plan.kind is SwapKind.EXACT_IN:
            args = [plan.amount_in, plan.amount_out, path, to, deadline]
            return str(router.encode_abi("swapExactTokensForTokens", args=args))
        args = [plan.amount_out, plan.amount_in, path, to, deadline]
        return str(router.encode_abi("swapTokensForExactTokens", args=args))

    def _tx(self, to: str, data: str, gas: int, fees: Any, nonce: int) -> dict[str, Any]:
        assert self._chain_id is not None
        return {
            "type": 2,
            "chainId": self._chain_id,
            "nonce": nonce,
            "to": self.client.checksum(to),
            "value": 0,
            "data": data,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }

    async def _send(self, tx: dict[str, Any]) -> str:
        raw = self.wallet.sign(tx)
        try:
            tx_hash = await self.client.w3.eth.send_raw_transaction(raw)
        except (Web3RPCError, ValueError) as exc:
            await self.nonces.resync()  # the nonce was not used: count again from the node
            raise ValidationError(
                f"the node refused the transaction: {revert_reason(exc)}"
            ) from exc
        except Exception as exc:
            await self.nonces.resync()
            raise node_error(f"{self.name}: sending a transaction", exc) from exc
        return HexBytes(tx_hash).to_0x_hex()

    async def _node_tip(self) -> int:
        if self.gas.priority_fee_gwei is not None:
            return 0
        try:
            return int(await self.client.w3.eth.max_priority_fee)
        except Exception:  # nodes without eth_maxPriorityFeePerGas: 1 gwei is common
            return 10**9

    async def _pending_count(self) -> int:
        owner = self.client.checksum(self.wallet.address)
        return int(await self.client.w3.eth.get_transaction_count(owner, "pending"))

    # -- receipts -> reports ------------------------------------------------------------

    async def _receipt(self, tx_hash: str) -> Any:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._receipt_timeout
        while True:
            try:
                return await self.client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                pass
            except Exception as exc:  # a flaky node: keep asking until the timeout
                log.warning("%s: reading receipt %s failed: %s", self.name, tx_hash, exc)
            if loop.time() > give_up:
                raise TimeExhausted(
                    f"transaction {tx_hash} not mined after {self._receipt_timeout}s"
                )
            await asyncio.sleep(self._poll)

    async def _settle(self, flight: _InFlight) -> None:
        cid = flight.order.client_order_id
        try:
            receipt = await self._receipt(flight.tx_hash)
        except TimeExhausted as exc:
            log.warning("%s: %s; reconciliation will settle order %s", self.name, exc, cid)
            return
        finally:
            flight.done.set()
        self._in_flight.pop(cid, None)
        fee_native = self._account_gas(receipt)
        if flight.approval_hash is not None:
            # Mined before the swap (a lower nonce): part of what this order cost.
            approval = await self._receipt(flight.approval_hash)
            fee_native += _gas_paid(approval)
        if receipt["status"] != 1:
            reason = await self._replay_reason(flight.tx, int(receipt["blockNumber"]))
            # The allowance the swap reserved was not consumed: read it again next time.
            self._allowance.pop(flight.plan.token_in.address, None)
            self._reject(
                cid,
                f"reverted on chain: {reason} (tx {flight.tx_hash}, gas paid "
                f"{fee_native} {self.native_symbol})",
            )
            return
        fill = self._fill_from_receipt(flight, receipt, fee_native)
        if fill is None:
            self._reject(
                cid, f"mined without a Swap event on {flight.market.pair} (tx {flight.tx_hash})"
            )
            return
        self._orders[cid] = self._orders[cid].fill(fill, complete=True)
        self._emit(FillReport(fill, order_complete=True))

    def _account_gas(self, receipt: Any) -> Decimal:
        fee = _gas_paid(receipt)
        self.gas_spent_native += fee
        return fee

    async def _replay_reason(self, tx: dict[str, Any], block: int) -> str:
        """Ask the node why a mined transaction reverted: replay it on the state after its
        block, which holds whatever moved the pool against it."""
        call: TxParams = {
            "from": self.client.checksum(self.wallet.address),
            "to": tx["to"],
            "data": HexStr(tx["data"]),
        }
        try:
            await self.client.w3.eth.call(call, block_identifier=block)
        except ContractLogicError as exc:
            return revert_reason(exc)
        except Exception as exc:
            return f"reason unavailable ({exc})"
        return "reason unavailable (the replay succeeded on the parent block's state)"

    def _swap_amounts(self, market: _Market, receipt: Any) -> tuple[int, int, int, int] | None:
        pair = self.client.pair_contract(market.pair)
        events = pair.events.Swap().process_receipt(receipt, errors=DISCARD)
        mine = [e for e in events if str(e["address"]).lower() == market.pair.lower()]
        if not mine:
            return None
        a0_in = sum(int(e["args"]["amount0In"]) for e in mine)
        a1_in = sum(int(e["args"]["amount1In"]) for e in mine)
        a0_out = sum(int(e["args"]["amount0Out"]) for e in mine)
        a1_out = sum(int(e["args"]["amount1Out"]) for e in mine)
        return a0_in, a1_in, a0_out, a1_out

    def _fill_from_receipt(
        self, flight: _InFlight, receipt: Any, fee_native: Decimal
    ) -> Fill | None:
        market = flight.market
        amounts = self._swap_amounts(market, receipt)
        if amounts is None:
            return None
        a0_in, a1_in, a0_out, a1_out = amounts
        base_is_0 = int(market.base.address, 16) < int(market.quote.address, 16)
        base_units = (a0_in + a0_out) if base_is_0 else (a1_in + a1_out)
        quote_units = (a1_in + a1_out) if base_is_0 else (a0_in + a0_out)
        qty = market.base.from_units(base_units)
        quote_amount = market.quote.from_units(quote_units)
        price = quote_amount / qty
        fee, fee_currency = self._gas_fee(market, fee_native, price)
        return Fill(
            trade_id=flight.tx_hash,
            client_order_id=flight.order.client_order_id,
            symbol=market.symbol,
            side=flight.order.side,
            price=price,
            quantity=qty,
            fee=fee,
            fee_currency=fee_currency,
            liquidity="taker",
            ts=self._clock.now(),
            bot_id=flight.order.bot_id,
        )

    def _gas_fee(self, market: _Market, fee_native: Decimal, price: Decimal) -> tuple[Decimal, str]:
        wrapped = {self.native_symbol, "W" + self.native_symbol}
        if market.quote.symbol in wrapped or market.instrument.quote in wrapped:
            return fee_native, market.instrument.quote
        if market.base.symbol in wrapped or market.instrument.base in wrapped:
            return fee_native * price, market.instrument.quote
        native_price = self._native_price() if self._native_price is not None else None
        if native_price is not None:
            return fee_native * native_price, market.instrument.quote
        return fee_native, self.native_symbol

    # -- the rest of the Venue protocol ------------------------------------------------

    async def cancel_order(self, order: Order) -> None:
        """A sent swap cannot be recalled; it fills or reverts by its deadline."""
        log.info(
            "%s: order %s is an on-chain swap and cannot be canceled; it settles by its deadline",
            self.name,
            order.client_order_id,
        )

    async def fetch_balances(self) -> dict[str, Decimal]:
        """Every market token's balance plus the native token, exact."""
        owner = self.wallet.address
        out: dict[str, Decimal] = {}
        for market in self._markets.values():
            for token, sym in (
                (market.base, market.instrument.base),
                (market.quote, market.instrument.quote),
            ):
                if sym not in out:
                    out[sym] = token.from_units(await self.client.balance_of(token.address, owner))
        out[self.native_symbol] = Decimal(await self.client.native_balance(owner)).scaleb(-18)
        return out

    async def fetch_order_state(self, order: Order) -> VenueOrderState | None:
        known = self._orders.get(order.client_order_id)
        if known is None or known.venue_order_id is None:
            return None
        return VenueOrderState(
            known.client_order_id, known.venue_order_id, known.status, known.filled_quantity
        )

    async def fetch_fills(self, order: Order) -> list[Fill]:
        known = self._orders.get(order.client_order_id)
        return list(known.fills) if known is not None else []

    async def wait_settled(self, timeout: float = 30.0) -> None:
        """Wait until every sent swap and approval has its receipt (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait_for(asyncio.gather(*list(self._tasks)), timeout)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        disconnect = getattr(self.client.w3.provider, "disconnect", None)
        if disconnect is not None:
            await disconnect()

    # -- helpers ---------------------------------------------------------------------

    def _reject(self, cid: str, reason: str) -> None:
        now = self._clock.now()
        order = self._orders.get(cid)
        if order is not None and not order.status.is_terminal:
            self._orders[cid] = order.reject(reason, now)
        log.info("%s: order %s rejected: %s", self.name, cid, reason)
        self._emit(OrderRejectedReport(cid, reason, now))

    def _emit(self, report: VenueReport) -> None:
        if self._listener is not None:
            self._listener.on_venue_report(report)


def _gas_paid(receipt: Any) -> Decimal:
    """Native tokens a mined transaction paid for gas."""
    wei = int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0) or 0)
    return Decimal(wei).scaleb(-18)

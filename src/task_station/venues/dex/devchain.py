"""``DevChain``: a real EVM (py-evm through eth-tester) served as JSON-RPC on loopback.

The DEX venue speaks JSON-RPC over HTTP to real nodes; tests and the demo give it this
instead, so the whole code path (HTTP provider, signing, raw transactions, receipts,
logs) runs for real without leaving the machine. The EVM runs on one worker thread so
the event loop stays responsive while a block executes.

It binds to 127.0.0.1 only, and needs the optional ``devchain`` extra (eth-tester and
py-evm), which the test extra pulls in.

``GET /ws`` upgrades to a WebSocket speaking the same JSON-RPC plus geth's
``eth_subscribe`` (``newHeads``, ``logs``) so that the subscription code path also runs
against a real socket. eth-tester has no event for a new block, so while any subscription
exists the chain's head is polled on the EVM thread every ``WS_POLL_S``; notifications go
out in geth's shape, a block's logs before its head (geth does not promise that order;
the pool feed relies on it only when told to, with ``confirm_logs=False``). ``suspend()``/``resume()`` take the endpoint off the
network and back without losing the chain, which is how tests play a node outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web
from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3

from task_station.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from eth_tester import EthereumTester

log = logging.getLogger(__name__)

#: The first funded account of eth-tester's default genesis (its key is public).
DEV_ACCOUNTS = 10
#: How often the head is polled while WebSocket subscriptions exist (seconds).
WS_POLL_S = 0.02
#: How many pushed block hashes the WebSocket side remembers to notice a rewind.
_WS_HASH_MEMORY = 128
_NOT_IN_HEADERS = ("transactions", "uncles", "size", "totalDifficulty", "withdrawals")


def _wire(value: Any) -> Any:
    """eth-tester's Python values -> JSON-RPC wire values (hex quantities and data)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


class DevChain:
    """One in-process chain; ``start()`` serves it, ``tester`` controls mining."""

    def __init__(self) -> None:
        try:
            from eth_tester import EthereumTester, PyEVMBackend
            from web3.providers.eth_tester import EthereumTesterProvider
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "the local dev chain needs eth-tester and py-evm: "
                'pip install "task-station[devchain]"'
            ) from exc
        self.tester: EthereumTester = EthereumTester(PyEVMBackend())
        self._provider = EthereumTesterProvider(self.tester)
        #: A synchronous client for setting the chain up (deployments, funding).
        self.w3 = Web3(self._provider)
        onion = type(self.w3.middleware_onion)([])
        self._request = self._provider.request_func(self.w3, onion)
        self._evm = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devchain-evm")
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._ws_connections: set[_WsConnection] = set()
        self._ws_watcher: asyncio.Task[None] | None = None
        self._ws_pushed = -1  # the last block whose notifications went out
        self._ws_hashes: dict[int, str] = {}
        self._ws_wakeup = asyncio.Event()
        #: A mempool: while holding, raw transactions wait here until ``release()``.
        self._holding = False
        self._mempool: list[tuple[str, ChecksumAddress, bytes]] = []  # (hash, sender, raw)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def private_key(self, index: int) -> str:
        """The key of a funded dev account (public knowledge: a test chain's genesis)."""
        keys = self.tester.backend.account_keys
        return str(keys[index].to_hex())

    def address(self, index: int) -> str:
        return str(Account.from_key(self.private_key(index)).address)

    def run_sync(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on the EVM thread (setup code shares the thread with requests)."""
        return self._evm.submit(fn, *args).result()

    async def call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._evm, fn, *args)

    def hold_transactions(self) -> None:
        """Keep incoming raw transactions pending, as a busy network does.

        eth-tester's own pending mode refuses a second transaction from one sender, so
        the dev chain keeps its own queue: a client sees them as sent and unmined (no
        receipt, the pending nonce counts them) until ``release()`` mines them in the
        order they arrived, one block each.
        """
        self.run_sync(self._set_holding, True)

    def release(self) -> int:
        """Mine every held transaction in arrival order; returns how many."""
        count: int = self.run_sync(self._flush)
        return count

    def submit_raw(self, raw: bytes) -> str:
        """Send a signed transaction as if over JSON-RPC (queued while holding)."""
        answer = self.run_sync(
            self._answer,
            {"id": 0, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]},
        )
        if "error" in answer:
            raise ValueError(answer["error"]["message"])
        return str(answer["result"])

    @property
    def held(self) -> int:
        """Transactions waiting in the mempool."""
        return len(self._mempool)

    def _set_holding(self, value: bool) -> None:
        self._holding = value

    def _flush(self) -> int:
        queue, self._mempool = self._mempool, []
        self._holding = False
        for _, _, raw in queue:
            self._request("eth_sendRawTransaction", ["0x" + raw.hex()])
        return len(queue)

    def _held(self, method: str, params: list[Any]) -> Any:
        """Answer what the mempool changes; ``NotImplemented`` passes the call through."""
        if method == "eth_sendRawTransaction":
            raw = bytes.fromhex(str(params[0]).removeprefix("0x"))
            sender = Web3.to_checksum_address(Account.recover_transaction(raw))
            nonce = _nonce_of(raw)
            expected = self.w3.eth.get_transaction_count(sender) + sum(
                1 for _, s, _ in self._mempool if s == sender
            )
            if nonce != expected:
                raise ValueError(f"invalid transaction nonce: expected {expected}, got {nonce}")
            tx_hash = Web3.keccak(raw).to_0x_hex()
            self._mempool.append((tx_hash, sender, raw))
            return tx_hash
        if method == "eth_getTransactionCount" and len(params) > 1 and params[1] == "pending":
            who = Web3.to_checksum_address(str(params[0]))
            queued = sum(1 for _, s, _ in self._mempool if s == who)
            return self.w3.eth.get_transaction_count(who) + queued
        if method in ("eth_getTransactionReceipt", "eth_getTransactionByHash") and any(
            h == str(params[0]).lower() for h, _, _ in self._mempool
        ):
            return None
        return NotImplemented

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        app.router.add_get("/ws", self._handle_ws)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.suspend()
        self._evm.shutdown(wait=True)

    async def suspend(self) -> None:
        """Stop serving (connections drop, the port refuses) but keep the chain."""
        for connection in list(self._ws_connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"node going away")
        self._ws_connections.clear()
        await self._stop_ws_watcher()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def resume(self) -> None:
        """Serve again on the same port after ``suspend()``."""
        if self._runner is None:
            await self.start(self.port)

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            )
        if isinstance(body, list):
            answers = [await self.call(self._answer, item) for item in body]
            return web.json_response(answers)
        return web.json_response(await self.call(self._answer, body))

    # -- WebSocket JSON-RPC and subscriptions --

    async def _handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        connection = _WsConnection(ws)
        self._ws_connections.add(connection)
        try:
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    body = json.loads(message.data)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    error = {"code": -32700, "message": "parse error"}
                    await connection.send({"jsonrpc": "2.0", "id": None, "error": error})
                    continue
                if isinstance(body, list):
                    await connection.send([await self._ws_answer(connection, b) for b in body])
                else:
                    await connection.send(await self._ws_answer(connection, body))
        finally:
            self._ws_connections.discard(connection)
            if not any(c.subscriptions for c in self._ws_connections):
                await self._stop_ws_watcher()
        return ws

    async def _ws_answer(self, connection: _WsConnection, body: dict[str, Any]) -> dict[str, Any]:
        rid = body.get("id")
        method = body.get("method")
        params = body.get("params") or []
        if method == "eth_subscribe":
            kind = params[0] if params else None
            if kind not in ("newHeads", "logs"):
                error = {"code": -32601, "message": f"unsupported subscription {kind!r}"}
                return {"jsonrpc": "2.0", "id": rid, "error": error}
            head = int(await self.call(self._head_number))
            if self._ws_watcher is None:
                self._ws_pushed = head
                self._ws_hashes.clear()
            sub_id = "0x" + secrets.token_hex(16)
            log_filter = dict(params[1]) if kind == "logs" and len(params) > 1 else {}
            connection.subscriptions[sub_id] = _WsSubscription(kind, log_filter, head + 1)
            self._ensure_ws_watcher()
            return {"jsonrpc": "2.0", "id": rid, "result": sub_id}
        if method == "eth_unsubscribe":
            found = connection.subscriptions.pop(str(params[0]) if params else "", None)
            return {"jsonrpc": "2.0", "id": rid, "result": found is not None}
        answer: dict[str, Any] = await self.call(self._answer, body)
        self._ws_wakeup.set()  # the call may have mined a block: look now, not next tick
        return answer

    def _head_number(self) -> int:
        return int(self.tester.get_block_by_number("latest")["number"])

    def _block_hash(self, number: int) -> str | None:
        from eth_tester.exceptions import BlockNotFound

        try:
            return str(self.tester.get_block_by_number(number)["hash"])
        except BlockNotFound:
            return None

    def _ensure_ws_watcher(self) -> None:
        if self._ws_watcher is None or self._ws_watcher.done():
            self._ws_watcher = asyncio.create_task(self._watch_blocks(), name="devchain-ws")

    async def _stop_ws_watcher(self) -> None:
        task, self._ws_watcher = self._ws_watcher, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch_blocks(self) -> None:
        while any(c.subscriptions for c in self._ws_connections):
            try:
                await self._push_new_blocks()
            except Exception:  # a dev tool: log and keep serving the other subscribers
                log.exception("devchain: pushing subscription notifications failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ws_wakeup.wait(), WS_POLL_S)
            self._ws_wakeup.clear()
        self._ws_watcher = None

    async def _push_new_blocks(self) -> None:
        head = int(await self.call(self._head_number))
        # A reverted snapshot re-mines heights already announced: rewind to the fork so
        # that the new branch's heads go out, as a node announces a reorg.
        while self._ws_pushed in self._ws_hashes:
            current = await self.call(self._block_hash, self._ws_pushed)
            if current == self._ws_hashes[self._ws_pushed]:
                break
            del self._ws_hashes[self._ws_pushed]
            self._ws_pushed -= 1
        for number in range(self._ws_pushed + 1, head + 1):
            if not await self._push_block(number):
                return  # reverted meanwhile: the next tick sees the new branch
            self._ws_pushed = number

    async def _push_block(self, number: int) -> bool:
        request = {"id": 0, "method": "eth_getBlockByNumber", "params": [hex(number), False]}
        block = (await self.call(self._answer, request)).get("result")
        if not block:
            return False
        header = {k: v for k, v in block.items() if k not in _NOT_IN_HEADERS}
        self._ws_hashes[number] = header["hash"]
        self._ws_hashes.pop(number - _WS_HASH_MEMORY, None)
        for connection in list(self._ws_connections):
            for sub_id, sub in list(connection.subscriptions.items()):
                if sub.kind != "logs" or number < sub.from_block:
                    continue
                query = {**sub.log_filter, "fromBlock": hex(number), "toBlock": hex(number)}
                query.pop("blockHash", None)
                request = {"id": 0, "method": "eth_getLogs", "params": [query]}
                for entry in (await self.call(self._answer, request)).get("result") or []:
                    await connection.notify(sub_id, {**entry, "removed": False})
        for connection in list(self._ws_connections):
            for sub_id, sub in list(connection.subscriptions.items()):
                if sub.kind == "newHeads" and number >= sub.from_block:
                    await connection.notify(sub_id, header)
        return True

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        rid = body.get("id")
        method = body.get("method")
        params = body.get("params", [])
        try:
            if method == "eth_getLogs" and params and "blockHash" in params[0]:
                params = [self._logs_by_block_hash(params[0])]
            if self._mempool or self._holding:
                held = self._held(str(method), list(params))
                if held is not NotImplemented:
                    return {"jsonrpc": "2.0", "id": rid, "result": _wire(held)}
            response = dict(self._request(method, params))
        except Exception as exc:  # the node's answer to a bad call is an error object
            return {"jsonrpc": "2.0", "id": rid, "error": _error_object(exc)}
        response["id"] = rid
        response["jsonrpc"] = "2.0"
        if "result" in response:
            response["result"] = _wire(response["result"])
            result = response["result"]
            if isinstance(result, dict) and str(result.get("logsBloom", "")).startswith("0x"):
                result["logsBloom"] = "0x" + result["logsBloom"][2:].rjust(512, "0")
        return response

    def _logs_by_block_hash(self, query: dict[str, Any]) -> dict[str, Any]:
        """EIP-234 (``blockHash`` in ``eth_getLogs``), which eth-tester lacks."""
        block = self.tester.get_block_by_hash(query["blockHash"])
        number = hex(int(block["number"]))
        rest = {k: v for k, v in query.items() if k != "blockHash"}
        return {**rest, "fromBlock": number, "toBlock": number}


@dataclass
class _WsSubscription:
    kind: str  # "newHeads" or "logs"
    log_filter: dict[str, Any]
    from_block: int  # the first block it is told about


@dataclass(eq=False)
class _WsConnection:
    """One client socket; a lock keeps answers and notifications from interleaving."""

    ws: web.WebSocketResponse
    subscriptions: dict[str, _WsSubscription] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: Any) -> None:
        async with self.lock:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(payload))

    async def notify(self, sub_id: str, result: Any) -> None:
        await self.send(
            {
                "jsonrpc": "2.0",
                "method": "eth_subscription",
                "params": {"subscription": sub_id, "result": result},
            }
        )


def _nonce_of(raw: bytes) -> int:
    """The nonce of a signed typed (EIP-2718) transaction."""
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from hexbytes import HexBytes

    if not raw or raw[0] > 0x7F:
        raise ValueError("while holding, the dev chain takes typed (EIP-2718) transactions only")
    return int(TypedTransaction.from_bytes(HexBytes(raw)).as_dict()["nonce"])


def _error_object(exc: Exception) -> dict[str, Any]:
    """A geth-style error: code 3 with the revert data for reverts, -32000 otherwise."""
    from eth_tester.exceptions import TransactionFailed

    if isinstance(exc, TransactionFailed):
        message = str(exc.args[0]) if exc.args else "execution reverted"
        reason = message.removeprefix("execution reverted: ")
        data = _encode_error_string(reason) if reason != message else "0x"
        return {"code": 3, "message": f"execution reverted: {reason}", "data": data}
    return {"code": -32000, "message": str(exc)}


def _encode_error_string(reason: str) -> str:
    """ABI-encode ``Error(string)`` as a node would return it with a revert."""
    from eth_abi.abi import encode

    return "0x08c379a0" + encode(["string"], [reason]).hex()


@dataclass(frozen=True, slots=True)
class UniswapV2Deployment:
    """Addresses of a Uniswap V2 deployment on a dev chain."""

    factory: str
    router: str
    weth: str


def load_artifact(artifacts: Path, package: str, name: str) -> dict[str, Any]:
    """``{abi, bytecode}`` of a compiled contract from the npm packages' ``build/``."""
    path = artifacts / package / "build" / f"{name}.json"
    if not path.is_file():
        raise ConfigurationError(
            f"{path} is missing: run `npm ci --prefix tests/evm` to fetch the Uniswap V2 artifacts"
        )
    data = json.loads(path.read_text())
    return {"abi": data["abi"], "bytecode": data["bytecode"]}


def deploy(w3: Web3, artifact: dict[str, Any], deployer: str, *args: Any) -> str:
    """Deploy an artifact untouched and return its address."""
    contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = contract.constructor(*args).transact({"from": deployer})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    if receipt["status"] != 1:
        raise ConfigurationError(f"deploying a contract from {deployer} reverted")
    return str(receipt["contractAddress"])


def deploy_uniswap_v2(chain: DevChain, artifacts: Path, deployer: str) -> UniswapV2Deployment:
    """Deploy UniswapV2Factory, WETH9 and UniswapV2Router02 from the npm artifacts."""

    def run() -> UniswapV2Deployment:
        w3 = chain.w3
        factory = deploy(
            w3, load_artifact(artifacts, "v2-core", "UniswapV2Factory"), deployer, deployer
        )
        weth = deploy(w3, load_artifact(artifacts, "v2-periphery", "WETH9"), deployer)
        router = deploy(
            w3,
            load_artifact(artifacts, "v2-periphery", "UniswapV2Router02"),
            deployer,
            factory,
            weth,
        )
        return UniswapV2Deployment(factory=factory, router=router, weth=weth)

    result: UniswapV2Deployment = chain.run_sync(run)
    return result

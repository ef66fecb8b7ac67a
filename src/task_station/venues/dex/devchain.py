"""``DevChain``: a real EVM (py-evm through eth-tester) served as JSON-RPC on loopback.

The DEX venue speaks JSON-RPC over HTTP to real nodes; tests and the demo give it this
instead, so the whole code path (HTTP provider, signing, raw transactions, receipts,
logs) runs for real without leaving the machine. The EVM runs on one worker thread so
the event loop stays responsive while a block executes.

It binds to 127.0.0.1 only, and needs the optional ``devchain`` extra (eth-tester and
py-evm), which the test extra pulls in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from eth_account import Account
from web3 import Web3

from task_station.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from eth_tester import EthereumTester

log = logging.getLogger(__name__)

#: The first funded account of eth-tester's default genesis (its key is public).
DEV_ACCOUNTS = 10


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._evm.shutdown(wait=True)

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

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        rid = body.get("id")
        method = body.get("method")
        params = body.get("params", [])
        try:
            response = dict(self._request(method, params))
        except Exception as exc:  # the node's answer to a bad call is an error object
            return {"jsonrpc": "2.0", "id": rid, "error": _error_object(exc)}
        response["id"] = rid
        response["jsonrpc"] = "2.0"
        if "result" in response:
            response["result"] = _wire(response["result"])
        return response


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

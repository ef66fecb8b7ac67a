"""Signed Binance spot REST endpoints: account, orders and trades."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from task_station.domain.orders import Order, OrderStatus
from task_station.venues.simulator import binance_format as fmt
from task_station.venues.simulator.auth import check_signature, params_of
from task_station.venues.simulator.exchange import SimExchange
from task_station.venues.simulator.keys import CREDENTIALS, EXCHANGE
from task_station.venues.simulator.order_params import error, parse_order, rejection
from task_station.venues.simulator.rest_public import last_price

routes = web.RouteTableDef()
Handler = Callable[[web.Request, SimExchange, dict[str, str]], Awaitable[web.Response]]
NO_ORDER = error(-2013, "Order does not exist.")


def signed(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Verify the HMAC signature, then call ``handler`` with the merged parameters."""

    async def wrapper(request: web.Request) -> web.Response:
        creds = request.app[CREDENTIALS]
        body = await request.text() if request.can_read_body else ""
        query = request.rel_url.raw_query_string
        problem = check_signature(
            query, body, request.headers.get("X-MBX-APIKEY"), creds.api_key, creds.api_secret
        )
        if problem is not None:
            status = 401 if problem["code"] == -2015 else 400
            return web.json_response(problem, status=status)
        ex = request.app[EXCHANGE]
        params = params_of(query, body)
        if "symbol" in params and params["symbol"] != fmt.market_id(ex.market.instrument):
            return web.json_response(error(-1121, "Invalid symbol."), status=400)
        return await handler(request, ex, params)

    return wrapper


def _order(ex: SimExchange, order: Order) -> fmt.Json:
    return fmt.order_json(order, ex.market.instrument, ex.order_id(order), ex.market.now_ms())


def _lookup(ex: SimExchange, params: dict[str, str]) -> Order | None:
    raw_id = params.get("orderId")
    return ex.find(int(raw_id) if raw_id else None, params.get("origClientOrderId"))


@routes.get("/api/v3/account")
@signed
async def account(request: web.Request, ex: SimExchange, params: dict[str, str]) -> web.Response:
    cfg = ex.venue.engine.config
    balances = [
        {"asset": asset, "free": fmt.num(free), "locked": fmt.num(locked)}
        for asset, (free, locked) in ex.venue.balance_detail().items()
    ]
    rates = {"maker": fmt.num(cfg.maker_fee), "taker": fmt.num(cfg.taker_fee)}
    return web.json_response(
        {
            "makerCommission": int(cfg.maker_fee * 10_000),
            "takerCommission": int(cfg.taker_fee * 10_000),
            "commissionRates": {**rates, "buyer": fmt.num(None), "seller": fmt.num(None)},
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "updateTime": ex.market.now_ms(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
        }
    )


@routes.post("/api/v3/order")
@signed
async def new_order(request: web.Request, ex: SimExchange, params: dict[str, str]) -> web.Response:
    if params.get("newClientOrderId") in ex.venue.orders:
        return web.json_response(error(-2010, "Duplicate order sent."), status=400)
    parsed = parse_order(params, ex.market.instrument, ex.clock.now(), last_price(ex))
    if isinstance(parsed, dict):
        return web.json_response(parsed, status=400)
    order = ex.place(parsed)
    if order.status is OrderStatus.REJECTED and order.reason is not None:
        return web.json_response(rejection(order.reason), status=400)
    payload = _order(ex, order)
    if params.get("newOrderRespType", "FULL").upper() == "FULL":
        payload["fills"] = [
            {
                "price": fmt.num(f.price),
                "qty": fmt.num(f.quantity),
                "commission": fmt.num(f.fee),
                "commissionAsset": f.fee_currency,
                "tradeId": t.trade_id,
            }
            for t in ex.trades
            if (f := t.fill).client_order_id == order.client_order_id
        ]
    return web.json_response(payload)


@routes.delete("/api/v3/order")
@signed
async def cancel_order(
    request: web.Request, ex: SimExchange, params: dict[str, str]
) -> web.Response:
    order = _lookup(ex, params)
    if order is None or not ex.venue.cancel_now(order.client_order_id):
        return web.json_response(error(-2011, "Unknown order sent."), status=400)
    payload = _order(ex, ex.venue.orders[order.client_order_id])
    payload["origClientOrderId"] = order.client_order_id
    return web.json_response(payload)


@routes.get("/api/v3/order")
@signed
async def get_order(request: web.Request, ex: SimExchange, params: dict[str, str]) -> web.Response:
    order = _lookup(ex, params)
    if order is None or order.venue_order_id is None:
        return web.json_response(NO_ORDER, status=400)
    return web.json_response(_order(ex, order))


@routes.get("/api/v3/openOrders")
@signed
async def open_orders(
    request: web.Request, ex: SimExchange, params: dict[str, str]
) -> web.Response:
    return web.json_response([_order(ex, o) for o in ex.venue.open_orders])


@routes.get("/api/v3/allOrders")
@signed
async def all_orders(request: web.Request, ex: SimExchange, params: dict[str, str]) -> web.Response:
    start = int(params.get("orderId", "0"))
    limit = min(int(params.get("limit", "500")), 1000)
    known = [o for o in ex.venue.orders.values() if o.venue_order_id is not None]
    rows = [_order(ex, o) for o in known if ex.order_id(o) >= start]
    return web.json_response(rows[:limit] if start else rows[-limit:])


@routes.get("/api/v3/myTrades")
@signed
async def my_trades(request: web.Request, ex: SimExchange, params: dict[str, str]) -> web.Response:
    order_id = int(params["orderId"]) if "orderId" in params else None
    from_id = int(params.get("fromId", "0"))
    limit = min(int(params.get("limit", "500")), 1000)
    inst = ex.market.instrument
    rows = [
        fmt.trade_json(t.fill, inst, t.trade_id, t.order_id)
        for t in ex.trades
        if t.trade_id >= from_id and (order_id is None or t.order_id == order_id)
    ]
    return web.json_response(rows[:limit] if from_id else rows[-limit:])

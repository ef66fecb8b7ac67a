"""A loopback exchange speaking Binance spot's REST and WebSocket dialect.

Backed by the paper matching engine and a replayed (or synthetic) market, so the real
ccxt code path can be exercised offline, faults included.
"""

"""Arbitrage strategies: CEX↔DEX, cross-CEX and triangular, run on market snapshots."""

"""Venues: one protocol, many exchanges (paper, ccxt, DEX, simulator)."""

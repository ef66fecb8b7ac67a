"""Uniswap V2-compatible AMMs through web3: reads, swaps, pool feeds and a dev chain."""

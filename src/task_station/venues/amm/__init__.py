"""Constant-product AMM execution shared by the on-chain venue and the paper AMM."""

"""Backtests: the same engine on a replay clock, metrics and reports."""

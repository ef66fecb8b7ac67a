"""TASK Station: create, backtest and run trading bots on CEX and DEX venues."""

__version__ = "0.1.0"

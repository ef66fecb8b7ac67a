"""Market data: candle files, the synthetic market, feeds and replay."""

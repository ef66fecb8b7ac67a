"""Runtime: the event bus, bots, orders and the portfolio."""

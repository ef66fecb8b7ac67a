"""One small router per area; each route validates, calls one service method, maps."""

"""The jobs layer: CPU-heavy work (backtests, later sweeps and training) in worker
processes that report progress and can be cancelled (``workers``), and what a backtest
worker is given and sends back (``backtest_worker``)."""

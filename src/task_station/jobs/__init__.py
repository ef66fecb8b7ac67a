"""The jobs layer: the persistent background job queue in the station's database
(``queue``: enqueue, claim with a lease, retry with back-off, cancel, progress), and
CPU-heavy work (backtests, later sweeps and training) in worker processes that report
progress and can be cancelled (``workers``), with what a backtest worker is given and
sends back (``backtest_worker``)."""

"""The Qt face of the station: a thin view over the application services.

Nothing in here decides anything about trading: widgets take the ``Services`` bundle
(built by the CLI, never by this package), call its methods and follow its event bus.
Only this package imports Qt, pyqtgraph and qasync (import-linter checks it).
"""

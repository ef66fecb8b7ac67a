"""The frozen application's entry point: the ``task-station`` command line."""

from task_station.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

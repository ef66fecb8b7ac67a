from task_station.cli import main

raise SystemExit(main())

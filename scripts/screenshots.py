"""Take the README's screenshots from the real application.

Builds a station on a throw-away data directory, creates and runs paper bots (sma_cross
trend followers and a grid bot) on the offline synthetic market, opens the real main
window and saves, under ``docs/``:

- ``screenshot.png``: the main window with the bots trading;
- ``analytics.png``: the per-bot analytics tab;
- ``param-handles.png``: the grid bot's parameters drawn and editable on its chart;
- ``depth3d.png``: the 3D depth-candle chart (needs OpenGL: run under Xvfb).

    xvfb-run -a -s "-screen 0 1920x1200x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


async def wait_until(predicate, what: str, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def main() -> None:
    from task_station.gui.qt_loop import create_application, run_until_closed

    app, loop = create_application(sys.argv[:1])
    run_until_closed(loop, shoot(app))


async def shoot(app) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    from task_station.automation import attach_automation
    from task_station.config import Settings
    from task_station.container import build_container
    from task_station.gui.chart_area import ChartArea
    from task_station.gui.main_window import MainWindow

    data = Path(tempfile.mkdtemp(prefix="task-station-shots-"))
    settings = Settings(
        data_dir=data, keyring_backend="cryptfile", keyring_password=secrets.token_urlsafe(16),
        bcrypt_rounds=4, api_port=0, demo_pace_seconds=0.004,
    )  # fmt: skip
    container = build_container(settings)
    attach_automation(container.services)
    await container.start()
    s = container.services
    password = secrets.token_urlsafe(16)
    s.users.create("ada", password, "admin", actor=None)
    login = s.auth.login("ada", password)
    actor = login.principal
    bots = []
    for name, seed, fast, slow in (
        ("BTC trend 10/30", 42, 10, 30), ("BTC swing 5/20", 21, 5, 20), ("BTC scalper 3/8", 8, 3, 8),
    ):  # fmt: skip
        bot = s.bots.create(
            actor, name=name, strategy="sma_cross", params={"fast": fast, "slow": slow},
            quote_budget="10000", data_source=f"synthetic:{seed}",
        )  # fmt: skip
        bots.append(bot)
    grid = s.bots.create(
        actor, name="BTC grid", strategy="grid",
        params={"lower": "27500", "upper": "30500", "levels": 8},
        quote_budget="10000", data_source="synthetic:42", stops={"stop_loss_pct": "6"},
    )  # fmt: skip
    await s.bots.start(actor, grid.id)
    for bot in bots:
        await s.bots.start(actor, bot.id)
    await wait_until(lambda: len(s.bots.bars(grid.id)) > 400, "the grid bot's bars")
    if s.bots.get(grid.id).status.value == "error":
        raise SystemExit(f"the grid bot failed: {s.bots.get(grid.id)}")
    await s.bots.stop(actor, grid.id)  # parameters are edited on a stopped bot
    await wait_until(lambda: len(s.bots.bars(bots[0].id)) > 600, "600 bars")

    qsettings = QSettings(str(data / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(s, actor, "http://127.0.0.1:8765", qsettings)
    window.resize(1680, 1000)
    window.show()
    window.bots_dock.select_bot(bots[0].id)
    await asyncio.sleep(1.0)
    DOCS.mkdir(exist_ok=True)
    window.grab().save(str(DOCS / "screenshot.png"))

    area: ChartArea = window.chart_area
    area.setCurrentIndex(ChartArea.ANALYTICS)
    await asyncio.sleep(1.2)
    area.grab().save(str(DOCS / "analytics.png"))

    for bot in bots:
        await s.bots.stop(actor, bot.id)
    window.bots_dock.select_bot(grid.id)
    area.setCurrentIndex(ChartArea.CHART)
    window.chart_panel.set_tuning(True)
    await asyncio.sleep(0.8)
    area.grab().save(str(DOCS / "param-handles.png"))

    window.bots_dock.select_bot(bots[0].id)
    area.setCurrentIndex(ChartArea.DEPTH3D)
    await asyncio.sleep(1.5)
    area.grab().save(str(DOCS / "depth3d.png"))
    window.close()
    await container.aclose()
    print(f"saved screenshots to {DOCS}")


if __name__ == "__main__":
    main()

"""Build the TASK Station desktop bundle with PyInstaller (one folder).

    python packaging/build.py [--dist DIR] [--work DIR] [--selftest]

Makes the icons from the robot artwork, runs ``packaging/task_station.spec`` and, on
Linux, adds the ``.desktop`` file and the PNG icon to the bundle. Everything it writes,
PyInstaller's cache included, stays under ``--work`` (default ``build/``) and ``--dist``
(default ``dist/``). Needs ``pip install -e ".[packaging]"``. ``--selftest`` then starts
the built station offscreen (``task-station --selftest``) and fails if it does not answer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_icons import make_icons  # noqa: E402

APP = "task-station"


def executable(dist: Path) -> Path:
    """The built program inside ``dist``."""
    return dist / APP / (f"{APP}.exe" if sys.platform == "win32" else APP)


def build(dist: Path, work: Path) -> Path:
    """Build the bundle into ``dist/task-station``; its executable."""
    icons = work / "icons"
    make_icons(icons)
    env = dict(
        os.environ, TASK_STATION_ICONS=str(icons), PYINSTALLER_CONFIG_DIR=str(work / "cache")
    )
    subprocess.run(  # noqa: S603 - this interpreter's PyInstaller on our own spec
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", os.environ.get("TASK_STATION_BUILD_LOG", "WARN"),
         "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
         str(HERE / "task_station.spec")],
        check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    if sys.platform.startswith("linux"):
        share = dist / APP / "share"
        (share / "applications").mkdir(parents=True, exist_ok=True)
        shutil.copy2(HERE / "linux" / f"{APP}.desktop", share / "applications")
        icon_dir = share / "icons" / "hicolor" / "256x256" / "apps"
        icon_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(icons / f"{APP}.png", icon_dir / f"{APP}.png")
    return executable(dist)


def selftest(program: Path, timeout: float = 300) -> str:
    """Run ``program --selftest``; its JSON report (raises when it fails)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(  # noqa: S603 - the program we just built
        [str(program), "--selftest"], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"selftest failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--selftest", action="store_true", help="run the built station's self-test")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    program = build(args.dist.resolve(), args.work.resolve())
    print(f"built {program} in {time.perf_counter() - started:.0f} s")
    if args.selftest:
        print(selftest(program))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the PyInstaller bundle leaves out and adds (read by ``task_station.spec``).

Test and build tools, the local dev chain (py-evm and eth-tester: ``task-station
devchain`` runs from a source install, not from the bundle), and database dialects the
station cannot use are left out: a smaller bundle that builds faster.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: ``__version__`` of the package, read without importing it.
VERSION = re.search(
    r'__version__ = "([^"]+)"', (ROOT / "src" / "task_station" / "__init__.py").read_text()
).group(1)  # type: ignore[union-attr]

EXCLUDES = [
    # test, build and lint tools
    "pytest", "_pytest", "pytestqt", "xdist", "hypothesis", "mypy", "ruff", "importlinter",
    "grimp", "PyInstaller", "pip", "setuptools", "pkg_resources", "distutils", "_distutils_hack",
    # the dev chain (source installs only)
    "eth_tester", "eth", "task_station.venues.dex.devchain", "task_station.venues.dex.devchain_main",
    # GUI toolkits and notebooks the station does not use
    "tkinter", "_tkinter", "matplotlib", "IPython", "jupyter_client", "ipykernel", "notebook",
    "PyQt5", "PyQt6", "PySide2", "pyqtgraph.examples", "pyqtgraph.jupyter", "PIL",
    # uvicorn's optional extras: uvloop cannot run under qasync (STACK-NOTES), YAML configs
    "uvloop", "yaml", "watchfiles",
    # database dialects other than SQLite and PostgreSQL (psycopg 3)
    "sqlalchemy.dialects.mysql", "sqlalchemy.dialects.mssql", "sqlalchemy.dialects.oracle",
    "sqlalchemy.testing", "psycopg2", "asyncpg", "MySQLdb", "pymysql", "cx_Oracle",
    # test suites shipped inside libraries
    "pandas.tests", "numpy.tests", "pyarrow.tests", "numpy.f2py", "pandas.io.formats.style",
]  # fmt: skip

HIDDEN_IMPORTS = [
    # STACK-NOTES: PyInstaller does not see keyring backends found through entry points
    "keyrings.cryptfile.cryptfile",
    "keyring.backends.SecretService",
    "keyring.backends.kwallet",
    "keyring.backends.libsecret",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
    "keyring.backends.chainer",
    "keyring.backends.fail",
]

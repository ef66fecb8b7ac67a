#!/usr/bin/env bash
# Install TASK Station with its test tools into .venv and run every check:
# ruff (lint + format), mypy (strict), import-linter (layers), pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# The DEX tests deploy the real Uniswap V2 contracts from their npm packages.
if command -v npm >/dev/null; then
    npm ci --prefix tests/evm --no-audit --no-fund --loglevel=error
else
    echo "npm not found: the DEX tests will skip (install Node.js to run them)" >&2
fi
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "== ruff";          .venv/bin/ruff check src tests benchmarks migrations packaging
echo "== ruff format";   .venv/bin/ruff format --check src tests benchmarks migrations packaging
echo "== mypy";          .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
# one worker per core (-n auto): the suite is CPU-bound and every test owns its files,
# ports and PostgreSQL database; pass -n 0 to run in one process
echo "== pytest";        .venv/bin/python -m pytest -q -n auto "$@"

#!/usr/bin/env bash
# Set up Accord on a fresh machine (virtual environment, the package, web assets) and run the
# FSM demo on the embedded default (SQLite + DuckDB). Set ACCORD_SKIP_DEMO=1 to only install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,spark]"

# Debian's Chromium drives the browser tests (Playwright cannot download browsers here).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ -f scripts/install-web-assets.sh ]; then
  bash scripts/install-web-assets.sh
fi

if [ "${ACCORD_SKIP_DEMO:-0}" != "1" ]; then
  .venv/bin/accord --home accord-demo demo fsm
fi

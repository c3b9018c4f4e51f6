#!/usr/bin/env bash
# Install Debian's Chromium for the real-browser test (tests/test_browser.py). No browser downloads:
# Playwright drives this system Chromium. Needs root (CI runs as root); otherwise prints how to.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "Not root: install Chromium yourself (sudo apt-get install -y chromium) to run the browser test." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version

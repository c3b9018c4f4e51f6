"""Shared download helper for the data scripts: fails fast and clearly when offline.

Only the scripts in ``data_scripts/`` download anything; the notebooks never do.
"""
from __future__ import annotations

import hashlib
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_TIMEOUT = 15.0  # seconds without an answer before giving up: never a hang


class FetchError(RuntimeError):
    """A download that could not be done; the message says why and what to do."""


def download(url: str, dest: str | Path, *, sha256: str | None = None,
             timeout: float = DEFAULT_TIMEOUT, what: str = "the file") -> Path:
    """Download ``url`` to ``dest`` atomically (a partial file never replaces a good one).

    Raises :class:`FetchError` at once when the network is unreachable, and when the
    checksum does not match.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
            digest = hashlib.sha256()
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 20):
                tmp.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if total:
                    print(f"\r  {done / 1e6:6.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr)
            print(file=sys.stderr)
    except (urllib.error.URLError, socket.timeout, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"Could not download {what} from {url}: {reason}.\n"
            "This machine seems to be offline (or the address is blocked). Nothing was changed. "
            "Run this script again when you are online; the course's default notebooks do not "
            "need it.") from None
    tmp_path = Path(tmp.name)
    if sha256 is not None and digest.hexdigest() != sha256:
        tmp_path.unlink(missing_ok=True)
        raise FetchError(f"The download of {what} is corrupt (sha256 {digest.hexdigest()[:12]}…, "
                         f"expected {sha256[:12]}…). Nothing was changed; try again.")
    shutil.move(str(tmp_path), dest)
    return dest


def main_guard(main) -> int:
    """Run ``main()``; print a FetchError as a clear message and exit with status 2."""
    try:
        main()
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0

"""Fetch the hymenoptera ants-vs-bees photos (the article's 2-class example) into data/.

    python data_scripts/fetch_hymenoptera.py [--dest data/] [--url URL]

About 400 photos in ``hymenoptera_data/{train,val}/{ants,bees}``, the dataset of PyTorch's
transfer-learning tutorial. Notebook 10 uses it when present, and the offline demo folder
otherwise. Offline, this script stops at once with a clear message.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, download, main_guard  # noqa: E402

URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"


def main(argv=None) -> None:
    from course_lib.paths import data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="folder to extract into (default: data/)")
    parser.add_argument("--url", default=URL, help="where to download the zip from")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for an answer")
    args = parser.parse_args(argv)
    dest = args.dest or data_dir()
    target = dest / "hymenoptera_data"
    if (target / "train").is_dir():
        print(f"Already there: {target}")
        return
    archive = download(args.url, dest / "hymenoptera_data.zip", timeout=args.timeout, what="the hymenoptera photos")
    try:
        with zipfile.ZipFile(archive) as z:
            bad = [n for n in z.namelist() if n.startswith("/") or ".." in Path(n).parts]
            if bad:
                raise FetchError(f"The archive holds unsafe paths ({bad[0]}); refusing to extract.")
            z.extractall(dest)
    except zipfile.BadZipFile:
        raise FetchError("The download is not a valid zip file; nothing was extracted. Try again.") from None
    finally:
        archive.unlink(missing_ok=True)
    print(f"Extracted to {target}. Notebook 10 will use it.")


if __name__ == "__main__":
    sys.exit(main_guard(main))

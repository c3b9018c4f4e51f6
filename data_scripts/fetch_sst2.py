"""Fetch the SST-2 sentiment benchmark (GLUE) into data/sst2/ for online learners.

    python data_scripts/fetch_sst2.py [--dest data/sst2] [--url URL]

Writes train.tsv and dev.tsv (about 67,000 and 872 movie-review sentences labelled
negative/positive). ``course_lib.text.load_sst2()`` reads them. Offline, this script stops at
once with a clear message; notebook 09 runs on the course's own offline text set.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, download, main_guard  # noqa: E402

URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"


def main(argv=None) -> None:
    from course_lib.paths import data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="folder for the TSV files (default: data/sst2)")
    parser.add_argument("--url", default=URL, help="where to download the zip from")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for an answer")
    args = parser.parse_args(argv)
    dest = args.dest or data_dir("sst2")
    if (dest / "train.tsv").is_file():
        print(f"Already there: {dest}")
        return
    archive = download(args.url, dest.parent / "SST-2.zip", timeout=args.timeout, what="SST-2")
    try:
        with zipfile.ZipFile(archive) as z:
            names = {Path(n).name: n for n in z.namelist()}
            if not {"train.tsv", "dev.tsv"} <= set(names):
                raise FetchError("The archive does not contain SST-2's train.tsv and dev.tsv; nothing was kept.")
            dest.mkdir(parents=True, exist_ok=True)
            for name in ("train.tsv", "dev.tsv"):
                with z.open(names[name]) as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile:
        raise FetchError("The download is not a valid zip file; nothing was kept. Try again.") from None
    finally:
        archive.unlink(missing_ok=True)
    print(f"Saved SST-2 to {dest}. Load it with course_lib.text.load_sst2().")


if __name__ == "__main__":
    sys.exit(main_guard(main))

"""Put torchvision's ImageNet ResNet18 weights into the torch cache (for online learners).

    python data_scripts/fetch_resnet18_weights.py

Afterwards ``course_lib.models.load_backbone("resnet18")`` works offline. The course's
default path uses EfficientNet-Lite0, whose weights ship with pip, so this is optional.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, download, main_guard  # noqa: E402


def main(argv=None) -> None:
    from torchvision.models import ResNet18_Weights

    from course_lib.models import resnet18_weights_path

    weights = ResNet18_Weights.DEFAULT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=weights.url, help="where to download from (default: torchvision's)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for an answer")
    args = parser.parse_args(argv)
    dest = resnet18_weights_path()
    if dest.is_file():
        print(f"Already there: {dest}")
        return
    download(args.url, dest, timeout=args.timeout, what="ResNet18's ImageNet weights")
    # torchvision names the file by the first 8 hex digits of its sha256; check them.
    import hashlib

    prefix = dest.stem.rsplit("-", 1)[-1]
    if hashlib.sha256(dest.read_bytes()).hexdigest()[:len(prefix)] != prefix:
        dest.unlink()
        raise FetchError("The downloaded weights failed their checksum; nothing was kept. Try again.")
    print(f"Saved {dest}. load_backbone('resnet18') now works offline.")


if __name__ == "__main__":
    sys.exit(main_guard(main))

"""Photos streamed in batches (course_lib.photos.stream_photos) and features cached on disk
(course_lib.recipe.FeatureCache, split_features, folder_features): order, bad files, worker
processes (fork and spawn), memory flat in the number of photos, cache hits, new, changed and
unreadable files, interrupted runs, clearing."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from course_lib import photos, recipe, splits
from course_lib.errors import BadImageError
from course_lib.photos import Preprocess

REPO = Path(__file__).resolve().parents[1]
SIZE = 16


def _write(root: Path, n_per_class: int, classes=("a", "b"), size=(40, 30), start: int = 0) -> Path:
    rng = np.random.default_rng(start)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(start, start + n_per_class):
            pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i:04d}.png")
    return root


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1))


def _entries(root: Path) -> list[tuple[str, str]]:
    return photos.scan_folder(root).files["all"]


class Exploding(nn.Module):
    """A model that fails on its ``after``-th call: an interrupted run."""

    def __init__(self, model: nn.Module, after: int):
        super().__init__()
        self.model, self.after, self.calls = model, after, 0

    def forward(self, x):
        self.calls += 1
        if self.calls >= self.after:
            raise KeyboardInterrupt
        return self.model(x)


# --------------------------------------------------------------------------- the stream

def test_stream_keeps_order_and_never_stops_at_a_bad_file(tmp_path):
    root = _write(tmp_path / "p", 3)
    (root / "a" / "zz.jpg").write_bytes(b"not a photo")
    (root / "b" / "IMG.HEIC").write_bytes(b"heic")
    files = [root / rel for rel, _ in _entries(root)] + [root / "b" / "IMG.HEIC", root / "gone.png"]
    batches = list(photos.stream_photos(files, Preprocess(SIZE), batch_size=3, num_workers=0, root=root))
    assert [i for b in batches for i in b.indices] == list(range(len(files)))
    errors = {files[i].name: e for b in batches for i, e in zip(b.indices, b.errors) if e}
    assert set(errors) == {"zz.jpg", "IMG.HEIC", "gone.png"}
    assert errors["zz.jpg"].startswith("a/zz.jpg: cannot read it") and "pillow-heif" in errors["IMG.HEIC"]
    assert "no such file" in errors["gone.png"]
    good = torch.cat([b.images for b in batches if b.images is not None])
    assert good.shape == (6, 3, SIZE, SIZE) and good.dtype == torch.uint8   # a quarter of the floats' bytes
    first = next(b for b in batches)
    assert torch.equal(first.images[0], Preprocess(SIZE).prepare(files[0]))     # the one preprocessing
    assert torch.equal(first.images[0].float() / 255.0, Preprocess(SIZE).resize_crop(files[0]))
    assert first.digests[0] == photos.content_digest(files[0].read_bytes())
    assert first.digests[0] == hashlib.sha256(files[0].read_bytes()).hexdigest()[:32]   # SHA-256: the fast one


def test_worker_processes_give_what_the_main_process_gives(tmp_path):
    root = _write(tmp_path / "p", 6)
    files = [root / rel for rel, _ in _entries(root)]
    pre = Preprocess.for_backbone("efficientnet_lite0", SIZE)

    def run(workers):
        batches = list(photos.stream_photos(files, pre, batch_size=4, num_workers=workers))
        return torch.cat([b.images for b in batches]), [d for b in batches for d in b.digests]

    (main_images, main_digests), (worker_images, worker_digests) = run(0), run(2)
    assert main_digests == worker_digests
    assert torch.allclose(main_images, worker_images, atol=1e-6)


@pytest.mark.slow
def test_workers_start_under_spawn_as_on_windows_and_macos(tmp_path):
    """Under spawn a worker imports the dataset and collate function by name: both top-level."""
    root = _write(tmp_path / "p", 2)
    files = [root / rel for rel, _ in _entries(root)]
    batches = list(photos.stream_photos(files, Preprocess(SIZE), batch_size=2, num_workers=1,
                                        start_method="spawn"))
    assert [i for b in batches for i in b.indices] == [0, 1, 2, 3]


def test_no_worker_processes_falls_back_to_this_one(tmp_path, monkeypatch):
    root = _write(tmp_path / "p", 2)
    files = [root / rel for rel, _ in _entries(root)]

    def refuse(self):
        raise OSError("no shared memory here")

    monkeypatch.setattr(torch.utils.data.DataLoader, "__iter__", refuse)
    with pytest.warns(UserWarning, match="no shared memory here.*num_workers=0"):
        batches = list(photos.stream_photos(files, Preprocess(SIZE), num_workers=2))
    assert sum(len(b.indices) for b in batches) == 4


def test_default_workers_fit_the_machine(monkeypatch):
    monkeypatch.setattr(photos, "usable_cores", lambda: 2)
    assert photos.default_workers(10_000, "cpu") == 1         # 2 cores: the network needs them
    assert photos.default_workers(100, "cpu") == 0            # few photos: no start-up cost
    monkeypatch.setattr(photos, "usable_cores", lambda: 16)
    assert photos.default_workers(10_000, "cpu") == 4 and photos.default_workers(10_000, "cuda") == 8
    monkeypatch.setattr(photos, "usable_cores", lambda: 1)
    assert photos.default_workers(10_000, "cpu") == 0


def test_progress_bar_shows_the_rate_and_time_left(tmp_path, capsys):
    root = _write(tmp_path / "p", 2)
    files = [root / rel for rel, _ in _entries(root)]
    list(photos.stream_photos(files, Preprocess(SIZE), num_workers=0, progress=True, desc="reading"))
    err = capsys.readouterr().err
    assert "reading" in err and "/4 [" in err and "<" in err and "photo/s" in err   # elapsed<left, rate


CHILD = r"""
import sys
from pathlib import Path
import torch
from torch import nn
from course_lib import photos, recipe

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

root, mode = Path(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1))
pre = photos.Preprocess(256)
entries = photos.scan_folder(root).files["all"]
recipe.folder_features(model, root, entries[:8], ["a", "b"], pre, cache=False, num_workers=0)   # warm up
before = peak_mb()
if mode == "stream":
    f = recipe.folder_features(model, root, entries, ["a", "b"], pre, cache=False, num_workers=0)
    assert len(f) == len(entries)
else:  # the old way: every photo in memory first
    kept = photos.load_photos(root, entries, ["a", "b"], pre, progress=False)
    assert len(kept) == len(entries)
print(peak_mb() - before)
"""


def _growth(root: Path, mode: str) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root), mode], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.split()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_memory_does_not_grow_with_the_number_of_photos(tmp_path):
    """Peak memory (VmHWM of a fresh process) while computing features of 40 vs 400 photos at 256 px.

    Holding 400 prepared photos would take 400 × 0.79 MB; streamed, the peak stays within a few
    batches. The in-memory reader, measured the same way, shows the test can tell the two apart.
    """
    few, many = _write(tmp_path / "few", 20, size=(320, 256)), _write(tmp_path / "many", 200, size=(320, 256))
    assert _growth(many, "stream") - _growth(few, "stream") < 30          # MB, for 360 more photos
    assert _growth(many, "memory") - _growth(few, "memory") > 200          # the old way: ~0.79 MB each


# --------------------------------------------------------------------------- the cache

def test_cache_hit_new_file_and_changed_file(tmp_path):
    root = _write(tmp_path / "p", 4)
    model, pre = _model(), Preprocess(SIZE)
    first = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre)
    assert (first.computed, first.from_cache) == (8, 0)
    again = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre)
    assert (again.computed, again.from_cache) == (0, 8) and torch.equal(again.x, first.x)
    _write(root, 1, start=100)                                            # a new photo in each class
    more = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre)
    assert (more.computed, more.from_cache) == (2, 8)
    changed = root / "a" / "0000.png"
    stat = changed.stat()
    Image.fromarray(np.full((30, 40, 3), 7, np.uint8)).save(changed)      # new content ...
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))            # ... with the old date
    after = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre)
    assert (after.computed, after.from_cache) == (1, 9)
    fresh = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre, cache=False)
    row = after.paths.index("a/0000.png")
    assert torch.allclose(after.x[row], fresh.x[row]) and not torch.allclose(after.x[row], first.x[0])


def test_cache_is_keyed_by_weights_and_preprocessing(tmp_path):
    root = _write(tmp_path / "p", 2)
    model = _model()
    recipe.folder_features(model, root, _entries(root), ["a", "b"], Preprocess(SIZE))
    other_size = recipe.folder_features(model, root, _entries(root), ["a", "b"], Preprocess(SIZE + 8))
    assert other_size.computed == 4
    with torch.no_grad():
        model[0].weight.mul_(2)                                            # "fine-tuned": other weights
    tuned = recipe.folder_features(model, root, _entries(root), ["a", "b"], Preprocess(SIZE))
    assert tuned.computed == 4
    assert recipe.clear_feature_cache() > 0                                # one call empties it
    assert recipe.folder_features(model, root, _entries(root), ["a", "b"], Preprocess(SIZE)).computed == 4


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    root = _write(tmp_path / "p", 10)
    pre, model = Preprocess(SIZE), _model()
    cache = recipe.FeatureCache.for_model(model, pre, flush_every=4)
    with pytest.raises(KeyboardInterrupt):
        recipe.folder_features(Exploding(model, after=4), root, _entries(root), ["a", "b"], pre,
                               cache=cache, batch_size=2)
    assert len(recipe.FeatureCache.for_model(model, pre)) == 6            # 3 batches of 2 were kept
    resumed = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre)
    assert (resumed.computed, resumed.from_cache) == (14, 6)
    fresh = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre, cache=False)
    assert torch.allclose(resumed.x, fresh.x, atol=1e-6)


def test_cache_files_are_written_whole_merged_and_a_damaged_one_is_ignored(tmp_path):
    cache = recipe.FeatureCache(tmp_path / "c", flush_every=1)
    digests = [f"{i:032x}" for i in range(20)]
    for d in digests:
        cache.add([d], torch.full((1, 3), float(int(d, 16))))
    assert len(list((tmp_path / "c").glob("*.safetensors"))) == 20
    assert not list((tmp_path / "c").glob(".*"))                          # no temporary file left
    cache.compact()
    assert len(list((tmp_path / "c").glob("*.safetensors"))) == 1
    found = recipe.FeatureCache(tmp_path / "c").lookup(digests[::-1])
    assert [int(found[i][0]) for i in range(20)] == list(range(19, -1, -1))
    (tmp_path / "c" / "0-broken.safetensors").write_bytes(b"half a file")
    with pytest.warns(UserWarning, match="unreadable cache file 0-broken"):
        assert len(recipe.FeatureCache(tmp_path / "c")) == 20


def test_split_features_streams_every_part_and_names_bad_photos_at_the_end(tmp_path):
    root = _write(tmp_path / "p", 10)
    (root / "b" / "0005.png").write_bytes(b"broken")
    split = splits.split_folder(root, split_file=tmp_path / "s.json")
    model, pre = _model(), Preprocess(SIZE)
    with pytest.raises(BadImageError, match=r"(?s)1 photo\(s\) cannot be read.*b/0005.png.*on_bad='skip'"):
        recipe.split_features(model, split, pre)
    with pytest.warns(UserWarning, match="Skipped 1 unreadable photo"):
        feats = recipe.split_features(model, split, pre, on_bad="skip")
    assert sum(f.computed for f in feats.values()) == 0                  # all 19 cached by the failed run
    assert sum(len(f) for f in feats.values()) == 19 and sum(len(f.skipped) for f in feats.values()) == 1
    for part, f in feats.items():
        wanted = [rel for rel, _ in split.parts[part] if rel != "b/0005.png"]
        assert f.paths == wanted and f.x.shape == (len(wanted), 4)
        assert f.y.tolist() == [split.classes.index(c) for rel, c in split.parts[part] if rel != "b/0005.png"]
    val = feats["val"]
    assert torch.allclose(val.images[0], pre.resize_crop(root / val.paths[0]))   # read on demand
    assert "from the cache" in repr(val) and sum(val.counts().values()) == len(val)


def test_in_memory_and_streamed_features_agree(tmp_path):
    root = _write(tmp_path / "p", 3)
    split = splits.split_folder(root, split_file=tmp_path / "s.json", val=0.0, test=0.0)
    model, pre = _model(), Preprocess(SIZE)
    streamed = recipe.split_features(model, split, pre, cache=False)["train"]
    kept = splits.load_split(split, pre, progress=False)["train"]
    x, y = recipe.photo_features(model, kept, device="cpu")
    assert torch.allclose(x, streamed.x, atol=1e-6) and torch.equal(y, streamed.y)


def test_the_shell_commands_let_the_allocator_reuse_large_blocks(monkeypatch):
    """glibc: the forward pass's large buffers are kept for reuse (set once, by each command)."""
    import inspect

    from course_lib import cpu, predict, train

    calls = []

    class Libc:
        def mallopt(self, parameter, value):
            calls.append((parameter, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("trim", pad))

    monkeypatch.setattr(cpu, "_libc", lambda: Libc())
    assert cpu.reuse_large_blocks() is True
    assert calls == [(cpu.M_ARENA_MAX, 1),                        # threads share the pools
                     (cpu.M_MMAP_THRESHOLD, 64 << 20), (cpu.M_TRIM_THRESHOLD, 256 << 20)]
    cpu.quiet_decoding_worker()                                   # a worker keeps less
    assert calls[3:] == [(cpu.M_TRIM_THRESHOLD, 32 << 20), ("trim", 0)]
    calls.clear()                                                 # lanes (threads) share them too
    assert list(cpu.in_lanes(abs, [-1, 2], lanes=2)) == [(-1, 1), (2, 2)]
    assert calls == [(cpu.M_ARENA_MAX, 1)]
    monkeypatch.setattr(cpu, "_libc", lambda: None)               # macOS, Windows: nothing to set
    assert cpu.reuse_large_blocks() is False
    cpu.release_freed_memory()
    cpu.quiet_decoding_worker()
    cpu.share_freed_memory()
    for module in (train, predict):   # the commands' own processes, never a notebook's kernel
        entry = inspect.getsource(module).split('if __name__ == "__main__":')[1]
        assert entry.index("reuse_large_blocks()") < entry.index("main()")


def test_lanes_keep_the_order_run_one_thread_each_and_raise_at_the_failing_item():
    import threading

    from course_lib import cpu

    before = torch.get_num_threads()
    seen = []

    def square(v):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return v * v

    assert list(cpu.in_lanes(square, range(9), lanes=3)) == [(v, v * v) for v in range(9)]
    assert all(name.startswith("course-lane") and threads == 1 for name, threads in seen)
    assert torch.get_num_threads() == before

    seen.clear()   # one lane: this thread, torch's threads unchanged
    assert list(cpu.in_lanes(square, range(3), lanes=1)) == [(0, 0), (1, 1), (2, 4)]
    assert seen == [(threading.current_thread().name, before)] * 3

    def fails_at_five(v):
        if v == 5:
            raise ValueError("item 5")
        return v

    got = []
    with pytest.raises(ValueError, match="item 5"):
        for v, _ in cpu.in_lanes(fails_at_five, range(9), lanes=2):
            got.append(v)
    assert got == [0, 1, 2, 3, 4] and torch.get_num_threads() == before

    taken = []   # a consumer that stops early: at most lanes + 1 items were read ahead
    lanes = cpu.in_lanes(lambda v: v, (taken.append(v) or v for v in range(100)), lanes=2)
    assert next(lanes) == (0, 0)
    lanes.close()
    assert len(taken) <= 4 and torch.get_num_threads() == before


def test_the_network_runs_in_lanes_beside_decoding_workers(monkeypatch):
    from course_lib import cpu

    monkeypatch.setattr(photos, "usable_cores", lambda: 2)
    with cpu.cpu_threads(2):
        assert recipe.network_lanes(1) == 2 and recipe.network_lanes(3) == 2
        assert recipe.network_lanes(0) == 1 and recipe.network_lanes(1, "cuda") == 1
    with cpu.cpu_threads(1):
        assert recipe.network_lanes(1) == 1            # never more than torch was given
    monkeypatch.setattr(photos, "usable_cores", lambda: 64)
    with cpu.cpu_threads(64):
        assert recipe.network_lanes(4) == recipe.MAX_LANES


def test_features_computed_in_lanes_are_those_of_one_thread(tmp_path, monkeypatch):
    from course_lib import cpu

    root = _write(tmp_path / "p", 9)
    pre, model = Preprocess(SIZE), _model()
    with cpu.cpu_threads(1):
        one = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre, cache=False,
                                     batch_size=2, num_workers=0)
    monkeypatch.setattr(recipe, "network_lanes", lambda workers, device="cpu": 3)
    lanes = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre, cache=False,
                                   batch_size=2, num_workers=1)
    assert torch.equal(one.x, lanes.x) and torch.equal(one.y, lanes.y) and one.paths == lanes.paths

    cache = recipe.FeatureCache.for_model(model, pre, flush_every=2)   # interrupted in a lane
    with pytest.raises(KeyboardInterrupt):
        recipe.folder_features(Exploding(model, after=4), root, _entries(root), ["a", "b"], pre,
                               cache=cache, batch_size=2, num_workers=1)
    kept = len(recipe.FeatureCache.for_model(model, pre))
    assert 0 < kept <= 8 and kept % 2 == 0                     # whole batches, before the failing one
    resumed = recipe.folder_features(model, root, _entries(root), ["a", "b"], pre, batch_size=2,
                                     num_workers=1)
    assert (resumed.computed, resumed.from_cache) == (18 - kept, kept)
    assert torch.allclose(resumed.x, one.x, atol=1e-6)

"""The process's CPU and memory settings: threads for a block of work, and the C allocator.

- :func:`cpu_threads`: torch's and the BLAS libraries' threads inside a ``with`` block, restored after.
- :func:`in_lanes`: a function over a stream of items, several items at once, each on one thread
  (the network over batches of photos while worker processes decode the next ones).
- :func:`reuse_large_blocks`: on Linux (glibc), keep the large buffers a forward pass frees for
  reuse instead of asking the kernel for fresh pages at every batch; the shell commands call it
  once at start.
- :func:`share_freed_memory`: threads started later share the process's memory pools (glibc),
  so that each does not keep freed memory of its own.
- :func:`release_freed_memory`: give freed memory back to the system (a stream of photos calls
  it whenever it writes features to disk, so memory stays flat).
- :func:`quiet_decoding_worker`: a photo-decoding worker process keeps little freed memory.

Each does nothing where it does not apply (macOS, Windows): they change speed and memory,
never results. ``benchmarks/own_photos.py`` measures them.

>>> with cpu_threads(1):
...     torch.get_num_threads()
1
"""
from __future__ import annotations

import collections
import contextlib
import ctypes
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8   # mallopt's parameters (malloc.h)
REUSE_BLOCKS_UP_TO = 64 << 20                  # bytes: a forward pass's largest buffers at recipe.batch_for()
KEEP_FREED_UP_TO = 256 << 20                   # bytes: freed memory kept for reuse before it is returned
WORKER_KEEPS_UP_TO = 32 << 20                  # bytes: the same for a decoding worker (a few batches)


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """Use ``n`` CPU threads (torch and BLAS) inside the block; ``None`` changes nothing.

    >>> with cpu_threads(None):
    ...     torch.get_num_threads() >= 1
    True
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)


def in_lanes(fn: Callable[[T], R], items: Iterable[T], lanes: int) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` for each item, in order, with up to ``lanes`` items computed at once.

    Each lane is a thread of its own whose torch operations run on one CPU thread: several
    batches go through the network side by side (inter-operation parallelism) instead of every
    core working on one batch. When the system interrupts a lane (a worker process decoding
    photos needs the core for a moment), the other lanes go on; a multi-threaded operation
    would wait for its slowest thread (``benchmarks/own_photos.py`` measures both ways). The
    values are those of ``fn`` on one thread: lanes only change which thread computes which item.

    ``lanes <= 1`` calls ``fn`` here, item after item, with the threads torch already has.
    Gradient mode is per thread, so ``fn`` turns gradients off itself. At most
    ``lanes + 1`` items are taken from ``items`` ahead of the one returned; an error in ``fn``
    is raised here, at its item.

    >>> [(x, y) for x, y in in_lanes(lambda v: v * v, range(4), lanes=2)]
    [(0, 0), (1, 1), (2, 4), (3, 9)]
    """
    if lanes <= 1:
        for item in items:
            yield item, fn(item)
        return
    share_freed_memory()
    pending: collections.deque = collections.deque()
    with cpu_threads(1):   # read by each lane's thread when it starts
        pool = ThreadPoolExecutor(lanes, thread_name_prefix="course-lane")
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                while len(pending) > lanes:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)   # an interrupted stream: lanes finish their item


@functools.cache
def _libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt   # glibc has both
        return libc
    except (OSError, AttributeError):   # not Linux with glibc: nothing to do
        return None


def reuse_large_blocks() -> bool:
    """Let the C library reuse the large buffers a forward pass frees, instead of fresh pages.

    On Linux, glibc hands every block above 32 MB straight to and back from the kernel, and
    gives freed memory back as soon as a few MB are free: every batch of the network then
    asks the kernel for new zeroed pages (page faults), which slowed the forward pass of
    EfficientNet-Lite0 at 224 px (``benchmarks/own_photos.py`` times the network alone). This keeps
    blocks up to 64 MB, and up to 256 MB of freed memory, for reuse; :func:`release_freed_memory`
    still gives it back where a stream of photos flushes its features. The shell commands
    (``python -m course_lib.train`` / ``predict``) call it once at start, not a notebook's
    kernel. Returns whether it applied (``False`` where glibc is not the allocator).

    >>> reuse_large_blocks() in (True, False)
    True
    """
    libc = _libc()
    if libc is None:
        return False
    share_freed_memory()   # before any thread: each would keep up to 256 MB of its own
    return bool(libc.mallopt(M_MMAP_THRESHOLD, REUSE_BLOCKS_UP_TO)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_UP_TO))


def share_freed_memory() -> None:
    """Let new threads allocate from the memory pool the process already has (glibc arenas).

    glibc gives each new thread a pool of its own (up to 8 per core), and each keeps the
    memory freed in it: the lanes of :func:`in_lanes` would each hold a forward pass's freed
    buffers beside the process's, and its peak memory would grow with the number of lanes.
    With this, threads started later reuse the existing pools. It applies to threads started
    after the call (while the process has few pools, as a notebook's kernel has); results never
    change.

    >>> share_freed_memory()
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 1)


def release_freed_memory() -> None:
    """Give the memory freed so far back to the system, where the C library keeps it otherwise.

    On Linux, glibc keeps freed blocks for reuse: streaming photos into the feature cache, the
    process grew with every photo without this, and stays flat with it at the same speed.

    >>> release_freed_memory()
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def quiet_decoding_worker(worker_id: int = 0) -> None:
    """A decoding worker's start (a DataLoader ``worker_init_fn``): keep at most 32 MB freed.

    A worker started by ``fork`` inherits :func:`reuse_large_blocks`'s 256 MB; it never needs
    more than a few batches of photos.

    >>> quiet_decoding_worker()
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_TRIM_THRESHOLD, WORKER_KEEPS_UP_TO)
        libc.malloc_trim(0)

"""The process's CPU and memory settings: threads for a block of work, and the C allocator.

- :func:`cpu_threads`: torch's and the BLAS libraries' threads inside a ``with`` block, restored after.
- :func:`reuse_large_blocks`: on Linux (glibc), keep the large buffers a forward pass frees for
  reuse instead of asking the kernel for fresh pages at every batch; the shell commands call it
  once at start.
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

import contextlib
import ctypes
import functools

import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # mallopt's parameters (malloc.h)
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
    asks the kernel for new zeroed pages (page faults), which on two cores made the forward
    pass of EfficientNet-Lite0 at 224 px about twice as slow as its arithmetic. This keeps
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
    return bool(libc.mallopt(M_MMAP_THRESHOLD, REUSE_BLOCKS_UP_TO)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_UP_TO))


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

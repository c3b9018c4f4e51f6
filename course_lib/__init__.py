"""course_lib: the small, tested helpers behind the notebooks of *Transfer Learning in Practice*.

Importing the package is cheap (no torch import); each submodule is imported on first use::

    >>> import course_lib
    >>> course_lib.__version__
    '0.1.0'
    >>> from course_lib import data, models, training   # heavy imports happen here

Modules, one job each (CONTRIBUTING.md says which notebooks use which):

- ``checkpoints``: save and load weights safely (safetensors, ``weights_only=True``)
- ``compare``: fair A-vs-B comparisons: paired seeds, equal budgets, 95 % interval, verdict
- ``cpu``: the process's CPU threads and C allocator (speed and memory, never results)
- ``data``: offline datasets, stratified and k-per-class splits, image folders, ``to_numpy``
- ``decide``: a decision report on your own folder: frozen head, last block(s) or full fine-tuning, compared fairly
- ``descent``: gradient descent by hand, checked against autograd and ``torch.optim``
- ``devices``: pick CUDA, MPS or the CPU; move batches there
- ``envcheck``: the environment check of notebook 00
- ``errors``: the course's errors, which say what is wrong and how to fix it
- ``evaluation``: eval mode and no gradients, accuracy, the one batched forward pass (light: PyTorch only)
- ``exercises``: feedback for the notebooks' exercises (checks, ``Quiz``, ``show_solution``)
- ``export``: save a trained photo classifier (safetensors + JSON) and load it without unpickling
- ``finetune``: fine-tuning regimes and their experiments
- ``inspect_model``: forward hooks, feature maps, filters, FLOPs and seconds per image
- ``interpret``: confusion matrix, per-class precision and recall, worst mistakes, the cleaner
- ``layer_transfer``: which layers transfer (copy the first n blocks, frozen or fine-tuned)
- ``logistic``: logistic regression by Newton-CG in NumPy (scikit-learn's objective and algorithm), for the command's head
- ``loop``: the one step-budgeted training loop, the ledger that counts it, convex heads, ``Budget``
- ``models``: pretrained backbones, preprocessing, heads, freezing, ``evaluating``
- ``objectives``: softmax, cross-entropy and empirical risk from scratch
- ``paths``: where the course reads and writes files
- ``photos``: read your own photos the camera's way (EXIF, huge, CMYK, 16-bit, GIF) and stream them in batches
- ``plots``: shared figures, the one mean ± std plot
- ``predict``: classify photo files with an exported model, from Python or the shell
- ``pretrain``: the course's own small CNN pretrained on digits 0–4
- ``recipe``: features of a photo folder, streamed and cached on disk; the last block fine-tuned
- ``repro``: seeding every random number generator
- ``segmentation``: per-pixel classes: texture mosaics, a 1×1-conv head on frozen Lite0 maps, mean IoU
- ``shift``: shifted test sets (rotation, blur, elastic distortion) for testing generalisation
- ``splits``: split a photo folder into train / val / test once, and keep the split
- ``text``: text datasets, tokenised loaders, mean pooling, sentence embeddings
- ``tokens``: token classification (NER): word-piece label alignment, a tagging head, entity F1
- ``train``: ``python -m course_lib.train FOLDER MODEL_DIR``: your photos to a model with its card, in one command
- ``training``: the fit loop, evaluation, feature caching, label efficiency, summaries
- ``transferability``: LogME, LEEP, kNN and linear-probe scores
- ``verdicts``: each notebook's measured results, written for the bench's robustness and claims tables and the 中文小结
- ``widgets``: interactive explorers with a static figure for unattended runs

The list of submodules is read from the package folder, so it cannot fall out of date;
``tests/test_package.py`` checks that every module imports and is described above.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = frozenset(module.name for module in pkgutil.iter_modules(__path__)
                        if not module.name.startswith("_"))

__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str) -> Any:  # PEP 562: lazy submodules keep `import course_lib` fast
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)

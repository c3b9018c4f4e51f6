"""Evaluating a model: eval mode and no gradients, accuracy, and the one batched forward pass.

A light module (PyTorch only, no pretrained-weight packages), so that every module that scores a
model can import it without loading the backbones.

>>> m = nn.Sequential(nn.Linear(2, 2), nn.Dropout()); _ = m.train()
>>> out = batched_forward(m, torch.rand(10, 2), batch_size=4)
>>> tuple(out.shape), m.training          # the mode is restored
((10, 2), True)
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from torch import nn


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no gradients inside the ``with`` block; the model's previous mode after it.

    Every course function that evaluates a model uses this, so calling it never leaves your
    model in a different mode than it found it.

    >>> m = nn.Dropout(); _ = m.train()
    >>> with evaluating(m):
    ...     m.training
    False
    >>> m.training
    True
    """
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, mode in modes.items():
            module.train(mode)


def eval_frozen_modules(model: nn.Module) -> list[str]:
    """Put every fully frozen sub-module in eval mode; return their names.

    Call it after ``model.train()``. Without it a "frozen" backbone still changes: its
    BatchNorm running statistics keep updating from your batches, and dropout /
    drop-connect stay random. The course's training loops do this for you.

    >>> m = nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 2)); _ = m[0].requires_grad_(False)
    >>> _ = m.train(); eval_frozen_modules(m), m[0].training, m[1].training
    (['0'], False, True)
    """
    switched = []

    def visit(module: nn.Module, prefix: str) -> None:
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            module.eval()
            switched.append(prefix or type(module).__name__)
            return
        for name, child in module.named_children():
            visit(child, f"{prefix}.{name}" if prefix else name)

    visit(model, "")
    return switched


def set_batchnorm_eval(model: nn.Module) -> int:
    """Put every BatchNorm layer in eval mode (use stored statistics); return how many.

    On very small datasets, batch statistics are noisy; keeping the pretrained running
    statistics is often better, even for BatchNorm layers you fine-tune.

    >>> set_batchnorm_eval(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    1
    """
    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            n += 1
    return n


def logits_of(output: Any) -> torch.Tensor:
    """The logits of a model's output: the tensor itself, or ``output.logits`` (Hugging Face).

    >>> logits_of(torch.zeros(2)).shape
    torch.Size([2])
    """
    return output.logits if hasattr(output, "logits") else output


def forward(model: Callable, inputs: Any) -> torch.Tensor:
    """``model(inputs)`` for a tensor, ``model(**inputs)`` for a dict of tensors (text models).

    >>> forward(nn.Identity(), torch.ones(1)).tolist()
    [1.0]
    """
    return logits_of(model(**inputs) if isinstance(inputs, dict) else model(inputs))


def _rows(inputs: Any, start: int, stop: int) -> Any:
    if isinstance(inputs, dict):
        return {k: v[start:stop] for k, v in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(v[start:stop] for v in inputs)
    return inputs[start:stop]


def _length(inputs: Any) -> int:
    if isinstance(inputs, dict):
        return len(next(iter(inputs.values())))
    if isinstance(inputs, (tuple, list)):
        return len(inputs[0])
    return len(inputs)


def batched_forward(model: Callable, inputs: Any, *, batch_size: int = 256,
                    device: str | torch.device | None = None, call: Callable | None = None) -> torch.Tensor:
    """The course's one batched forward pass: eval mode, no gradients, results on the CPU.

    ``inputs`` is a tensor, a dict of tensors (``model(**batch)``) or a tuple of tensors
    (``model(*batch)``), cut into row batches of ``batch_size``. ``call(model, batch)`` replaces
    the plain call (e.g. to read a hidden layer). A module's mode is restored afterwards.

    >>> batched_forward(nn.Linear(3, 2), torch.rand(5, 3), batch_size=2).shape
    torch.Size([5, 2])
    """
    n = _length(inputs)
    if n == 0:
        from .errors import EmptyDataError

        raise EmptyDataError("There is nothing to run through the model: the inputs have 0 rows.")
    run = call or (lambda m, b: logits_of(m(*b)) if isinstance(b, (tuple, list)) else forward(m, b))
    dev = torch.device(device) if device is not None else None
    context = evaluating(model) if isinstance(model, nn.Module) else _no_grad_context()
    outputs = []
    with context:
        for start in range(0, n, batch_size):
            batch = _rows(inputs, start, start + batch_size)
            if dev is not None:
                from .devices import to_device

                batch = to_device(batch, dev)
            outputs.append(run(model, batch).detach().cpu())
    return torch.cat(outputs)


@contextlib.contextmanager
def _no_grad_context() -> Iterator[None]:
    with torch.no_grad():
        yield


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of rows whose largest logit is at the true label.

    >>> round(accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, 1, 1])), 3)
    0.667
    """
    labels = torch.as_tensor(labels)
    if len(labels) == 0:
        from .errors import EmptyDataError

        raise EmptyDataError("Accuracy of 0 examples is undefined: the labels are empty.")
    return int((logits.argmax(1) == labels.to(logits.device)).sum()) / len(labels)


def accuracy_of(model: Callable, inputs: Any, labels: torch.Tensor, *, batch_size: int = 256,
                device: str | torch.device | None = None) -> float:
    """Accuracy of ``model`` on ``(inputs, labels)``: :func:`batched_forward`, then :func:`accuracy`.

    >>> m = nn.Linear(2, 2)
    >>> 0.0 <= accuracy_of(m, torch.rand(8, 2), torch.zeros(8, dtype=torch.long)) <= 1.0
    True
    """
    return accuracy(batched_forward(model, inputs, batch_size=batch_size, device=device), labels)

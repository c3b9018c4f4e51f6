"""The one detector for "your answer called the function this exercise asks you to write".

An exercise that teaches softmax cannot accept ``torch.softmax``; one that teaches LEEP cannot
accept ``transferability.leep``. :class:`Forbidden` runs the learner's function and watches what
runs *inside* it, keyed on what cannot be renamed:

- a Python function (``F.softmax``, ``sklearn.metrics.log_loss``, ``models.replace_head``, a
  model solution) by its **code object**, through ``sys.setprofile`` "call" events. An alias
  (``import … as``), ``functools.partial``, a default argument, a wrapper, a method, ``getattr``
  with a built string: all end up running that code object, so all are seen;
- a PyTorch operation by its **ATen operator** (``torch.ops.aten._softmax``), through a
  ``TorchDispatchMode``. ``torch.softmax``, ``Tensor.softmax``, ``torch.special.softmax``,
  ``nn.Softmax`` and ``F.softmax`` all reach that one operator, even when called from C
  (``functools.partial(torch.softmax, dim=-1)``);
- any other C built-in by identity, through ``sys.setprofile`` "c_call" events.

Calls are recorded, never blocked: the learner's code runs exactly as written, and the check
refuses the answer afterwards with a kind message. What it does not catch: a copy of the
library's source pasted into the answer (a new code object; that is the learner's own choice),
work done in another thread or process, and an operator not on the list.

>>> import torch
>>> SOFTMAX = Forbidden("a library softmax", ("torch.ops.aten._softmax",
...                                            "torch.nn.functional.softmax"))
>>> _, used = SOFTMAX.run(lambda z: torch.softmax(z, -1), torch.zeros(1, 2))
>>> used
['torch.softmax (or Tensor.softmax, nn.Softmax, F.softmax, torch.special.softmax)']
>>> SOFTMAX.run(lambda z: z.exp() / z.exp().sum(), torch.zeros(2))[1]
[]
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

_ATEN_NAMES = {
    "_softmax": "torch.softmax (or Tensor.softmax, nn.Softmax, F.softmax, torch.special.softmax)",
    "_log_softmax": "torch.log_softmax (or Tensor.log_softmax, nn.LogSoftmax, F.log_softmax)",
    "nll_loss_forward": "F.nll_loss (or F.cross_entropy, nn.CrossEntropyLoss, nn.NLLLoss)",
    "nll_loss2d_forward": "F.nll_loss (or F.cross_entropy, nn.CrossEntropyLoss, nn.NLLLoss)",
}


def _short(dotted: str) -> str:
    for long, short in (("torch.nn.functional.", "F."), ("course_lib.", ""),
                        ("sklearn.metrics._classification.", "sklearn.metrics."),
                        ("torch.Tensor.", "Tensor.")):
        if dotted.startswith(long):
            return short + dotted[len(long):]
    return dotted


def resolve(dotted: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes.

    Returns ``None`` when a module is not installed or an attribute does not exist, so a
    list of targets may name optional libraries (SciPy, scikit-learn).

    >>> resolve("math.sqrt")(4.0)
    2.0
    >>> resolve("no_such_module.f") is None
    True
    """
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


def _code_of(obj: Any) -> types.CodeType | None:
    """The code object that runs when ``obj`` is called (through decorators, partials, methods)."""
    for _ in range(10):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
            obj = obj.__func__
        elif isinstance(obj, type):
            obj = getattr(obj, "forward", None) or getattr(obj, "__call__", None)
        else:
            break
    try:
        obj = inspect.unwrap(obj)
    except ValueError:
        pass
    return getattr(obj, "__code__", None)


@dataclass(frozen=True)
class Forbidden:
    """Functions an exercise's answer may not call, and the message when it does.

    ``what`` names them for the learner ("a library softmax"); ``targets`` are dotted paths to
    (or the objects themselves) Python functions, methods or classes (their code objects),
    ATen operators (``"torch.ops.aten._softmax"``) or other C built-ins. Dotted paths that do
    not resolve (an optional library is missing) are skipped.
    """

    what: str
    targets: tuple[Any, ...]
    hint: str = ""
    _resolved: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.targets, str) or not isinstance(self.targets, tuple):
            raise TypeError(f"Forbidden({self.what!r}): targets must be a tuple, got "
                            f"{self.targets!r} (a one-element tuple needs a trailing comma).")

    def _lookup(self) -> tuple[dict, dict, dict]:
        if not self._resolved:
            codes, ops, builtins = {}, {}, {}
            for target in self.targets:
                if isinstance(target, str):
                    dotted, obj = target, resolve(target)
                else:
                    dotted = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', target)}"
                    dotted, obj = dotted.replace("<locals>.", ""), target
                if obj is None:
                    continue
                if dotted.startswith("torch.ops."):
                    ops[obj] = _ATEN_NAMES.get(dotted.rsplit(".", 1)[1], dotted)
                elif (code := _code_of(obj)) is not None:
                    codes[code] = _short(dotted)
                else:
                    builtins[id(obj)] = _short(dotted)
            self._resolved.update(codes=codes, ops=ops, builtins=builtins)
        r = self._resolved
        return r["codes"], r["ops"], r["builtins"]

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[str]]:
        """Inside the block, every call to a target is recorded (in order, once each).

        >>> import math
        >>> with Forbidden("sqrt", ("math.sqrt",)).watch() as used:
        ...     _ = math.sqrt(2.0)
        >>> used
        ['math.sqrt']
        """
        codes, ops, builtins = self._lookup()
        used: list[str] = []

        def note(name: str) -> None:
            if name not in used:
                used.append(name)

        previous = sys.getprofile()

        def profile(frame, event, arg):
            if event == "call" and frame.f_code in codes:
                note(codes[frame.f_code])
            elif event == "c_call" and id(arg) in builtins:
                note(builtins[id(arg)])
            if previous is not None:
                previous(frame, event, arg)

        with contextlib.ExitStack() as stack:
            if ops:
                stack.enter_context(_op_watch(ops, note))
            sys.setprofile(profile)
            stack.callback(sys.setprofile, previous)
            yield used

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
        """Call ``fn(*args, **kwargs)`` under :meth:`watch`; return its result and what it used.

        Exceptions propagate (use :meth:`call` for learner code).
        """
        with self.watch() as used:
            result = fn(*args, **kwargs)
        return result, used

    def call(self, fn: Callable[..., Any], *args: Any, none_ok: bool = False,
             **kwargs: Any):
        """:func:`call_learner_code` under :meth:`watch`: ``(result, feedback or None)``.

        The feedback is the refusal when a target ran (whether or not the code then crashed),
        else whatever :func:`call_learner_code` reported.
        """
        from . import call_learner_code

        with self.watch() as used:
            result, problem = call_learner_code(fn, *args, none_ok=none_ok, **kwargs)
        if used:
            return None, self.refusal(used)
        return result, problem

    def refusal(self, used: list[str]):
        """The feedback for an answer that called ``used[0]``."""
        from . import Feedback

        return Feedback.incorrect(
            f"Your function calls {used[0]}, {self.what} that does this exercise for you, so the "
            "check cannot tell whether your own version works.",
            *((self.hint,) if self.hint else ()))


@contextlib.contextmanager
def _op_watch(ops: dict, note: Callable[[str], None]) -> Iterator[None]:
    """Record the ATen operators in ``ops`` (packet -> name) that run inside the block."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Watch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = ops.get(getattr(func, "overloadpacket", None))
            if name is not None:
                note(name)
            return func(*args, **(kwargs or {}))

    with _Watch():
        yield

"""Errors with messages that say what is wrong and how to fix it.

Every course error subclasses :class:`CourseError` and a built-in exception (``ValueError``
mostly), so ``except ValueError`` still catches it.

>>> issubclass(HeadNotFoundError, ValueError) and issubclass(HeadNotFoundError, CourseError)
True
"""
from __future__ import annotations


class CourseError(Exception):
    """Base class for the course's own, learner-facing errors."""


class DatasetLayoutError(CourseError, ValueError):
    """An image folder is not laid out as ``root/<class name>/<image files>``."""


class BadImageError(CourseError, ValueError):
    """An image file cannot be read or decoded."""


class ClassCountMismatchError(CourseError, ValueError):
    """A model's number of outputs does not match the number of classes in the data."""


class UnknownBackboneError(CourseError, KeyError):
    """A backbone name the course does not know."""

    def __str__(self) -> str:  # KeyError would otherwise print the message with quotes
        return str(self.args[0]) if self.args else ""


class WeightsNotAvailableError(CourseError, RuntimeError):
    """Pretrained weights are not on this machine and cannot be downloaded now."""


class UnsafeCheckpointError(CourseError, ValueError):
    """A checkpoint file holds more than plain tensors and is refused."""


class LayerNotFoundError(CourseError, ValueError):
    """A layer (sub-module) named in a call is not in the model."""


class HeadNotFoundError(LayerNotFoundError):
    """The model's classification head is not where the course looks for it."""


class NothingToTrainError(CourseError, ValueError):
    """A training call would change nothing: every parameter is frozen, or no epoch is asked for."""


class EmptyDataError(CourseError, ValueError):
    """A loader or dataset holds no examples."""


class UnequalBudgetError(CourseError, ValueError):
    """Two arms of a comparison did not get (or did not keep to) the same budget."""


class DeviceNotAvailableError(CourseError, RuntimeError):
    """A device (``cuda``, ``mps``) was asked for that this machine does not have."""


class ModelFolderError(CourseError, ValueError):
    """A model folder is missing, incomplete, damaged or not one this course wrote."""


def check_option(name: str, value, allowed) -> None:
    """Raise ``ValueError`` naming the option, the value and what is allowed, unless ``value`` is allowed.

    The course's one check of a keyword option (``on_bad=``, ``scale=``, ``optimizer=`` …).

    >>> check_option("on_bad", "skip", ("error", "skip"))
    >>> check_option("on_bad", "ignore", ("error", "skip"))
    Traceback (most recent call last):
    ...
    ValueError: on_bad must be 'error' or 'skip', got 'ignore'.
    """
    allowed = tuple(allowed)
    if value in allowed:
        return
    names = [repr(a) for a in allowed]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    raise ValueError(f"{name} must be {listed}, got {value!r}.")

"""Every course function that evaluates a model runs it in eval mode without gradients, and gives
it back with every sub-module in the mode it found it (``course_lib.evaluation.evaluating``).

The list of such functions is derived, not kept by hand: every public function of the package
whose code switches modes or gradients (``evaluating(``, ``torch.no_grad(``, ``.eval()``,
``inference_mode(``) is either run below by a spy model, or exempt with the reason it may leave
a mode changed on purpose. A new function of that kind fails the test until it is one or the other.
"""
import importlib
import inspect
import pkgutil
import re

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import course_lib
from course_lib import data, evaluation, inspect_model, text, train, training, transferability
from course_lib.evaluation import evaluating
from course_lib.pretrain import SmallCNN


class Spy(SmallCNN):
    """A SmallCNN that records the mode and gradient setting of every forward call."""

    def __init__(self):
        super().__init__(num_classes=2)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return super().forward(x)

    def embed(self, input_ids, attention_mask, token_type_ids=None):   # what embed_texts calls
        return self.forward(torch.rand(len(input_ids), 1, 8, 8))


def _tokenizer(texts, **kwargs):
    return {"input_ids": torch.ones(len(texts), 3, dtype=torch.long),
            "attention_mask": torch.ones(len(texts), 3, dtype=torch.long)}


IMAGES = TensorDataset(torch.rand(6, 1, 8, 8), torch.tensor([0, 1] * 3))
X = torch.rand(2, 1, 8, 8)
Y = torch.tensor([0, 1])
EVALUATIONS = {
    "evaluation.batched_forward": lambda m: evaluation.batched_forward(m, X, batch_size=1),
    "evaluation.accuracy_of": lambda m: evaluation.accuracy_of(m, X, Y),
    "train.evaluate_head": lambda m: (setattr(m, "out_features", 2), train.evaluate_head(m, X, Y)),
    "training.evaluate": lambda m: training.evaluate(m, data.make_loader(IMAGES, 4)),
    "training.predict": lambda m: training.predict(m, data.make_loader(IMAGES, 4)),
    "training.extract_features": lambda m: training.extract_features(m, IMAGES),
    "inspect_model.feature_maps": lambda m: inspect_model.feature_maps(m, X, ["conv1"]),
    "inspect_model.forward_flops": lambda m: inspect_model.forward_flops(m, X),
    "inspect_model.seconds_per_image": lambda m: inspect_model.seconds_per_image(m, X, repeats=1),
    "transferability.module_inputs": lambda m: transferability.module_inputs(m, IMAGES, ["conv2"]),
    "text.embed_texts": lambda m: text.embed_texts(m, _tokenizer, ["a", "b", "c"]),
}


@pytest.mark.parametrize("mode", ["train", "eval", "mixed"])
@pytest.mark.parametrize("name", sorted(EVALUATIONS))
def test_evaluation_runs_in_eval_mode_and_restores_every_mode(name, mode):
    model = Spy().train(mode != "eval")
    if mode == "mixed":
        model.conv2.eval()                     # e.g. a frozen block inside a model being trained
    before = {n: m.training for n, m in model.named_modules()}
    EVALUATIONS[name](model)
    assert model.calls and set(model.calls) == {(False, False)}      # eval mode, no gradients
    assert {n: m.training for n, m in model.named_modules()} == before


def test_evaluating_restores_the_modes_even_after_an_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train()
    model[1].eval()
    with pytest.raises(ZeroDivisionError), evaluating(model):
        1 / 0
    assert model.training and model[0].training and not model[1].training


EXEMPT = {
    "evaluation.evaluating": "the context manager itself (tested below)",
    "evaluation.eval_frozen_modules": "puts frozen parts in eval mode during training, on purpose",
    "evaluation.set_batchnorm_eval": "puts BatchNorm in eval mode during training, on purpose",
    "export.load_classifier": "returns a model for prediction, left in eval mode",
    "export.PhotoClassifier.classify_files": "runs inside evaluating, over photo files with a "
                                             "3-channel network: test_export_predict checks the modes",
    "finetune.article_loop": "trains, and leaves train mode as the article's loop does",
    "finetune.accuracy_as_left": "measures a model in train mode on purpose (the article's omission)",
    "finetune.reestimated_batchnorm": "returns a copy with re-estimated statistics, in eval mode",
    "finetune.linear_probe_head": "builds a head's weights under no_grad; evaluates nothing",
    "loop.train": "trains; its validation passes are checked in test_loop",
    "pretrain.load_or_pretrain_digits_cnn": "returns a network for use, in eval mode",
    "segmentation.head_from_convex": "copies a fitted regression into a head under no_grad",
    "training.fit": "trains; its validation passes run through evaluating",
    "transferability.calibrate_batchnorm": "a train-mode pass without gradients, on purpose",
    "text.linear_head": "copies a fitted regression into a layer under no_grad; evaluates nothing",
    "text.cache_states": "runs MiniLM's encoder inside evaluating (needs the real encoder, not a spy)",
}
SWITCHES = re.compile(r"\bevaluating\(|torch\.no_grad\(|inference_mode\(|\.eval\(\)")


def _functions_that_switch_modes() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        if ".exercises" in info.name:        # the exercises' model solutions are checked per notebook
            continue
        module = importlib.import_module(info.name)
        short = info.name.removeprefix("course_lib.")
        for name, obj in vars(module).items():
            if name.startswith("_"):
                continue
            members = [(name, obj)]
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                members = [(f"{name}.{m}", f) for m, f in vars(obj).items() if not m.startswith("_")]
            for qualname, f in members:
                if (inspect.isfunction(f) and f.__module__ == module.__name__
                        and SWITCHES.search(inspect.getsource(f))):
                    found.add(f"{short}.{qualname}")
    return found


def test_every_function_that_switches_modes_is_run_by_the_spy_or_exempt_with_a_reason():
    found = _functions_that_switch_modes()
    listed = set(EVALUATIONS) | set(EXEMPT)
    assert not set(EVALUATIONS) & set(EXEMPT)
    assert found - listed == set(), "add these to EVALUATIONS (a call on the spy) or to EXEMPT (why)"
    assert set(EXEMPT) - found == set(), "exempt, but they no longer switch modes (or exist): remove them"
    # EVALUATIONS may also hold functions that evaluate through one of the above (kept: they are
    # what a notebook calls); each must still exist
    for name in EVALUATIONS:
        module, function = name.split(".")
        assert hasattr(importlib.import_module(f"course_lib.{module}"), function), name

"""Every course function that evaluates a model runs it in eval mode without gradients, and gives
it back with every sub-module in the mode it found it (``course_lib.models.evaluating``)."""
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from course_lib import data, inspect_model, text, training, transferability
from course_lib.models import evaluating
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
EVALUATIONS = {
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

"""The retrain benchmark: trains a tiny CNN from scratch on a constructed, separable problem."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import plugins.retrain as retrain_plugin
from harness import BenchmarkContext, DatasetInfo, DivergedError, ImageSet, SearchData, SearchSpace, UserError, network_accuracy
from harness.plugin.manager import load_plugins
from plugins.retrain.evaluator import RetrainEvaluator

INFO = DatasetInfo("bright", num_classes=2, channels=1, image_size=8, mean=(0.5,), std=(0.25,))
FAST = {"epochs": 4, "batch_size": 16}


class TinyCNNSpace(SearchSpace):
    """One edge choosing a 3x3 or a 1x1 convolution in front of a pooled linear classifier."""

    name = "tiny-cnn"
    op_names = ("conv_3x3", "conv_1x1")
    edge_names = ("1<-0",)

    def __init__(self) -> None:
        self.built_with: list[dict] = []

    def build_supernet(self, dataset, options):
        raise AssertionError("retrain never builds a supernet")

    def build_network(self, arch, dataset, options):
        self.built_with.append(dict(options))
        width, kernel = options.get("C", 4), (3, 1)[arch[0]]
        return nn.Sequential(nn.Conv2d(dataset.channels, width, kernel, padding=kernel // 2), nn.BatchNorm2d(width),
                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, dataset.num_classes))

    def parse(self, text):
        return (self.op_names.index(text),)

    def format(self, arch):
        return self.op_names[arch[0]]


def brightness_set(labels: torch.Tensor, seed: int, spread: int = 40) -> ImageSet:
    """Class 0 is dark (mean 85), class 1 bright (mean 170), plus uniform pixel noise of ±spread."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randint(-spread, spread + 1, (len(labels), 1, 8, 8), generator=generator)
    images = (85 + 85 * labels.view(-1, 1, 1, 1) + noise).clamp(0, 255).to(torch.uint8)
    return ImageSet(images, labels)


def search_data(train_labels: torch.Tensor, valid_labels: torch.Tensor, spread: int = 40,
                info: DatasetInfo = INFO) -> SearchData:
    test_labels = torch.arange(128) % 2
    return SearchData(info, brightness_set(train_labels, 1, spread), brightness_set(valid_labels, 2, spread),
                      brightness_set(test_labels, 3, spread))


def evaluator(data: SearchData, seed: int = 0, space: SearchSpace | None = None, space_options: dict | None = None,
              **options) -> RetrainEvaluator:
    context = BenchmarkContext(space or TinyCNNSpace(), dataset=data.info, data=data, device=torch.device("cpu"),
                               seed=seed, space_options=space_options or {})
    return RetrainEvaluator({**FAST, **options}, context)


def alternating(n: int) -> torch.Tensor:
    return torch.arange(n) % 2


def test_learns_the_separable_problem_and_reports_test_and_train_accuracy():
    space = TinyCNNSpace()
    metrics = evaluator(search_data(alternating(64), alternating(64))).query(space, (0,))
    assert set(metrics) == {"bright/test_acc", "bright/train_acc"}
    assert metrics["bright/test_acc"] > 90.0 and metrics["bright/train_acc"] > 90.0


def test_trains_on_both_search_halves():
    # The train half holds only dark images and the valid half only bright ones: a network
    # trained on one half alone would call every test image by one class (50 %).
    data = search_data(torch.zeros(64, dtype=torch.long), torch.ones(64, dtype=torch.long))
    assert evaluator(data).query(TinyCNNSpace(), (0,))["bright/test_acc"] > 90.0


def test_test_accuracy_is_measured_on_the_test_set_alone():
    # The test set's labels are the opposite of the search data's rule (bright = 0): a network
    # that learned the search data scores ~0 % there, and ~100 % on either search half.
    data = search_data(alternating(64), alternating(64))
    flipped = ImageSet(data.test.images, 1 - data.test.labels)
    metrics = evaluator(SearchData(INFO, data.train, data.valid, flipped)).query(TinyCNNSpace(), (0,))
    assert metrics["bright/train_acc"] > 90.0
    assert metrics["bright/test_acc"] < 10.0


def test_evaluation_uses_the_running_batchnorm_statistics():
    # BN with running mean 0.3 and variance 4 (fixed), then "class 1 iff the feature > 0": in
    # eval mode a constant image of value v is class 1 iff v > 0.3, which is how it is
    # labelled (100 %). In train mode the batch mean (0.5) would take the running mean's
    # place, and v = 0.4 and 0.45 would become class 0 (75 %).
    bn = nn.BatchNorm2d(1, affine=False)
    bn.running_mean.fill_(0.3)
    bn.running_var.fill_(4.0 - bn.eps)
    head = nn.Linear(1, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        head.bias.zero_()
    network = nn.Sequential(bn, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head).train()
    info = DatasetInfo("plain", num_classes=2, channels=1, image_size=2, mean=(0.0,), std=(1.0,))
    values = torch.tensor([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.45, 0.55])
    images = values.view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    labels = (values > 0.3).long()
    assert network_accuracy(network, ImageSet(images, labels), info) == 100.0
    assert not network.training


def test_same_seed_same_result_with_augmentation():
    augmented = DatasetInfo("bright", 2, 1, 8, (0.5,), (0.25,), augment=True)
    # Heavy noise and one epoch keep the accuracies away from 100 %, so equality is not trivial.
    data = search_data(alternating(64), alternating(64), spread=120, info=augmented)
    runs = [evaluator(data, seed=seed, epochs=1).query(TinyCNNSpace(), (1,)) for seed in (0, 0, 1, 2, 3)]
    assert runs[0] == runs[1]
    assert len({tuple(run.values()) for run in runs[1:]}) > 1


def test_leaves_the_callers_random_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    evaluator(search_data(alternating(32), alternating(32)), epochs=1).query(TinyCNNSpace(), (0,))
    assert torch.equal(torch.rand(3), expected)


def test_network_options_default_to_the_space_options_and_can_be_overridden():
    space = TinyCNNSpace()
    data = search_data(alternating(32), alternating(32))
    evaluator(data, space=space, epochs=1, space_options={"C": 3, "N": 2}).query(space, (0,))
    evaluator(data, space=space, epochs=1, space_options={"C": 3, "N": 2}, C=6).query(space, (0,))
    assert space.built_with == [{"C": 3, "N": 2}, {"C": 6, "N": 2}]


def test_results_are_cached_per_architecture():
    space = TinyCNNSpace()
    bench = evaluator(search_data(alternating(32), alternating(32)), space=space, epochs=1)
    first = bench.query(space, (0,))
    assert bench.query(space, (0,)) == first and len(space.built_with) == 1
    bench.query(space, (1,))
    assert len(space.built_with) == 2


def test_needs_a_run():
    with pytest.raises(UserError, match=r"retrain needs a dataset: use it inside `nasbench run`"):
        RetrainEvaluator({}, None).query(TinyCNNSpace(), (0,))
    with pytest.raises(UserError, match="retrain needs a dataset"):
        RetrainEvaluator({}, BenchmarkContext(TinyCNNSpace())).query(TinyCNNSpace(), (0,))


@pytest.mark.parametrize("options", [{"epochs": 0}, {"epochs": 2.5}, {"lr": -1}, {"batch_size": "many"}])
def test_bad_options_are_user_errors(options):
    with pytest.raises(UserError, match=f"benchmark retrain: option '{next(iter(options))}' = "):
        RetrainEvaluator(options, None)


def test_divergence_is_reported():
    bench = evaluator(search_data(alternating(32), alternating(32)), lr=1e30, epochs=2)
    with pytest.raises(DivergedError, match="diverged"):
        bench.query(TinyCNNSpace(), (0,))


def test_registered_as_an_expensive_benchmark_for_any_space():
    bench = load_plugins(extra=[retrain_plugin])["benchmark"].create(
        "retrain", {}, BenchmarkContext(TinyCNNSpace(), dataset=INFO))
    assert not bench.cheap and bench.supports(TinyCNNSpace())
    assert bench.headline_metrics() == ["bright/test_acc"]
    assert RetrainEvaluator({}, None).headline_metrics() == []


def test_nb101_cells_train_with_the_nb101_protocol_by_default():
    from plugins.nb101.space import NB101Space
    from plugins.retrain.evaluator import PROTOCOLS, protocol_for

    space = NB101Space()
    protocol = protocol_for("auto", space)
    assert protocol == PROTOCOLS["nb101"] and protocol_for("auto", TinyCNNSpace()) == PROTOCOLS["nb201"]
    optimizer = protocol.build([nn.Parameter(torch.zeros(1))], protocol.lr)
    assert isinstance(optimizer, torch.optim.RMSprop)
    settings = optimizer.defaults
    assert (settings["lr"], settings["alpha"], settings["eps"], settings["momentum"], settings["weight_decay"]) == \
        (0.2, 0.9, 1.0, 0.9, 1e-4)
    assert (protocol.epochs, protocol.batch_size) == (108, 256)
    arch = space.parse("0110,0001,0001,0000|conv3x3,conv1x1")
    small = {"stem_channels": 8, "stacks": 2, "cells_per_stack": 1}
    bench = evaluator(search_data(alternating(64), alternating(64)), space=space, space_options=small, epochs=3, lr=0.05)
    assert bench.query(space, arch)["bright/test_acc"] > 90.0

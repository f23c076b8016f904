"""The retrain benchmark: trains a tiny CNN from scratch on a constructed, separable problem."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import plugins.retrain as retrain_plugin
import plugins.retrain.evaluator as retrain_module
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
              work_dir: Path | None = None, **options) -> RetrainEvaluator:
    context = BenchmarkContext(space or TinyCNNSpace(), dataset=data.info, data=data, device=torch.device("cpu"),
                               seed=seed, space_options=space_options or {}, work_dir=work_dir)
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
    with pytest.raises(UserError, match=r"^retrain needs a dataset: use it inside `nasbench run`$"):
        RetrainEvaluator({}, None).query(TinyCNNSpace(), (0,))
    with pytest.raises(UserError, match="retrain needs a dataset"):  # a dataset's description, but no images
        RetrainEvaluator({}, BenchmarkContext(TinyCNNSpace(), dataset=INFO)).query(TinyCNNSpace(), (0,))
    with pytest.raises(UserError, match="retrain needs a dataset"):
        RetrainEvaluator({}, BenchmarkContext(TinyCNNSpace())).query(TinyCNNSpace(), (0,))


@pytest.mark.parametrize("options", [{"epochs": 0}, {"epochs": 2.5}, {"lr": -1}, {"batch_size": "many"}])
def test_bad_options_are_user_errors(options):
    with pytest.raises(UserError, match=f"benchmark retrain: option '{next(iter(options))}' = "):
        RetrainEvaluator(options, None)


def test_divergence_is_reported():
    bench = evaluator(search_data(alternating(32), alternating(32)), lr=1e30, epochs=2)
    with pytest.raises(DivergedError, match=r"^retraining conv_3x3 diverged \(loss nan\) in epoch 1$"):
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


class RecordingSpace(TinyCNNSpace):
    """Keeps the inputs of the training-mode forward passes of the networks it builds."""

    def __init__(self) -> None:
        super().__init__()
        self.training_inputs: list[torch.Tensor] = []

    def build_network(self, arch, dataset, options):
        network = super().build_network(arch, dataset, options)

        def record(module, inputs):
            if module.training:
                self.training_inputs.append(inputs[0].detach().clone())

        network.register_forward_pre_hook(record)
        return network


class NB101CellSpace(RecordingSpace):
    """A space of NB101 cells as far as ``protocol: auto`` can tell."""

    def nb101_spec(self, arch):
        return arch


class Killed(Exception):
    pass


def test_a_killed_retraining_resumes_after_its_last_epoch_with_the_same_numbers(tmp_path, monkeypatch, capsys):
    augmented = DatasetInfo("bright", 2, 1, 8, (0.5,), (0.25,), augment=True)
    data = search_data(alternating(64), alternating(64), spread=120, info=augmented)  # 128 images: 8 batches of 16
    whole = evaluator(data, work_dir=tmp_path / "whole", epochs=2).query(TinyCNNSpace(), (1,))
    save = retrain_module.save_checkpoint

    def save_then_die_after_epoch_1(path, state):
        save(path, state)
        if state["epoch"] == 1:
            raise Killed

    monkeypatch.setattr(retrain_module, "save_checkpoint", save_then_die_after_epoch_1)
    with pytest.raises(Killed):
        evaluator(data, work_dir=tmp_path / "killed", epochs=2).query(TinyCNNSpace(), (1,))
    monkeypatch.undo()
    space = RecordingSpace()
    resumed = evaluator(data, space=space, work_dir=tmp_path / "killed", epochs=2).query(space, (1,))
    assert resumed == whole
    assert len(space.training_inputs) == 8  # one epoch left to train
    assert "retrain conv_1x1: resuming after epoch 1" in capsys.readouterr().err


def test_each_architecture_checkpoints_to_its_own_file(tmp_path):
    bench = evaluator(search_data(alternating(32), alternating(32)), work_dir=tmp_path, epochs=1)
    bench.query(TinyCNNSpace(), (0,))
    bench.query(TinyCNNSpace(), (1,))
    names = sorted(path.name for path in tmp_path.glob("retrain-*.pt"))
    assert len(names) == 2 and all(len(name) == len("retrain-") + 16 + len(".pt") for name in names)


def test_nb201_protocol_is_nesterov_sgd_with_nb201s_settings():
    from plugins.retrain.evaluator import PROTOCOLS

    protocol = PROTOCOLS["nb201"]
    settings = protocol.build([nn.Parameter(torch.zeros(1))], protocol.lr).defaults
    assert (settings["lr"], settings["momentum"], settings["nesterov"], settings["weight_decay"]) == \
        (0.1, 0.9, True, 5e-4)
    assert (protocol.epochs, protocol.batch_size) == (30, 128)


@pytest.mark.parametrize("augment", [False, True])
def test_training_batches_are_augmented_exactly_when_the_dataset_augments(augment):
    info = DatasetInfo("bright", 2, 1, 8, (0.5,), (0.25,), augment=augment)
    data = search_data(alternating(32), alternating(32), info=info)
    space = RecordingSpace()
    evaluator(data, space=space, epochs=1).query(space, (0,))
    search_images = (torch.cat([data.train.images, data.valid.images]).float() / 255 - 0.5) / 0.25
    seen = torch.cat(space.training_inputs)
    assert len(seen) == 64
    unchanged = [bool((search_images == image).flatten(1).all(1).any()) for image in seen]
    if augment:  # a random crop of a 4-padded image, flipped half the time: the identity is 1 in 162
        assert sum(unchanged) <= 4
    else:
        assert all(unchanged)


def test_learning_rate_anneals_by_a_cosine_to_zero_over_all_steps(tmp_path, monkeypatch):
    rates: list[float] = []
    save = retrain_module.save_checkpoint

    def record(path, state):
        rates.append(state["optimizer"]["param_groups"][0]["lr"])
        save(path, state)

    monkeypatch.setattr(retrain_module, "save_checkpoint", record)
    evaluator(search_data(alternating(64), alternating(64)), work_dir=tmp_path, epochs=4).query(TinyCNNSpace(), (0,))
    # 8 steps per epoch, T = 32 steps, lr 0.1: after epoch k, 0.05 · (1 + cos(π k / 4))
    assert rates == pytest.approx([0.0853553390593, 0.05, 0.0146446609407, 0.0], abs=1e-12)


def test_auto_protocol_retrains_nb101_cells_with_rmsprop(tmp_path):
    space = NB101CellSpace()
    evaluator(search_data(alternating(32), alternating(32)), space=space, work_dir=tmp_path, epochs=1).query(space, (0,))
    (checkpoint,) = tmp_path.glob("retrain-*.pt")
    group = torch.load(checkpoint, weights_only=True)["optimizer"]["param_groups"][0]
    assert (group["initial_lr"], group["alpha"], group["eps"], group["momentum"], group["weight_decay"]) == \
        (0.2, 0.9, 1.0, 0.9, 1e-4)


def test_a_damaged_checkpoint_is_a_user_error_that_says_what_to_do(tmp_path):
    data = search_data(alternating(32), alternating(32))
    evaluator(data, work_dir=tmp_path, epochs=1).query(TinyCNNSpace(), (0,))
    (checkpoint,) = tmp_path.glob("retrain-*.pt")
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=f"{checkpoint.name}.*; delete it to retrain from the start$"):
        evaluator(data, work_dir=tmp_path, epochs=1).query(TinyCNNSpace(), (0,))


class SaysBrightSpace(TinyCNNSpace):
    """A network that calls every image class 1, whatever it learns (its one weight is multiplied by 0)."""

    def build_network(self, arch, dataset, options):
        class SaysBright(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.unused = nn.Parameter(torch.ones(()))

            def forward(self, x):
                return torch.tensor([0.0, 1.0]).expand(len(x), 2) + 0.0 * self.unused

        return SaysBright()


def test_train_accuracy_is_the_last_epochs_share_of_correct_training_images():
    # 64 + 64 search images, half of them bright: a constant "bright" network is right on exactly half
    metrics = evaluator(search_data(alternating(64), alternating(64)), epochs=2).query(SaysBrightSpace(), (0,))
    assert metrics == {"bright/train_acc": 50.0, "bright/test_acc": 50.0}

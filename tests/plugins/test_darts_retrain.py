"""darts-retrain: trains a genotype's evaluation network with tiny settings, resumes after a kill."""
from __future__ import annotations

import pytest
import torch

from harness import BenchmarkContext, SearchData, UserError
from plugins.darts_space.network import parameter_count
from plugins.darts_space.retrain import DartsRetrain, cutout
from plugins.darts_space.space import DartsSpace
from plugins.datasets.digits import DigitsDataset

SPACE = DartsSpace()
GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
TINY = {"epochs": 3, "C": 4, "N": 0, "batch_size": 128, "auxiliary_weight": 0.0, "cutout": 2, "lr": 0.1}


class Killed(Exception):
    """Stands in for the process being killed."""


@pytest.fixture(scope="module")
def digits() -> SearchData:
    dataset = DigitsDataset()
    train, test = dataset.load(None)
    return SearchData.split(dataset.info, train, test, 0, torch.device("cpu"))


def benchmark(data: SearchData, out_dir, **options) -> DartsRetrain:
    context = BenchmarkContext(SPACE, data.info, data, torch.device("cpu"), seed=3, work_dir=out_dir)
    return DartsRetrain({**TINY, **options}, context)


def test_defaults_are_darts_evaluation_settings():
    options = DartsRetrain(None, None).options
    assert (options.epochs, options.batch_size, options.lr, options.C, options.N) == (600, 96, 0.025, 36, 6)
    assert (options.auxiliary_weight, options.drop_path_prob, options.cutout) == (0.4, 0.2, 16)
    assert (options.momentum, options.weight_decay, options.grad_clip) == (0.9, 3e-4, 5.0)


def test_tiny_retrain_learns_and_reports_error_and_parameters(digits, tmp_path, capsys):
    bench = benchmark(digits, tmp_path)
    arch = SPACE.parse(GENOTYPE)
    result = bench.query(SPACE, arch)
    assert "darts-retrain seed 3: epoch 3/3 (train acc " in capsys.readouterr().err  # no terminal: a line per epoch
    assert result["digits/test_acc"] > 30.0  # 10 classes: chance is 10%
    assert result["digits/test_error"] == pytest.approx(100.0 - result["digits/test_acc"])
    assert result["digits/params_mb"] == parameter_count(bench.build(SPACE, arch, digits.info)) / 1e6
    assert not list(tmp_path.glob("*.pt"))  # the checkpoint goes once the result is kept
    assert len(list(tmp_path.glob("darts-retrain-*.json"))) == 1


def test_a_killed_retrain_resumes_to_the_same_result(digits, tmp_path, monkeypatch):
    arch = SPACE.parse(GENOTYPE)
    straight = benchmark(digits, tmp_path / "straight").query(SPACE, arch)

    original = DartsRetrain.train_epoch

    def killed_in_epoch_two(self, network, optimizer, train_set, info, seed, epoch):
        if epoch == 1:
            raise Killed
        return original(self, network, optimizer, train_set, info, seed, epoch)

    monkeypatch.setattr(DartsRetrain, "train_epoch", killed_in_epoch_two)
    with pytest.raises(Killed):
        benchmark(digits, tmp_path / "killed").query(SPACE, arch)
    assert len(list((tmp_path / "killed").glob("*.pt"))) == 1
    epochs_run = []

    def counting(self, network, optimizer, train_set, info, seed, epoch):
        epochs_run.append(epoch)
        return original(self, network, optimizer, train_set, info, seed, epoch)

    monkeypatch.setattr(DartsRetrain, "train_epoch", counting)
    resumed = benchmark(digits, tmp_path / "killed").query(SPACE, arch)
    assert epochs_run == [1, 2]
    assert resumed == straight

    epochs_run.clear()
    assert benchmark(digits, tmp_path / "killed").query(SPACE, arch) == straight  # the kept result, no training
    assert epochs_run == []


def test_settings_change_the_checkpoint(digits, tmp_path):
    arch = SPACE.parse(GENOTYPE)
    benchmark(digits, tmp_path, epochs=1).query(SPACE, arch)
    benchmark(digits, tmp_path, epochs=1, C=6).query(SPACE, arch)
    assert len(list(tmp_path.glob("darts-retrain-*.json"))) == 2


def test_auxiliary_head_needs_cifar_sized_images(digits, tmp_path):
    with pytest.raises(UserError, match="auxiliary_weight=0"):
        benchmark(digits, tmp_path, auxiliary_weight=0.4).query(SPACE, SPACE.parse(GENOTYPE))


def test_only_darts_genotypes():
    from plugins.nb201.space import NB201Space
    assert DartsRetrain(None, None).supports(SPACE) and not DartsRetrain(None, None).supports(NB201Space())


def test_cutout_zeroes_one_clipped_square():
    generator = torch.Generator().manual_seed(0)
    out = cutout(torch.ones(64, 1, 8, 8), 4, generator)
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() >= 4  # 4×4 inside, at least 2×2 at a corner
    for image in out[:, 0]:
        rows, cols = (image == 0).any(dim=1), (image == 0).any(dim=0)
        assert (image == 0).sum() == rows.sum() * cols.sum()  # a rectangle

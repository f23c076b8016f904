"""The training-free proxies against closed forms worked out by hand on tiny networks."""
from __future__ import annotations

import copy

import click
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

import harness
import plugins.proxies
from harness import Benchmark, Dataset, DatasetInfo, SearchSpace, UserError, hookimpl
from harness.plugin.manager import load_plugins
from plugins.nb101.space import NB101Space
from plugins.nb201.space import NB201Space
from plugins.proxies import _network_options
from plugins.proxies.correlate import correlate, sample_distinct, write_scores
from plugins.proxies.grasp import Grasp
from plugins.proxies.snip import Snip
from plugins.proxies.synflow import SynFlow

# f(x) = W2 relu(W1 x): 3 inputs, 2 hidden units, 2 classes, no biases.
W1 = np.array([[1.0, -2.0, 3.0], [-1.0, 0.5, 2.0]])
W2 = np.array([[2.0, -1.0], [0.5, 1.0]])
# Hidden pre-activations (1.9, 1.35) and (−0.5, 0.75): the ReLU mask matters.
X = np.array([[0.5, 0.5, 0.8], [1.0, 1.5, 0.5]])
Y = np.array([1, 0])


def two_layer_net() -> nn.Module:
    network = nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor(W1))
        network[2].weight.copy_(torch.tensor(W2))
    return network.double()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(X), torch.tensor(Y)


def forward_and_gradient(w1, w2):
    """Hand-written backprop of mean cross-entropy; returns the pieces the closed forms reuse."""
    h = X @ w1.T
    mask = (h > 0).astype(float)
    a = h * mask
    z = a @ w2.T
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d = (p - np.eye(2)[Y]) / len(X)                  # ∂L/∂z
    e = (d @ w2) * mask                              # ∂L/∂h
    return dict(mask=mask, a=a, p=p, d=d, g1=e.T @ X, g2=d.T @ a)


def test_synflow_equals_hand_computed_value():
    # |W1| 1 = (6, 3.5); 1ᵀ|W2| = (2.5, 2); R = 2.5·6 + 2·3.5 = 22.
    # ∂R/∂|W2|_ij = (|W1|1)_j and ∂R/∂|W1|_jk = (1ᵀ|W2|)_j, so S = R + R = 44.
    hidden = np.abs(W1) @ np.ones(3)
    fan_out = np.ones(2) @ np.abs(W2)
    expected = (np.abs(W2) * hidden[None, :]).sum() + (np.abs(W1) * fan_out[:, None]).sum()
    assert expected == pytest.approx(44.0)
    inputs, targets = batch()
    assert SynFlow().score(two_layer_net(), inputs, targets, F.cross_entropy) == pytest.approx(expected, rel=1e-12)


def test_snip_equals_hand_computed_value():
    grads = forward_and_gradient(W1, W2)
    expected = np.abs(W1 * grads["g1"]).sum() + np.abs(W2 * grads["g2"]).sum()
    inputs, targets = batch()
    assert Snip().score(two_layer_net(), inputs, targets, F.cross_entropy) == pytest.approx(expected, rel=1e-10)


def test_grasp_equals_hand_computed_hessian_gradient_product():
    # Differentiate the gradient along v = g by hand (forward mode): the ReLU's second
    # derivative is zero, the softmax's Jacobian is diag(p) − p pᵀ per example.
    base = forward_and_gradient(W1, W2)
    v1, v2 = base["g1"], base["g2"]
    da = (X @ v1.T) * base["mask"]
    dz = da @ W2.T + base["a"] @ v2.T
    p = base["p"]
    dp = p * dz - p * (p * dz).sum(axis=1, keepdims=True)
    dd = dp / len(X)
    hg2 = dd.T @ base["a"] + base["d"].T @ da
    hg1 = (((dd @ W2) + base["d"] @ v2) * base["mask"]).T @ X
    expected = -(W1 * hg1).sum() - (W2 * hg2).sum()
    assert abs(expected) > 1e-3  # a real, non-degenerate check
    inputs, targets = batch()
    assert Grasp().score(two_layer_net(), inputs, targets, F.cross_entropy) == pytest.approx(expected, rel=1e-10)


def test_grasp_hessian_product_matches_finite_differences_of_the_gradient():
    # Independent of the forward-mode derivation: H g ≈ (∇L(θ + εg) − ∇L(θ − εg)) / 2ε.
    base = forward_and_gradient(W1, W2)
    eps = 1e-6
    plus = forward_and_gradient(W1 + eps * base["g1"], W2 + eps * base["g2"])
    minus = forward_and_gradient(W1 - eps * base["g1"], W2 - eps * base["g2"])
    hg1 = (plus["g1"] - minus["g1"]) / (2 * eps)
    hg2 = (plus["g2"] - minus["g2"]) / (2 * eps)
    expected = -(W1 * hg1).sum() - (W2 * hg2).sum()
    inputs, targets = batch()
    assert Grasp().score(two_layer_net(), inputs, targets, F.cross_entropy) == pytest.approx(expected, rel=1e-6)


def small_cnn(batchnorm: bool = True) -> nn.Module:
    torch.manual_seed(0)  # BatchNorm's init draws no random numbers: same convs either way
    norm = nn.BatchNorm2d if batchnorm else (lambda _: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), norm(4), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), norm(4), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
    )


def test_synflow_ignores_the_data():
    network = small_cnn()
    generator = torch.Generator().manual_seed(1)
    first = SynFlow().score(network, torch.randn(5, 3, 6, 6, generator=generator), torch.tensor([0, 1, 2, 0, 1]),
                            F.cross_entropy)
    second = SynFlow().score(network, 100 * torch.rand(2, 3, 6, 6, generator=generator), torch.tensor([2, 2]),
                             F.cross_entropy)
    assert first > 0
    assert first == second


def test_synflow_scores_the_network_with_batchnorm_removed():
    with_bn = small_cnn()
    with torch.no_grad():  # BN statistics far from identity must not change the score
        for module in with_bn.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_var.fill_(100.0)
                module.weight.fill_(-3.0)
    inputs, targets = torch.randn(2, 3, 6, 6), torch.tensor([0, 1])
    assert SynFlow().score(with_bn, inputs, targets, F.cross_entropy) == pytest.approx(
        SynFlow().score(small_cnn(batchnorm=False), inputs, targets, F.cross_entropy), rel=1e-12)


def signed_chain(depth: int) -> nn.Module:
    """``depth`` bias-free layers of width 8 with weights ±4 (signs alternate along each row)."""
    layers = [nn.Linear(8, 8, bias=False) for _ in range(depth)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.copy_(4.0 * torch.tensor([[1.0, -1.0] * 4] * 8))
    return nn.Sequential(*layers)


def test_synflow_stays_finite_where_float32_overflows():
    # |θ| = 4 everywhere: R = 8 · 32^50 = 2^253 (float32 tops out near 2^128), and each layer
    # is homogeneous of degree 1 in its weights, so S = Σ_l Σ θ ∂R/∂θ = 50 R exactly.
    network = signed_chain(50)
    linearized = copy.deepcopy(network)
    with torch.no_grad():
        for parameter in linearized.parameters():
            parameter.abs_()
        assert torch.isinf(linearized(torch.ones(1, 8)).sum())  # what float32 would give
    score = SynFlow().score(network, torch.randn(4, 8), torch.zeros(4, dtype=torch.long), F.cross_entropy)
    assert score == 50 * 2.0 ** 253


def test_synflow_beyond_float64_is_a_clear_error_not_inf():
    # 250 layers: R = 2^1253, past float64's 2^1024.
    with pytest.raises(UserError, match="float64"):
        SynFlow().score(signed_chain(250), torch.ones(1, 8), torch.zeros(1, dtype=torch.long), F.cross_entropy)


@pytest.mark.parametrize("proxy", [SynFlow(), Snip(), Grasp()], ids=lambda p: p.name)
def test_scoring_leaves_the_network_untouched_and_is_deterministic(proxy):
    network = small_cnn()
    network.eval()
    before = {name: value.clone() for name, value in network.state_dict().items()}
    inputs = torch.randn(6, 3, 6, 6, generator=torch.Generator().manual_seed(2))
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    first = proxy.score(network, inputs, targets, F.cross_entropy)
    second = proxy.score(network, inputs, targets, F.cross_entropy)
    assert np.isfinite(first) and first == second
    after = network.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(p.dtype == torch.float32 and p.grad is None for p in network.parameters())
    assert not network.training


def test_a_network_without_weights_to_score_is_a_user_error():
    with pytest.raises(UserError, match="no convolution or linear layer"):
        Snip().score(nn.ReLU(), torch.ones(2, 3), torch.zeros(2, dtype=torch.long), F.cross_entropy)


def test_plugin_registers_the_three_proxies():
    registry = load_plugins(extra=[plugins.proxies])["proxy"]
    assert {"synflow", "snip", "grasp"} <= set(registry.names())
    assert isinstance(registry.create("synflow"), SynFlow)
    assert not registry.create("synflow").needs_labels and registry.create("grasp").needs_labels


# --- the correlation experiment on a toy space whose answer is known --------------------

class ChainSpace(SearchSpace):
    """Bias-free linear chains: each of 3 edges adds 0, 1 or 2 layers of width 4, weights 1.

    With L = sum(arch), the network has L + 2 layers of gain 4 on an input of 4 ones, so
    R = classes · 4^(L+2) and SynFlow (L+2)·R, strictly increasing in L.
    """

    name = "chain"
    op_names = ("zero", "one", "two")
    edge_names = ("a", "b", "c")

    def build_supernet(self, dataset, options):
        raise NotImplementedError

    def build_network(self, arch, dataset, options):
        self.options(options)  # as real spaces do: an option the space does not declare is an error
        depth = sum(arch)
        layers = [nn.Flatten(), nn.Linear(dataset.channels * dataset.image_size ** 2, 4, bias=False)]
        layers += [nn.Linear(4, 4, bias=False) for _ in range(depth)]
        layers.append(nn.Linear(4, dataset.num_classes, bias=False))
        network = nn.Sequential(*layers)
        with torch.no_grad():
            for layer in layers[1:]:
                layer.weight.fill_(1.0)
        return network

    def parse(self, text):
        return tuple(int(c) for c in text)

    def format(self, arch):
        return "".join(str(i) for i in arch)


class DepthBenchmark(Benchmark):
    """'Accuracy' = total depth, a known monotone function of SynFlow."""

    name = "depth"

    def supports(self, space):
        return isinstance(space, ChainSpace)

    def query(self, space, arch):
        return {"toy/test_acc": float(sum(arch))}


TOY = DatasetInfo("toy", num_classes=3, channels=1, image_size=2, mean=(0.0,), std=(1.0,))


def test_sampling_gives_distinct_architectures_and_checks_the_count():
    space = ChainSpace()
    archs = sample_distinct(space, 27, np.random.default_rng(0))
    assert len(set(archs)) == 27
    with pytest.raises(UserError, match="only 27"):
        sample_distinct(space, 28, np.random.default_rng(0))


def test_correlate_recovers_a_perfect_ranking_and_writes_the_scores(tmp_path):
    space = ChainSpace()
    result = correlate(space, DepthBenchmark({}, None), {"synflow": SynFlow()}, "toy/test_acc", TOY, None,
                       samples=20, seed=3, network_options={}, device=torch.device("cpu"), progress=False)
    assert result.spearman == {"synflow": pytest.approx(1.0)}
    row = result.scores.iloc[0]
    depth = sum(space.parse(row["arch"]))
    assert row["synflow"] == (depth + 2) * 3 * 4.0 ** (depth + 2)
    write_scores(result, tmp_path / "out" / "scores.csv")
    table = pd.read_csv(tmp_path / "out" / "scores.csv", dtype={"arch": str})
    assert list(table.columns) == ["arch", "index", "toy/test_acc", "synflow"] and len(table) == 20


def test_correlate_needs_data_for_label_based_proxies():
    with pytest.raises(UserError, match="--data-dir"):
        correlate(ChainSpace(), DepthBenchmark({}, None), {"snip": Snip()}, "toy/test_acc", TOY, None,
                  samples=5, seed=0, network_options={}, device=torch.device("cpu"), progress=False)


def test_correlate_names_the_known_metrics_when_one_is_missing():
    with pytest.raises(UserError, match="toy/test_acc"):
        correlate(ChainSpace(), DepthBenchmark({}, None), {"synflow": SynFlow()}, "toy/valid_acc", TOY, None,
                  samples=5, seed=0, network_options={}, device=torch.device("cpu"), progress=False)


class ToyDataset(Dataset):
    info = TOY

    def load(self, data_dir):
        raise AssertionError("a data-free proxy must not load the dataset")


class ToyComponents:
    """A plugin object registering the toy space, benchmark and dataset."""

    @hookimpl
    def nasbench_register_search_spaces(self, register):
        register("chain", ChainSpace)

    @hookimpl
    def nasbench_register_benchmarks(self, register):
        register("depth", DepthBenchmark)

    @hookimpl
    def nasbench_register_datasets(self, register):
        register("toy", ToyDataset)


@pytest.fixture
def cli(monkeypatch):
    """A ``nasbench``-like group with the proxies commands, over in-process registries."""
    loaded = load_plugins(extra=[plugins.proxies, ToyComponents()])
    monkeypatch.setattr(harness, "get_plugins", lambda: loaded, raising=False)

    @click.group()
    def group():
        pass

    loaded.hook.nasbench_register_commands(cli=group)
    return group


def test_proxies_list_command_shows_the_registered_proxies(cli):
    result = CliRunner().invoke(cli, ["proxies", "list"])
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()] == ["grasp", "snip", "synflow"]


def test_proxies_correlate_command_end_to_end(cli, tmp_path, monkeypatch):
    asked = []
    resolve = harness.resolve_device
    monkeypatch.setattr(harness, "resolve_device", lambda name: asked.append(name) or resolve("cpu"))
    output = tmp_path / "scores.csv"
    result = CliRunner().invoke(cli, ["proxies", "correlate", "--space", "chain", "--benchmark", "depth",
                                      "--dataset", "toy", "--metric", "toy/test_acc", "--proxy", "synflow",
                                      "--samples", "12", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "12 architectures of chain" in result.output
    assert "synflow    Spearman rho vs toy/test_acc = +1.0000" in result.output
    assert len(pd.read_csv(output)) == 12
    assert asked == ["auto"]  # the GPU when there is one, as every other command


def test_proxies_correlate_rejects_an_unknown_proxy(cli):
    result = CliRunner().invoke(cli, ["proxies", "correlate", "--space", "chain", "--benchmark", "depth",
                                      "--dataset", "toy", "--metric", "toy/test_acc", "--proxy", "synflow,jacob"])
    assert result.exit_code == 2
    assert "unknown proxy 'jacob'" in result.output


def test_proxies_correlate_refuses_channels_for_a_space_without_them(cli):
    result = CliRunner().invoke(cli, ["proxies", "correlate", "--space", "chain", "--benchmark", "depth",
                                      "--dataset", "toy", "--metric", "toy/test_acc", "--proxy", "synflow",
                                      "--channels", "8"])
    assert result.exit_code == 2
    assert "--channels 8: the chain space has no option C; leave --channels out" in result.output


def test_network_options_are_the_spaces_own_with_channels_and_cells_where_given():
    assert _network_options(NB101Space(), None, None) == {"stem_channels": 128, "stacks": 3, "cells_per_stack": 3}
    options = _network_options(NB201Space(), 8, None)
    assert (options["C"], options["N"]) == (8, 5)
    with pytest.raises(UserError, match="search space nb201: option 'N' = 0: .* \\(set with --channels/--cells\\)"):
        _network_options(NB201Space(), None, 0)
    with pytest.raises(UserError, match="--cells 2: the nb101 space has no option N"):
        _network_options(NB101Space(), None, 2)


def test_proxies_correlate_checks_output_before_scoring(cli, tmp_path):
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(cli, ["proxies", "correlate", "--space", "chain", "--benchmark", "depth",
                                      "--dataset", "toy", "--metric", "toy/test_acc", "--proxy", "synflow",
                                      "--output", str(tmp_path / "afile" / "x" / "scores.csv")])
    assert result.exit_code == 2 and "architectures of chain" not in result.output  # refused before any scoring
    assert f"a file stands where a folder should be ({tmp_path / 'afile'}); pass another --output" in result.output

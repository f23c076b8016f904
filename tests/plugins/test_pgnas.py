"""PGNAS: the KL of Eq. 15 against its analytic gradients, the gates of Eq. 16, known-answer
searches (a pure-noise op gets dropped; on the signal space p moves apart), posterior sampling
(independent Bernoulli keeps, the cell rule), and the multi-branch ResNet space."""
from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from signal_space import NOISE, SIGNAL, ZERO, selection_context, signal_run
from torch import nn

from harness import (
    DatasetInfo,
    ImageSet,
    RunContext,
    SearchData,
    SearchSpace,
    SelectionContext,
    Supernet,
    Trainer,
    UserError,
)
from harness.experiment.config import DEFAULTS, merge
from plugins.nb201.space import NB201Space
from plugins.pgnas.concrete import GateGroup, GateLayout, kl_regularizer, relaxed_keep_mask
from plugins.pgnas.methods import METHODS
from plugins.pgnas.optimizer import PgnasOptimizer, find_gated_kernels, gate_layout
from plugins.pgnas.posterior import PosteriorSelector, cell_scores, curve_points, sample_blocks, sample_keeps
from plugins.pgnas.resnet_space import MultiBranchResNetSpace

TOY = DatasetInfo("toy", num_classes=2, channels=1, image_size=2, mean=(0.0,), std=(1.0,))


def test_kl_value_and_gradients_match_eq15_by_hand():
    generator = torch.Generator().manual_seed(0)
    kernel = torch.randn(3, 2, 3, 3, generator=generator, dtype=torch.float64).requires_grad_(True)
    theta = torch.tensor([-1.2], dtype=torch.float64, requires_grad=True)
    l2, n, k = 7.0, 50, 2
    value = kl_regularizer(torch.sigmoid(theta), [[kernel]], [k], l2, n)
    value.backward()

    p = 1 / (1 + math.exp(1.2))
    squares = float((kernel.detach() ** 2).sum())
    entropy = -p * math.log(p) - (1 - p) * math.log(1 - p)
    assert value.item() == pytest.approx(l2 * (1 - p) * squares / (2 * n) - k * entropy / n, rel=1e-12)
    torch.testing.assert_close(kernel.grad, l2 * (1 - p) / n * kernel.detach())
    d_value_dp = -l2 * squares / (2 * n) + k / n * math.log(p / (1 - p))
    assert theta.grad.item() == pytest.approx(d_value_dp * p * (1 - p), rel=1e-10)


def test_a_group_without_kernels_only_pays_the_entropy_term():
    drop = torch.tensor([0.5, 0.2])
    value = kl_regularizer(drop, [[], []], [1, 3], 1.0, 10)
    entropy = lambda p: -p * math.log(p) - (1 - p) * math.log(1 - p)
    assert value.item() == pytest.approx(-(entropy(0.5) + 3 * entropy(0.2)) / 10, rel=1e-6)


def test_relaxed_keep_masks_are_unscaled_and_keep_with_probability_one_minus_p():
    generator = torch.Generator().manual_seed(1)
    p = torch.tensor([0.1, 0.7])
    masks = relaxed_keep_mask(torch.logit(p), 0.2, (20000,), generator)
    assert masks.shape == (20000, 2) and masks.min() >= 0 and masks.max() <= 1
    torch.testing.assert_close((masks > 0.5).float().mean(0), 1 - p, atol=0.01, rtol=0)
    assert ((masks < 0.05) | (masks > 0.95)).float().mean() > 0.8, "τ = 0.2 gives nearly binary masks"


class NoisySupernet(Supernet):
    """One edge, two ops: a linear map of the input (useful) and pure noise (no parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.useful = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        noise = 3.0 * torch.randn(x.shape[0], 8)
        hidden = weights[..., 0, 0].reshape(-1, 1) * self.useful(x) + weights[..., 0, 1].reshape(-1, 1) * noise
        return self.head(torch.tanh(hidden))


class NoisySpace(SearchSpace):
    name = "noisy"
    op_names = ("useful", "noise")
    edge_names = ("1<-0",)

    def build_supernet(self, dataset, options):
        return NoisySupernet()

    def build_network(self, arch, dataset, options):
        return nn.Linear(4, 2)

    def parse(self, text):
        return (self.op_names.index(text),)

    def format(self, arch):
        return self.op_names[arch[0]]


def toy_run(tmp_path, space: SearchSpace, info: DatasetInfo, images: torch.Tensor, labels: torch.Tensor,
            **search) -> RunContext:
    config = merge(DEFAULTS, {"search": {"batch_size": 16, "eval_batch_size": 64, "weight_decay": 0.0, **search}})
    data = SearchData.split(info, ImageSet(images, labels), ImageSet(images[:64], labels[:64]), 0, torch.device("cpu"))
    return RunContext(config, None, space, info, data, torch.device("cpu"), 0, tmp_path, None)


def noisy_problem(tmp_path, epochs: int, options: dict | None = None):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(256, 1, 2, 2, generator=generator)
    labels = (images.flatten(1).sum(1) > 0).long()
    run = toy_run(tmp_path, NoisySpace(), TOY, images, labels, epochs=epochs, lr=0.1, lr_min=0.1)
    torch.manual_seed(0)
    supernet = NoisySupernet()
    optimizer = PgnasOptimizer(options or {})
    optimizer.attach(run.space, supernet, run)
    return run, supernet, optimizer, Trainer(run, supernet, optimizer)


def test_probe_finds_the_kernels_each_gate_governs(tmp_path):
    _, supernet, optimizer, _ = noisy_problem(tmp_path, epochs=1)
    useful, noise = optimizer.kernels
    assert {id(p) for p in useful} == {id(supernet.useful.weight), id(supernet.useful.bias)}
    assert noise == []
    assert {id(p) for p in optimizer.ungated} == {id(p) for p in supernet.head.parameters()}


def test_learned_p_drops_the_noise_op_and_keeps_the_useful_one(tmp_path):
    run, _, optimizer, trainer = noisy_problem(tmp_path, epochs=20)
    assert optimizer.parameters() == [optimizer.theta] and not optimizer.bilevel
    theta_group = trainer.weight_optimizer.param_groups[1]
    assert theta_group["params"] == [optimizer.theta] and theta_group["lr"] == pytest.approx(0.1 * 10)
    for _ in range(20):
        trainer.train_epoch()
    p_useful, p_noise = optimizer.drop_probabilities().tolist()
    assert p_noise > 0.9 and p_useful < 0.05
    assert run.space.argmax(optimizer.logits()) == (0,)
    summary = optimizer.summary()
    assert summary["p/noise"] == pytest.approx(p_noise) and summary["p_max"] == pytest.approx(p_noise)


def test_fixed_p_is_not_learned(tmp_path):
    _, _, optimizer, trainer = noisy_problem(tmp_path, epochs=2, options={"learn": False, "p_init": 0.3})
    trainer.train_epoch()
    assert optimizer.parameters() == []
    torch.testing.assert_close(optimizer.drop_probabilities(), torch.tensor([0.3, 0.3]))


def test_mixing_weights_per_example_expected_and_logits(tmp_path):
    _, _, optimizer, _ = noisy_problem(tmp_path, epochs=1, options={"p_init": 0.2})
    assert optimizer.mixing_weights(True).shape == (16, 1, 2)
    torch.testing.assert_close(optimizer.mixing_weights(False), torch.full((1, 2), 0.8))
    torch.testing.assert_close(optimizer.logits(), torch.full((1, 2), math.log(0.8)))
    run, supernet, _, _ = noisy_problem(tmp_path, epochs=1)
    shared = PgnasOptimizer({"per_example": False})
    shared.attach(run.space, supernet, run)
    assert shared.mixing_weights(True).shape == (1, 2)


def test_binary_layout_rows_are_drop_keep_pairs_sharing_a_group():
    layout = GateLayout([GateGroup("a", ((0, 1), (1, 1))), GateGroup("b", ((2, 1),))], 3, 2, complement_op=0)
    assert layout.units.tolist() == [2, 1] and layout.unit_group.tolist() == [0, 0, 1]
    keep = torch.tensor([[0.9, 0.2, 1.0]])
    torch.testing.assert_close(layout.weights(keep), torch.tensor([[[0.1, 0.9], [0.8, 0.2], [0.0, 1.0]]]))
    scores = layout.scores(torch.log(torch.tensor([0.9, 0.9, 0.4])), torch.log(torch.tensor([0.1, 0.1, 0.6])))
    assert scores.argmax(-1).tolist() == [1, 1, 0]


def test_state_dict_round_trip(tmp_path):
    _, _, optimizer, trainer = noisy_problem(tmp_path, epochs=1)
    trainer.train_epoch()
    _, _, other, _ = noisy_problem(tmp_path, epochs=1)
    other.load_state_dict(optimizer.state_dict())
    torch.testing.assert_close(other.theta, optimizer.theta)
    torch.testing.assert_close(other.mixing_weights(True), optimizer.mixing_weights(True))


def test_bad_options_are_user_errors():
    with pytest.raises(UserError, match="channel_gates"):
        PgnasOptimizer({"channel_gates": True})
    with pytest.raises(UserError, match="known"):
        PgnasOptimizer({"tau": 0.2})
    with pytest.raises(UserError, match="candidates"):
        PosteriorSelector({"candidates": 0})


def test_gate_patterns_are_independent_bernoulli_keeps_with_the_learned_marginals(tmp_path):
    run = signal_run(tmp_path)
    optimizer = PgnasOptimizer({})
    optimizer.attach(run.space, run.space.build_supernet(run.dataset, {}), run)
    p = torch.tensor([0.1, 0.6, 0.5, 0.9, 0.3, 0.75])
    with torch.no_grad():
        optimizer.theta.copy_(torch.logit(p))
    patterns, scores = optimizer.sample_candidates(40000, torch.Generator().manual_seed(0))
    assert patterns.shape == scores.shape == (40000, 2, 3)
    assert set(patterns.unique().tolist()) == {0.0, 1.0}
    keeps = patterns.reshape(40000, 6)
    torch.testing.assert_close(keeps.mean(0), 1 - p, atol=0.01, rtol=0)
    joint = keeps.T @ keeps / 40000  # P(both kept) for every pair of gates
    torch.testing.assert_close(joint, torch.outer(1 - p, 1 - p).fill_diagonal_(0) + torch.diag(1 - p),
                               atol=0.01, rtol=0)
    kept_per_edge = patterns.sum(-1)
    assert {0.0, 1.0, 2.0, 3.0} <= set(kept_per_edge.unique().tolist()), "not one op per edge"
    for pattern, score in zip(patterns[:200], scores[:200]):
        for edge in range(2):
            kept = pattern[edge].nonzero().flatten().tolist()
            expected = max(kept, key=lambda op: 1 - p[edge * 3 + op]) if kept else int((1 - p[edge * 3:edge * 3 + 3]).argmax())
            assert run.space.argmax(score)[edge] == expected


def test_sample_keeps_draws_bernoulli_bits():
    bits = sample_keeps(torch.tensor([0.0, 0.25, 1.0]), 20000, torch.Generator().manual_seed(3))
    assert bits.shape == (20000, 3)
    assert bits[:, 0].sum() < 5 and bits[:, 2].min() == 1
    assert bits[:, 1].mean().item() == pytest.approx(0.25, abs=0.01)


def nb201_keep(rows: dict[int, dict[str, float]]) -> torch.Tensor:
    """Keep probabilities (6 edges, NB201 ops) with a gate on every op but ``none`` (default 0.5)."""
    space = NB201Space()
    keep = torch.full((6, 5), 0.5)
    keep[:, space.op_names.index("none")] = 0.0
    for edge, values in rows.items():
        for name, value in values.items():
            keep[edge, space.op_names.index(name)] = value
    return keep


def test_cell_rule_takes_the_most_kept_of_the_kept_ops_and_none_only_for_empty_edges():
    space = NB201Space()
    op = space.op_names.index
    keep = nb201_keep({0: {"nor_conv_3x3": 0.9, "skip_connect": 0.95, "avg_pool_3x3": 0.99},
                       1: {"nor_conv_1x1": 0.2, "nor_conv_3x3": 0.99},
                       2: {"skip_connect": 0.99}})
    kept = torch.zeros(6, 5)
    kept[0, [op("nor_conv_3x3"), op("skip_connect")]] = 1  # avg_pool is more likely kept, but not in this pattern
    kept[1, op("nor_conv_1x1")] = 1  # the only kept op wins over a dropped op with a higher keep probability
    kept[3, [op("skip_connect"), op("nor_conv_1x1"), op("nor_conv_3x3"), op("avg_pool_3x3")]] = 1  # all 0.5: first
    kept[4, op("avg_pool_3x3")] = 1
    arch = space.argmax(cell_scores(kept, keep, space.op_names))
    assert arch == (op("skip_connect"), op("nor_conv_1x1"), op("none"), op("skip_connect"), op("avg_pool_3x3"),
                    op("none"))
    without_none = ("a", "b")
    scores = cell_scores(torch.zeros(1, 2), torch.tensor([[0.3, 0.6]]), without_none)
    assert int(scores.argmax(-1)) == 1, "an empty edge in a space without none takes its most-kept op"


def test_held_out_cell_rule_refuses_spaces_with_a_topology():
    from plugins.darts_space.space import DartsSpace

    space = DartsSpace()
    with pytest.raises(UserError, match="held_out"):
        PosteriorSelector({"cell_rule": "held_out"})._held_out_cell(types.SimpleNamespace(space=space),
                                                                     torch.ones(space.num_edges, space.num_ops))


def test_p_moves_apart_on_the_signal_space_and_the_search_keeps_the_signal(tmp_path, monkeypatch):
    """Signal op kept, noise dropped on both edges (``zero`` has no gradient and stays at p_init); at
    the search lr alone (lr_scale 1) p barely leaves 0.5 in the same budget."""
    def searched(options: dict) -> tuple[torch.Tensor, PgnasOptimizer, Trainer, RunContext, Supernet]:
        torch.manual_seed(0)
        run = signal_run(tmp_path, {"epochs": 40, "lr": 0.025, "weight_decay": 0.0})
        supernet = run.space.build_supernet(run.dataset, {})
        optimizer = PgnasOptimizer(options)
        optimizer.attach(run.space, supernet, run)
        trainer = Trainer(run, supernet, optimizer)
        for _ in range(40):
            trainer.train_epoch()
            trainer.scheduler.step()
        return optimizer.drop_probabilities().detach().view(2, 3), optimizer, trainer, run, supernet

    p, optimizer, trainer, run, supernet = searched({})
    assert bool((p[:, SIGNAL] < 0.05).all()) and bool((p[:, NOISE] > 0.9).all())
    torch.testing.assert_close(p[:, ZERO], torch.full((2,), 0.5), atol=0.02, rtol=0)
    monkeypatch.setattr(PosteriorSelector, "_parameter_count", staticmethod(lambda ctx, arch: 0))
    selection = PosteriorSelector({"candidates": 30}).select(selection_context(run, supernet, optimizer, trainer))
    assert selection.arch == (SIGNAL, SIGNAL)
    assert selection.details["best_valid_acc"] > 90
    held_out = PosteriorSelector({"cell_rule": "held_out"})
    ctx = selection_context(run, supernet, optimizer, trainer)
    assert held_out._held_out_cell(ctx, torch.ones(2, 3)) == ((SIGNAL, SIGNAL), 6)
    empty_first_edge = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    assert held_out._held_out_cell(ctx, empty_first_edge) == ((SIGNAL, ZERO), 2), \
        "no none here: the empty edge takes its most-kept op; noise loses to zero on the second edge"
    slow, *_ = searched({"lr_scale": 1.0})
    assert float((slow - 0.5).abs().max()) < 0.25


def test_block_draws_are_exactly_conditioned_on_keeping_one():
    keep = torch.tensor([0.3, 0.6, 0.5])
    bits = sample_blocks(keep, [[0, 1]], 40000, torch.Generator().manual_seed(0))
    assert bool((bits[:, :2].sum(1) >= 1).all())
    pairs = bits[:, 0] * 2 + bits[:, 1]
    nonempty = 1 - 0.7 * 0.4
    expected = torch.tensor([0.7 * 0.6, 0.3 * 0.4, 0.3 * 0.6]) / nonempty
    observed = torch.stack([(pairs == value).float().mean() for value in (1, 2, 3)])
    torch.testing.assert_close(observed, expected, atol=0.01, rtol=0)
    assert bits[:, 2].mean().item() == pytest.approx(0.5, abs=0.01)
    saturated = sample_blocks(torch.full((4,), 1e-30), [[0, 1, 2, 3]], 100, torch.Generator().manual_seed(0))
    assert bool((saturated.sum(1) >= 1).all())


def test_curve_points_follow_table6():
    assert curve_points(1500) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1500]
    assert curve_points(1) == [1]


def test_nb201_gates_are_per_edge_op_but_none_with_conv_kernels_from_every_cell():
    space = NB201Space()
    info = DatasetInfo("toy8", 3, 1, 8, (0.0,), (1.0,))
    supernet = space.build_supernet(info, {"C": 2, "N": 1})
    layout = gate_layout(space)
    assert len(layout.groups) == 24 and layout.complement_op is None
    assert [group.name.split(":")[1] for group in layout.groups[:4]] == list(space.op_names[1:])
    kernels, ungated = find_gated_kernels(supernet, layout, torch.randn(2, 1, 8, 8))
    per_op = [[len(kernels[e * 4 + o]) for o in range(4)] for e in range(6)]
    assert per_op == [[0, 3, 3, 0]] * 6, "each nor_conv gate governs its conv in the 3 cells"
    assert len(ungated) == sum(1 for _ in supernet.parameters()) - 36
    keep = torch.rand(24)
    patterns = layout.weights(sample_keeps(keep, 20, torch.Generator().manual_seed(0)))
    for pattern in patterns:
        arch = space.argmax(cell_scores(pattern, layout.weights(keep), space.op_names))
        assert space.parse(space.format(arch)) == arch


def copy_into_pruned(supernet: nn.Module, network: nn.Module, kept) -> None:
    """The pruned network's weights from the supernet: branch convs sliced to their kept channels."""
    state = network.state_dict()
    for name, value in supernet.state_dict().items():
        if name not in state:
            continue
        parts = name.split(".")
        if parts[0] == "blocks" and parts[2] == "branches":
            branch = ("conv3x3", "conv5x5", "conv1x1").index(parts[3])
            value = value[:, kept[int(parts[1])][branch]]
        state[name] = value
    network.load_state_dict(state)


def test_resnet_supernet_with_one_hot_gates_is_the_pruned_network():
    space = MultiBranchResNetSpace()
    info = DatasetInfo("toy8", 3, 2, 8, (0.0, 0.0), (1.0, 1.0))
    torch.manual_seed(0)
    supernet = space.build_supernet(info, {"C": 16, "N": 1}).eval()
    arch = list(space.sample(np.random.default_rng(0)))
    for edge, _ in space.gate_groups[1].cells:
        arch[edge] = 0
    arch = tuple(arch)
    kept = space.kept_channels(arch)
    network = space.build_network(arch, info, {"C": 16, "N": 1}).eval()
    copy_into_pruned(supernet, network, kept)
    x = torch.randn(4, 2, 8, 8)
    weights = torch.nn.functional.one_hot(torch.tensor(arch), 2).float()
    torch.testing.assert_close(supernet(x, weights), network(x), atol=1e-5, rtol=1e-5)
    per_example = weights.expand(4, *weights.shape)
    torch.testing.assert_close(supernet(x, per_example), network(x), atol=1e-5, rtol=1e-5)

    full = sum(p.numel() for p in space.build_network((1,) * space.num_edges, info, {}).parameters())
    dropped = sum(1 - a for a in arch)
    kernel_sizes = {edge: k * k for group, k in zip(space.gate_groups, (3, 5, 1) * 3) for edge, _ in group.cells}
    out_width = {edge: (16, 32, 64)[i // 3] for i, group in enumerate(space.gate_groups) for edge, _ in group.cells}
    removed = sum(kernel_sizes[e] * out_width[e] for e, a in enumerate(arch) if a == 0)
    assert sum(p.numel() for p in network.parameters()) == full - removed
    stats = space.architecture_stats(arch)
    assert stats["dropped_channels"] == pytest.approx(dropped / 192)
    assert stats["dropped_branches"] == pytest.approx(1 / 9)


def test_resnet_space_strings_validity_and_argmax():
    space = MultiBranchResNetSpace()
    assert space.num_edges == 192 and len(space.gate_groups) == 9 and len(space.edge_blocks) == 3
    arch = space.sample(np.random.default_rng(3))
    assert space.parse(space.format(arch)) == arch
    full = space.format((1,) * 192)
    assert full == "|ffff|ffff|ffff|+|ffff|ffff|ffff|+|ffffffff|ffffffff|ffffffff|"
    with pytest.raises(UserError, match="block s2b1"):
        space.parse("|ffff|ffff|ffff|+|0000|0000|0000|+|ffffffff|ffffffff|ffffffff|")
    with pytest.raises(UserError, match="hex"):
        space.parse("|fff|ffff|ffff|+|ffff|ffff|ffff|+|ffffffff|ffffffff|ffffffff|")
    with pytest.raises(UserError, match="fixed shape"):
        space.build_supernet(TOY, {"C": 32})
    scores = torch.zeros(192, 2)
    scores[:, 0] = 1.0
    scores[space.gate_groups[4].cells[0][0], 1] = 0.5
    chosen = space.argmax(scores)
    assert space.kept_channels(chosen)[1] == [[], list(range(16)), []]
    assert space.architecture_stats(chosen)["dropped_branches"] == pytest.approx(6 / 9)
    assert space.size() == (2 ** 48 - 1) ** 2 * (2 ** 96 - 1)


def _resnet_toy(tmp_path):
    """Three noisy 8×8 patterns, the pgnas-resnet space at C = 16, N = 1, one epoch of batch 32."""
    generator = torch.Generator().manual_seed(0)
    patterns = torch.rand(3, 1, 8, 8, generator=generator)
    labels = torch.arange(192) % 3
    images = (patterns[labels] + 0.2 * torch.randn(192, 1, 8, 8, generator=generator)).clamp(0, 1)
    info = DatasetInfo("toy8", 3, 1, 8, (0.5,), (0.3,))
    space = MultiBranchResNetSpace()
    run = toy_run(tmp_path, space, info, images, labels, epochs=1, batch_size=32)
    run.config["space"]["options"] = {"C": 16, "N": 1}
    torch.manual_seed(0)
    supernet = space.build_supernet(info, {"C": 16, "N": 1})
    return space, info, run, supernet


def test_pgnas_resnet_selection_is_unchanged_by_the_cell_space_rework(tmp_path):
    """The pgnas-resnet preset's optimizer options on a fixed toy problem give exactly what the
    implementation before the rework (commit fe83c12) gave."""
    space, info, run, supernet = _resnet_toy(tmp_path)
    optimizer = PgnasOptimizer(METHODS["pgnas-resnet"]().defaults["optimizer"]["options"])
    optimizer.attach(space, supernet, run)
    trainer = Trainer(run, supernet, optimizer)
    trainer.train_epoch()
    ctx = SelectionContext(run, space, info, supernet, optimizer, run.data, trainer, lambda arch: {},
                           np.random.default_rng(0))
    selection = PosteriorSelector({"candidates": 12, "bn_train": False}).select(ctx)
    assert space.format(selection.arch) == "|fb7f|ffff|edbd|+|f7ef|ffeb|bfff|+|fffffffe|feffff7e|fffdffff|"
    assert selection.details["best_valid_acc"] == pytest.approx(77.08333333333333, abs=1e-9)
    assert selection.details["best_candidate"] == 8 and "best_cell_valid_acc" not in selection.details
    torch.testing.assert_close(optimizer.drop_probabilities().detach(),
                               torch.tensor([0.100472, 0.100376, 0.100368, 0.100298, 0.100414, 0.10039, 0.100776,
                                             0.100865, 0.100851]), atol=2e-6, rtol=0)


def test_posterior_selection_on_the_resnet_space(tmp_path):
    space, info, run, supernet = _resnet_toy(tmp_path)
    optimizer = PgnasOptimizer({})
    optimizer.attach(space, supernet, run)
    assert [len(k) for k in optimizer.kernels] == [1] * 9
    trainer = Trainer(run, supernet, optimizer)
    trainer.train_epoch()

    queried = []
    ctx = SelectionContext(run, space, info, supernet, optimizer, run.data, trainer,
                           lambda arch: queried.append(arch) or {}, np.random.default_rng(0))
    selection = PosteriorSelector({"candidates": 12, "bn_train": False}).select(ctx)
    details = selection.details
    accuracies = [row["valid_acc"] for row in selection.trajectory]
    curve = [point["best_valid_acc"] for point in details["curve"]]
    assert [point["candidates"] for point in details["curve"]] == [1, 2, 5, 10, 12]
    assert curve == [max(accuracies[:c]) for c in (1, 2, 5, 10, 12)]
    assert curve == sorted(curve) and curve[-1] == details["best_valid_acc"]
    assert selection.trajectory[details["best_candidate"] - 1]["valid_acc"] == details["best_valid_acc"]
    assert queried[-1] == selection.arch and len(queried) == len(set(queried))
    assert details["params"] == sum(p.numel() for p in space.build_network(selection.arch, info, {}).parameters())
    assert 0 <= details["dropped_channels"] < 0.5 and "dropped_branches" in details
    weights = torch.nn.functional.one_hot(torch.tensor(selection.arch), 2).float()
    assert trainer.evaluate("valid", weights=weights)[0] == details["best_valid_acc"]


def test_methods_switch_off_the_harness_weight_decay():
    for factory in METHODS.values():
        method = factory()
        assert method.optimizer == "pgnas" and method.selector == "posterior"
        assert method.defaults["search"]["weight_decay"] == 0.0
    assert METHODS["pgnas-random"]().defaults["optimizer"]["options"] == {"learn": False}
    assert METHODS["pgnas-resnet"]().defaults["space"]["name"] == "pgnas-resnet"

"""The BaLeNAS architecture optimizer on a known-answer supernet, the training-free proxy
selector on a tiny chain space, and the methods' presets."""
from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from tiny import INFO, toy_data
from torch import nn

import plugins.balenas
import plugins.darts
import plugins.datasets
import plugins.nb201
import plugins.nb201_benchmark
import plugins.proxies
from harness import (
    Proxy,
    RunContext,
    SearchData,
    SearchSpace,
    SearchStep,
    SelectionContext,
    Supernet,
    Trainer,
    UserError,
    arch_gradient,
    hookimpl,
)
from harness.experiment.checks import resolve_config
from harness.experiment.config import DEFAULTS, merge
from harness.plugin.manager import load_plugins
from plugins.balenas.optimizer import BalenasOptimizer
from plugins.balenas.proxy_selector import ProxySelector
from plugins.darts.optimizer import DartsOptimizer

# --- a supernet whose best op is known ---------------------------------------------------

class TeacherSupernet(Supernet):
    """Op 0 ("teacher") outputs the right logits for the toy labels (sum of pixels > 0),
    op 1 ("anti") their negative, op 2 ("zero") nothing; a learned gain scales the mix."""

    def __init__(self) -> None:
        super().__init__()
        teacher = torch.tensor([[-1.0] * 4, [1.0] * 4])
        self.register_buffer("maps", torch.stack([teacher, -teacher, torch.zeros(2, 4)]))
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        per_op = torch.einsum("bf,ocf->boc", x.flatten(1), self.maps)
        return self.gain * torch.einsum("...eo,boc->bc", weights, per_op)


class OneHotNetwork(nn.Module):
    def __init__(self, supernet: Supernet, arch: tuple[int, ...], num_ops: int) -> None:
        super().__init__()
        self.supernet = supernet
        self.register_buffer("weights", nn.functional.one_hot(torch.tensor(arch), num_ops).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, self.weights)


class TeacherSpace(SearchSpace):
    name = "teacher"
    op_names = ("teacher", "anti", "zero")
    edge_names = ("1<-0", "2<-0")

    def build_supernet(self, dataset, options):
        return TeacherSupernet()

    def build_network(self, arch, dataset, options):
        return OneHotNetwork(TeacherSupernet(), arch, self.num_ops)

    def parse(self, text):
        return tuple(self.op_names.index(t) for t in text.split(","))

    def format(self, arch):
        return ",".join(self.op_names[i] for i in arch)


# --- a chain space whose networks differ in size ------------------------------------------

class ChainOp(nn.Module):
    """"zero" blocks the signal, "narrow" is one 4×4 layer, "wide" two layers through 16 units
    (no biases, so nothing flows past a "zero" edge)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        layers = {"zero": [], "narrow": [nn.Linear(4, 4, bias=False)],
                  "wide": [nn.Linear(4, 16, bias=False), nn.ReLU(), nn.Linear(16, 4, bias=False)]}
        self.body = nn.Sequential(*layers[kind])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.0 if self.kind == "zero" else self.body(x)


class ChainNetwork(nn.Module):
    def __init__(self, kinds: list[str]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(ChainOp(kind) for kind in kinds)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for edge in self.edges:
            h = torch.relu(edge(h))
        return self.head(h)


class ChainSupernet(Supernet):
    def __init__(self, edges: int, op_names: tuple[str, ...]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleList(ChainOp(kind) for kind in op_names) for _ in range(edges))
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for e, ops in enumerate(self.edges):
            h = torch.relu(sum(weights[..., e, o].reshape(-1, 1) * op(h) for o, op in enumerate(ops)))
        return self.head(h)


class ChainSpace(SearchSpace):
    name = "chain"
    op_names = ("zero", "narrow", "wide")
    edge_names = ("1<-0", "2<-1")

    def build_supernet(self, dataset, options):
        return ChainSupernet(self.num_edges, self.op_names)

    def build_network(self, arch, dataset, options):
        return ChainNetwork([self.op_names[i] for i in arch])

    def parse(self, text):
        return tuple(self.op_names.index(t) for t in text.split(","))

    def format(self, arch):
        return ",".join(self.op_names[i] for i in arch)


class ParameterCount(Proxy):
    """A real (if crude) zero-cost proxy: the number of trainable parameters."""

    name = "test-param-count"
    needs_labels = False

    def __init__(self) -> None:
        self.batches: list[tuple[torch.Tensor, torch.Tensor]] = []

    def score(self, network, inputs, targets, loss_fn):
        self.batches.append((inputs, targets))
        return float(sum(p.numel() for p in network.parameters()))


class ProxyPlugin:
    @hookimpl
    def nasbench_register_proxies(self, register):
        register("test-param-count", ParameterCount, "number of parameters")


def load(*modules: ModuleType | object):
    """The plugin set of ``modules``, skipping those an installed entry point already loads."""
    installed = {ep.value for ep in entry_points(group="nasbench")}
    return load_plugins(extra=[m for m in modules if getattr(m, "__name__", "") not in installed])


PARAMS = {"zero": 0, "narrow": 4 * 4, "wide": 4 * 16 + 16 * 4}


def run_context(tmp_path: Path, space: SearchSpace, seed: int = 0, registry=None, **search) -> RunContext:
    config = merge(DEFAULTS, {"space": {"options": {}},
                              "search": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16, **search}})
    train, test = toy_data(seed=seed)
    data = SearchData.split(INFO, train, test, seed, torch.device("cpu"))
    return RunContext(config, None, space, INFO, data, torch.device("cpu"), seed, tmp_path, registry)


def attached(tmp_path, space=None, seed=0, **options):
    run = run_context(tmp_path, space or TeacherSpace(), seed)
    supernet = run.space.build_supernet(run.dataset, {})
    optimizer = BalenasOptimizer(options)
    optimizer.attach(run.space, supernet, run)
    return run, supernet, optimizer, Trainer(run, supernet, optimizer)


def _softmax(alpha):
    return torch.softmax(alpha, dim=-1)


# --- the optimizer -------------------------------------------------------------------------

@pytest.mark.parametrize("second_moment", ["mean_of_squares", "square_of_mean"])
@pytest.mark.parametrize("order", [1, 2])
def test_step_takes_the_gradient_at_each_of_m_draws_and_applies_vadam(tmp_path, order, second_moment):
    run, supernet, optimizer, trainer = attached(tmp_path, samples=3, lr=0.1, order=order, data_size=40,
                                                 second_moment=second_moment)
    step = SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream))
    mu0 = optimizer.mu.clone().double().numpy()
    noise = torch.randn((3, 2, 3), generator=torch.Generator().set_state(optimizer.generator.get_state()))

    sigma0 = 1.0  # init_precision 1 = δ: s₀ = 0
    grads = [arch_gradient(step, (optimizer.mu + sigma0 * eps).requires_grad_(True), _softmax, unrolled=order == 2)
             for eps in noise]
    per_draw = torch.stack(grads).double().numpy()
    g = per_draw.mean(0)
    h = (per_draw ** 2).mean(0) if second_moment == "mean_of_squares" else g * g
    optimizer.step(step)

    delta_tilde = 1.0 / 40
    m_hat = g + delta_tilde * mu0            # bias-corrected first moment after one step
    s_hat = h                                # bias-corrected second moment after one step (s₀ = 0)
    expected = mu0 - 0.1 * m_hat / (np.sqrt(s_hat) + delta_tilde)
    np.testing.assert_allclose(optimizer.mu.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(optimizer.sigma().numpy(), 1 / np.sqrt(40 * 0.001 * h + 1.0), rtol=1e-5)


def test_default_settings_follow_a_numpy_vadam_over_several_steps(tmp_path):
    """Five steps with the default options (betas (0.5, 0.999), δ = 1, σ₀ = 1, N = 25,000 as the
    reference, M = 3, second moment = mean of the per-draw squared gradients) against VAdam
    written out in numpy; one step alone would cancel the betas out."""
    run, supernet, optimizer, trainer = attached(tmp_path)
    n, delta, lr, (b1, b2) = 25_000, 1.0, 3e-4, (0.5, 0.999)
    mu = optimizer.mu.double().numpy().copy()
    m, s = np.zeros_like(mu), np.zeros_like(mu)  # s₀ = (init_precision − δ)/N = 0
    for t in range(1, 6):
        val_batch = next(trainer.valid_stream)
        noise = torch.randn((3, 2, 3), generator=torch.Generator().set_state(optimizer.generator.get_state()))
        sigma = 1.0 / np.sqrt(n * s + delta)
        grads = []
        for eps in noise:
            alpha = (torch.from_numpy(mu + sigma * eps.double().numpy())).float().requires_grad_(True)
            loss = nn.functional.cross_entropy(supernet(val_batch[0], torch.softmax(alpha, -1)), val_batch[1])
            grads.append(torch.autograd.grad(loss, alpha)[0].double().numpy())
        g = np.mean(grads, axis=0)
        m = b1 * m + (1 - b1) * (g + delta / n * mu)
        s = b2 * s + (1 - b2) * np.mean(np.square(grads), axis=0)
        mu = mu - lr * (m / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + delta / n)

        optimizer.step(SearchStep(trainer, next(trainer.train_stream), val_batch))
        np.testing.assert_allclose(optimizer.mu.numpy(), mu, rtol=1e-4, atol=1e-8)
        np.testing.assert_allclose(optimizer.sigma().numpy(), 1.0 / np.sqrt(n * s + delta), rtol=1e-5)


def test_mean_moves_toward_the_op_that_lowers_the_validation_loss(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path, lr=0.05)
    valid = trainer.valid_stream
    for _ in range(30):
        optimizer.step(SearchStep(trainer, next(trainer.train_stream), next(valid)))
    mu = optimizer.logits()
    assert run.space.argmax(mu) == (0, 0)  # the teacher op on both edges
    assert torch.all(mu[:, 0] > 0.5) and torch.all(mu[:, 1] < -0.5)
    torch.testing.assert_close(optimizer.mixing_weights(training=True), torch.softmax(mu, dim=-1))


def test_sigma_shrinks_with_more_data(tmp_path):
    def sigma_after(data_size):
        run, supernet, optimizer, trainer = attached(tmp_path, lr=0.05, data_size=data_size)
        for _ in range(5):
            optimizer.step(SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream)))
        return optimizer.sigma()

    small, large = sigma_after(100), sigma_after(100_000)
    assert torch.all(large <= small) and large.mean() < small.mean()
    # the zero op has no gradient on its own, and the teacher/anti ops the largest: their σ shrinks most
    assert torch.all(large[:, 0] < large[:, 2])


def test_data_size_is_the_reference_constant_on_every_dataset_unless_null(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path)
    assert optimizer.vadam.data_size == 25_000 != len(run.data.valid)
    assert optimizer.vadam.second_moment == "mean_of_squares"
    torch.testing.assert_close(optimizer.sigma(), torch.ones(2, 3))
    run, supernet, optimizer, trainer = attached(tmp_path, data_size=None, second_moment="square_of_mean",
                                                 draw_gradients="cumulative")
    assert optimizer.vadam.data_size == len(run.data.valid)
    assert (optimizer.vadam.second_moment, optimizer.vadam.draw_gradients) == ("square_of_mean", "cumulative")


def test_sample_logits_follow_n_mu_sigma(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path)
    optimizer.mu.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]))
    optimizer.vadam.exp_avg_sq[0].copy_(torch.tensor([[0.0, 0.1, 0.5], [1.0, 2.0, 0.05]]))
    sigma = optimizer.sigma()
    draws = optimizer.sample_logits(20_000, torch.Generator().manual_seed(1))
    assert draws.shape == (20_000, 2, 3)
    torch.testing.assert_close(draws.mean(0), optimizer.mu, atol=float(4 * sigma.max() / np.sqrt(20_000)), rtol=0)
    torch.testing.assert_close(draws.std(0), sigma, rtol=0.03, atol=0)
    again = optimizer.sample_logits(20_000, torch.Generator().manual_seed(1))
    assert torch.equal(draws, again)
    epsilon = torch.randn(20_000, 2, 3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(draws, optimizer.mu + sigma * epsilon)  # α = μ + σ·ε, ε from the caller's generator


class NoTeacherOnEdge1(TeacherSpace):
    """Edge 1 does not offer the teacher op (as RobustDARTS' S1 restricts edges)."""

    def candidate_ops(self, edge):
        return (0, 1, 2) if edge == 0 else (1, 2)


def test_mixing_weights_are_the_softmax_over_each_edges_offered_ops(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path, space=NoTeacherOnEdge1())
    optimizer.mu.copy_(torch.tensor([[0.0, 0.0, np.log(2.0)], [5.0, 0.0, np.log(3.0)]]))
    weights = optimizer.mixing_weights(training=True)
    torch.testing.assert_close(weights, torch.tensor([[0.25, 0.25, 0.5], [0.0, 0.25, 0.75]]))
    assert optimizer.logits()[1, 0] == 5.0  # μ itself keeps its value; argmax over offered ops is the space's job


def test_an_op_the_edge_does_not_offer_gets_no_gradient_only_the_priors_pull(tmp_path):
    """With g = 0 for the not-offered op at every draw, VAdam's first step moves its μ by the
    prior alone: m̂ = δ/N·μ, ŝ = 0, so μ ← μ − lr·(δ/N·μ)/(0 + δ/N) = (1 − lr)·μ, and σ stays 1."""
    run, supernet, optimizer, trainer = attached(tmp_path, space=NoTeacherOnEdge1(), lr=0.1)
    mu0 = optimizer.mu.clone()
    optimizer.step(SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream)))
    assert optimizer.mu[1, 0].item() == pytest.approx(0.9 * mu0[1, 0].item(), rel=1e-5)
    assert optimizer.sigma()[1, 0].item() == 1.0
    assert torch.all(optimizer.sigma()[0] < 1.0)  # the offered ops did get gradients


def test_mean_starts_as_darts_alpha_from_the_runs_seed(tmp_path):
    torch.manual_seed(99)  # the global stream plays no part
    run, supernet, optimizer, trainer = attached(tmp_path, seed=3)
    expected = 1e-3 * torch.randn(2, 3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(optimizer.mu, expected, rtol=0, atol=0)
    darts = DartsOptimizer({})
    darts.attach(run.space, supernet, run)
    assert torch.equal(darts.logits().detach(), optimizer.mu)


def test_precision_options_set_sigma_and_the_priors_pull(tmp_path):
    """δ = 4, σ₀ = 1/3 (precision 9 = N·s₀ + δ, so s₀ = 5/N), N = 100. The not-offered op has
    g = 0: m̂ = δ/N·μ, ŝ = β₂·s₀/(1 − β₂), so μ = 1 moves to 1 − lr·(δ/N)/(√ŝ + δ/N), and its
    precision after the step is N·β₂·s₀ + δ."""
    run, supernet, optimizer, trainer = attached(tmp_path, space=NoTeacherOnEdge1(), lr=0.1, data_size=100,
                                                 prior_precision=4.0, init_precision=9.0)
    torch.testing.assert_close(optimizer.sigma(), torch.full((2, 3), 1 / 3))
    optimizer.mu[1, 0] = 1.0
    optimizer.step(SearchStep(trainer, next(trainer.train_stream), next(trainer.valid_stream)))
    s0, beta2, pull = 5 / 100, 0.999, 4 / 100
    assert optimizer.mu[1, 0].item() == pytest.approx(1 - 0.1 * pull / (np.sqrt(beta2 * s0 / (1 - beta2)) + pull),
                                                      rel=1e-6)
    assert optimizer.sigma()[1, 0].item() == pytest.approx(1 / np.sqrt(100 * beta2 * s0 + 4.0), rel=1e-6)


def test_summary_reports_sigma_statistics(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path)
    optimizer.mu.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]))
    optimizer.vadam.exp_avg_sq[0].copy_(torch.tensor([[0.0, 0.1, 0.5], [1.0, 2.0, 0.05]]))
    sigma = 1 / np.sqrt(25_000 * np.array([[0.0, 0.1, 0.5], [1.0, 2.0, 0.05]]) + 1.0)
    summary = optimizer.summary()
    assert summary["sigma_mean"] == pytest.approx(sigma.mean(), rel=1e-6)
    assert summary["sigma_min"] == pytest.approx(sigma.min(), rel=1e-6)
    assert summary["sigma_max"] == pytest.approx(sigma.max(), rel=1e-6)
    assert summary["sigma_argmax_mean"] == pytest.approx((sigma[0, 0] + sigma[1, 1]) / 2, rel=1e-6)
    assert summary["mu_abs_mean"] == pytest.approx(7.5 / 6)


def test_search_epoch_runs_the_bilevel_loop(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path, lr=0.05)
    before = optimizer.mu.clone()
    stats = trainer.train_epoch()
    assert optimizer.vadam.steps == trainer.steps_per_epoch()
    assert not torch.equal(before, optimizer.mu) and np.isfinite(stats["train_loss"])


def test_state_dict_round_trip_resumes_the_same_draws(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path, lr=0.05)
    batches = [(next(trainer.train_stream), next(trainer.valid_stream)) for _ in range(3)]
    for train_batch, val_batch in batches[:2]:
        optimizer.step(SearchStep(trainer, train_batch, val_batch))
    state = optimizer.state_dict()
    _, _, other, other_trainer = attached(tmp_path, seed=5, lr=0.05)
    other_trainer.supernet.load_state_dict(supernet.state_dict())
    other.load_state_dict(state)
    optimizer.step(SearchStep(trainer, *batches[2]))
    other.step(SearchStep(other_trainer, *batches[2]))
    torch.testing.assert_close(other.mu, optimizer.mu)
    torch.testing.assert_close(other.sigma(), optimizer.sigma())


@pytest.mark.parametrize("options", [{"order": 3}, {"samples": 0}, {"momentum": 0.9}, {"betas": [0.5]}])
def test_bad_options_are_user_errors(tmp_path, options):
    with pytest.raises(UserError):
        attached(tmp_path, **options)


# --- the proxy selector --------------------------------------------------------------------

def selection_context(tmp_path, optimizer=None, seed=0, space=None):
    space = space or ChainSpace()
    run = run_context(tmp_path, space, seed, registry=load(ProxyPlugin(), plugins.proxies))
    return SelectionContext(run, space, INFO, None, optimizer, run.data, None,
                            lambda arch: {"toy/test_acc": 10.0 * arch[0] + arch[1]}, np.random.default_rng(seed))


def test_uniform_source_keeps_the_highest_scoring_architecture(tmp_path):
    selector = ProxySelector({"k": 60, "proxy": "test-param-count", "source": "uniform", "batch_size": 5})
    selection = selector.select(selection_context(tmp_path))

    assert selection.arch == (2, 2)  # wide, wide: the most parameters of all 9 (all drawn in 60)
    rows = selection.trajectory
    assert selection.details["k"] == 60 and selection.details["unique"] == len(rows) == 9
    assert sum(row["draws"] for row in rows) == 60
    for row in rows:
        kinds = row["arch"].split(",")
        assert row["score"] == PARAMS[kinds[0]] + PARAMS[kinds[1]] + 10
        arch = ChainSpace().parse(row["arch"])
        assert row["toy/test_acc"] == 10.0 * arch[0] + arch[1]
    assert selection.details["best_score"] == max(row["score"] for row in rows)


def test_posterior_source_scores_only_what_the_distribution_proposes(tmp_path):
    run, supernet, optimizer, trainer = attached(tmp_path, space=ChainSpace())
    optimizer.mu.copy_(torch.tensor([[0.0, 8.0, 0.0], [0.0, 0.0, 0.0]]))          # edge 0: narrow, surely
    optimizer.vadam.exp_avg_sq[0].copy_(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))  # σ ≈ 0.18 | 1
    selector = ProxySelector({"k": 100, "proxy": "test-param-count"})
    ctx = selection_context(tmp_path, optimizer)
    selection = selector.select(ctx)

    assert selection.arch == (1, 2)  # the best the posterior proposes, not the global best (2, 2)
    assert {row["arch"].split(",")[0] for row in selection.trajectory} == {"narrow"}
    assert selection.details["unique"] == 3 and selection.details["k"] == 100
    assert selection.details["source"] == "posterior" and selection.details["proxy"] == "test-param-count"


def test_scoring_batch_comes_from_the_search_train_half(tmp_path):
    proxy = ParameterCount()

    class Registered:
        @hookimpl
        def nasbench_register_proxies(self, register):
            register("recording", lambda: proxy)

    ctx = selection_context(tmp_path)
    ctx.run.plugins = load(Registered())
    ProxySelector({"k": 3, "proxy": "recording", "source": "uniform", "batch_size": 7}).select(ctx)
    inputs, targets = proxy.batches[0]
    assert inputs.shape == (7, 1, 2, 2) and targets.shape == (7,)
    train = ctx.data.train
    matches = [(train.images == image).flatten(1).all(1).nonzero().flatten() for image in inputs]
    assert all(len(m) == 1 and train.labels[m[0]] == label for m, label in zip(matches, targets))


def test_synflow_never_picks_an_architecture_with_a_zero_edge(tmp_path):
    selector = ProxySelector({"k": 30, "proxy": "synflow", "source": "uniform"})
    selection = selector.select(selection_context(tmp_path))
    scores = {row["arch"]: row["score"] for row in selection.trajectory}
    assert all(score == 0.0 for arch, score in scores.items() if "zero" in arch)
    assert "zero" not in ChainSpace().format(selection.arch)
    assert selection.details["best_score"] == max(scores.values()) > 0
    again = ProxySelector({"k": 30, "proxy": "synflow", "source": "uniform"}).select(selection_context(tmp_path))
    assert again.arch == selection.arch and again.trajectory == selection.trajectory


def test_selection_leaves_the_global_random_state_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ProxySelector({"k": 5, "proxy": "test-param-count", "source": "uniform"}).select(selection_context(tmp_path))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("options", [{"source": "prior"}, {"k": 0}, {"batch_size": 0}, {"samples": 3}])
def test_bad_selector_options_are_user_errors(options):
    with pytest.raises(UserError):
        ProxySelector(options)


# --- registration and method presets ---------------------------------------------------------

def test_plugin_registers_optimizer_selector_and_methods():
    registry = load(plugins.balenas, plugins.darts)
    assert "balenas" in registry["optimizer"] and "proxy" in registry["selector"]
    methods = {name: registry["method"].create(name) for name in ("balenas", "balenas-2nd", "balenas-tf", "zero-cost")}
    assert {name: (m.optimizer, m.selector) for name, m in methods.items()} == {
        "balenas": ("balenas", "argmax"), "balenas-2nd": ("balenas", "argmax"),
        "balenas-tf": ("balenas", "proxy"), "zero-cost": ("fixed", "proxy")}

    registry = load(plugins.balenas, plugins.darts, plugins.datasets, plugins.nb201, plugins.nb201_benchmark)
    first, second = (resolve_config(registry, "balenas", "cifar10", {}),
                     resolve_config(registry, "balenas-2nd", "cifar10", {}))
    assert first["optimizer"]["options"]["order"] == 1 and second["optimizer"]["options"]["order"] == 2
    assert first["optimizer"]["options"]["samples"] == 3  # every default is written into config.json
    tf = resolve_config(registry, "balenas-tf", "cifar10", {"selector": {"options": {"k": 10}}})
    assert tf["selector"]["options"] == {"k": 10, "proxy": "synflow", "source": "posterior", "batch_size": 64}
    zero = resolve_config(registry, "zero-cost", "cifar10", {})
    assert zero["search"]["epochs"] == 0 and zero["selector"]["options"]["source"] == "uniform"
    for config in (first, second, tf):
        BalenasOptimizer(config["optimizer"]["options"])
    for config in (tf, zero):
        ProxySelector(config["selector"]["options"])

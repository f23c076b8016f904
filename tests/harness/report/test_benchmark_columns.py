"""Tables follow the benchmark contract: a benchmark defined here, unknown to ``harness``,
gets its own headline columns, titles and optimum row."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field
from run_records import write_run

from harness import Benchmark, Options, SearchSpace, hookimpl
from harness.plugin.manager import load_plugins
from harness.report.tables import benchmark_optima, build_table, render
from harness.store.records import load_records


class ToySpace(SearchSpace):
    name = "toy"
    op_names = ("a", "b")
    edge_names = ("e",)

    def build_supernet(self, dataset, options):
        raise NotImplementedError

    def build_network(self, arch, dataset, options):
        raise NotImplementedError

    def parse(self, text):
        return (self.op_names.index(text),)

    def format(self, arch):
        return self.op_names[arch[0]]


class ToyBench(Benchmark):
    """Knows the best 'lakes/score_acc' of its two-architecture space: 77.5."""

    name = "toybench"
    headline = ("lakes/score_acc", "lakes/test_acc")
    titles = {"lakes/score_acc": "Lakes score"}

    class Options(Options):
        bonus: float = Field(0.0, description="added to the optimum (tests options reach it)")

    def supports(self, space):
        return space.name == "toy"

    def query(self, space, arch):
        return {"lakes/score_acc": (70.0, 77.5)[arch[0]]}

    def optimum(self, metric):
        return 77.5 + self.options.bonus if metric == "lakes/score_acc" else None


class ToyPlugin:
    @hookimpl
    def nasbench_register_search_spaces(self, register):
        register("toy", ToySpace)

    @hookimpl
    def nasbench_register_benchmarks(self, register):
        register("toybench", ToyBench)


@pytest.fixture
def records(tmp_path: Path):
    for seed, value in enumerate([70.0, 77.5, 77.5]):
        write_run(tmp_path, "darts", seed, {"lakes/score_acc": value, "lakes/other_acc": 1.0}, space="toy",
                  dataset="lakes")
    return load_records(tmp_path, include_failed=True)


def test_a_benchmark_from_a_plugin_gets_its_columns_titles_and_optimum(records):
    plugins = load_plugins(extra=[ToyPlugin()], from_entry_points=False)
    table = build_table(records, plugins=plugins)
    assert [c.key for c in table.columns if c.kind == "metric"] == ["lakes/score_acc"]
    assert table.columns[0].title == "Lakes score"
    optima, notes = benchmark_optima(records, ["lakes/score_acc"], None, plugins)
    assert optima == {"lakes/score_acc": 77.5} and notes == []
    table.optimal = optima
    markdown = render(table, "markdown")
    assert "| darts | 3 | 75.00±4.33 |" in markdown
    assert "| optimal |  | 77.50 |" in markdown


def test_without_the_plugin_the_core_knows_nothing_of_its_metrics(records):
    plugins = load_plugins(extra=[], from_entry_points=False)
    assert [c.key for c in build_table(records, plugins=plugins).columns if c.kind == "metric"] == []
    assert benchmark_optima(records, ["lakes/score_acc"], None, plugins) == ({}, [])

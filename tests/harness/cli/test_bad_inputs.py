"""A hostile user's inputs, table-driven through click's CliRunner: every one is exit code 2 and
exactly one line starting ``Error:`` that names the problem, never a traceback, and no run folder."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from run_records import write_run

from harness.cli.main import build_cli, user_config_from_options

ARCH = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
TINY = ["--dataset", "synthetic", "--epochs", "1", "--device", "cpu", "--set", "space.options.C=4",
        "--set", "search.max_steps_per_epoch=1", "--set", "search.batch_size=16"]

SUITE_HEAD = '[suite]\nname = "s"\nseeds = [0]\ndataset = "synthetic"\n'
SUITES = {
    "seeds-string": '[suite]\nseeds = "0"\n[[grid]]\nmethods = ["darts"]\n',
    "seeds-repeated": '[suite]\nseeds = [0, 1, 0]\n[[grid]]\nmethods = ["darts"]\n',
    "epochs-string": SUITE_HEAD + '[suite.set]\n"search.epochs" = "abc"\n[[grid]]\nmethods = ["darts"]\n',
    "batch-zero": SUITE_HEAD + '[[grid]]\nmethods = ["darts"]\n[grid.set]\n"search.batch_size" = 0\n',
    "lr-negative": SUITE_HEAD + '[[grid]]\nmethods = ["darts"]\n[grid.set]\n"search.lr" = -1\n',
    "search-number": SUITE_HEAD + '[suite.set]\nsearch = 5\n[[grid]]\nmethods = ["darts"]\n',
    "methods-string": SUITE_HEAD + '[[grid]]\nmethods = "darts"\n',
    "unknown-key": SUITE_HEAD + 'typo = 1\n[[grid]]\nmethods = ["darts"]\n',
    "option-unknown": SUITE_HEAD + '[[grid]]\nmethods = ["darts"]\n[grid.set]\n"optimizer.options.nosuch" = 1\n',
    "option-type": SUITE_HEAD + '[[grid]]\nmethods = ["balenas"]\n[grid.set]\n"optimizer.options.samples" = "three"\n',
    "label": SUITE_HEAD + '[[grid]]\nmethods = ["darts"]\nlabel = "{nosuch}"\n',
    "no-grid": SUITE_HEAD,
    "unknown-method": SUITE_HEAD + '[[grid]]\nmethods = ["nope"]\n',
    "misspelt-reference-method": SUITE_HEAD + 'reference = "darts"\n[[grid]]\nmethods = ["dart"]\n',
    "needs-data-dir": SUITE_HEAD.replace("synthetic", "cifar10") + '[[grid]]\nmethods = ["darts"]\n',
    "valid": SUITE_HEAD + '[[grid]]\nmethods = ["darts"]\n',
    "threads-zero": SUITE_HEAD + '[suite.set]\nthreads = 0\n[[grid]]\nmethods = ["darts"]\n',
    "nosuch-section": SUITE_HEAD + '[suite.set]\n"nosuch.key" = 1\n[[grid]]\nmethods = ["darts"]\n',
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    paths = {name: root / name for name in ("missing", "out", "results", "empty", "plain-file", "garbage.csv",
                                             "table.csv", "bad-arch.csv", "cut.csv", "header.csv", "x.pth",
                                             "baseline.csv", "folder", "ragged.csv")}
    for folder in ("empty", "folder"):
        paths[folder].mkdir()
    paths["plain-file"].write_text("not a folder\n")
    paths["ragged.csv"].write_text("# a note\n\nlabel,method\nx,y,z,w\n")
    paths["garbage.csv"].write_bytes(b"\xff\xfe\x00\x81" * 64)
    rows = "".join(f"{i},{ARCH.replace('none~1', op + '~1')},{90 + i}\n"
                   for i, op in enumerate(["none", "skip_connect", "nor_conv_1x1"]))
    paths["table.csv"].write_text("index,arch_str,cifar10/test_acc\n" + rows)
    paths["bad-arch.csv"].write_text(f"arch_str,cifar10/test_acc\n{ARCH},93\nnot-an-arch,12\n|foo~0|+|,13\n")
    paths["cut.csv"].write_text(f"index,arch_str,cifar10/test_acc\n0,{ARCH},93.1\n1,|none~0|+|no")
    paths["header.csv"].write_text("index,arch_str,cifar10/test_acc\n")
    torch.save({"not": "the benchmark"}, paths["x.pth"])
    paths["baseline.csv"].write_text("label,method,space,dataset,seed,metric,value\n"
                                     "darts,darts,nb201,cifar10,0,cifar10/test_acc,90\n")
    paths["baseline-cut.csv"] = root / "baseline-cut.csv"
    paths["baseline-cut.csv"].write_text(paths["baseline.csv"].read_text() + "darts,darts,nb201,cifar10,1,cifar10/te")
    paths["baseline-extra.csv"] = root / "baseline-extra.csv"
    paths["baseline-extra.csv"].write_text(paths["baseline.csv"].read_text().replace(",90\n", ",90,extra\n"))
    for seed in range(3):
        write_run(paths["results"], "darts", seed, {"cifar10/test_acc": 90.0 + seed},
                  trajectory=[{"epoch": 1, "arch": ARCH, "skip_connect": 1, "cifar10/test_acc": 80.0}])
    for name, text in SUITES.items():
        paths[f"suite-{name}"] = root / f"{name}.toml"
        paths[f"suite-{name}"].write_text(text)
    paths["suite-garbage"] = root / "garbage.toml"
    paths["suite-garbage"].write_text("[suite\nname = ")
    return paths


RUN = ["run", "--results", "{out}"]
CASES: list[tuple[list[str], str]] = [
    # nasbench run: flags
    ([*RUN, "--epochs", "-1"], "search.epochs' = -1"),
    ([*RUN, "--epochs", "1000000"], "less than or equal to 10000"),
    ([*RUN, "--epochs", "abc"], "'--epochs': 'abc' is not a valid integer"),
    ([*RUN, "--epochs", "2.5"], "'--epochs'"),
    ([*RUN, "--threads", "0"], "'threads' = 0"),
    ([*RUN, "--executor", "local-gpus", "--executor-option", "device=[cpu]"],
     "unknown option 'device' (did you mean devices?); known: devices (set with --executor-option <name>=<value>)"),
    ([*RUN, "--executor", "local-gpus", "--executor-option", "devices=cpu"], "option 'devices' = 'cpu'"),
    ([*RUN, *TINY, "--executor", "local-gpus", "--executor-option", "devices=[nosuch]"],
     "devices: 'nosuch' is neither cpu nor the index of a visible GPU"),
    ([*RUN, *TINY, "--executor", "local-gpus", "--executor-option", "devices=[cpu,cuda:3]"],
     "devices: 'cuda:3' is neither cpu nor the index of a visible GPU"),
    ([*RUN, "--executor-option", "devices"], "--executor-option expects KEY=VALUE (e.g. max_retries=5)"),
    ([*RUN, *TINY, "--executor", "local-gpus", "--executor-option", "devices=[cpu]", "--workers", "2"],
     "--workers 2: the local-gpus executor places its seeds' processes itself"),
    (["suite", "{suite-no-grid}", "--executor-option", "retries"], "--executor-option expects KEY=VALUE"),
    ([*RUN, "--threads", "-2"], "'threads' = -2"),
    ([*RUN, "--threads", "many"], "'--threads'"),
    ([*RUN, "--seeds", "0-99999999999"], "at most 10000 per command"),
    ([*RUN, "--seeds", "x"], "--seeds 'x'"),
    ([*RUN, "--seeds", "-1"], "--seeds '-1'"),
    ([*RUN, "--seeds", "5-3"], "--seeds '5-3'"),
    ([*RUN, "--seeds", ","], "give at least one"),
    ([*RUN, "--seeds", "4294967296"], "seeds go up to 4294967295"),
    ([*RUN, "--seeds", "0,,x"], "--seeds '0,,x'"),
    ([*RUN, "--method", "nope"], "unknown method 'nope'"),
    ([*RUN, "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    ([*RUN, "--space", "nb999"], "unknown search space 'nb999'"),
    ([*RUN, "--selector", "nope"], "unknown selector 'nope'"),
    ([*RUN, "--benchmark", "nope"], "unknown benchmark 'nope'"),
    ([*RUN, "--set", "benchmarks.options.nosuchbench.x=1"],
     "benchmarks.options.nosuchbench: there is no benchmark 'nosuchbench'; known: darts-retrain, nb101, nb201, retrain"),
    ([*RUN, "--set", "benchmarks.options.nb101.file=3"],
     "benchmark nb101: option 'file' = 3: input should be a valid string (set with --set "
     "benchmarks.options.nb101.<option>=<value>)"),
    ([*RUN, "--set", "optimizer.options.lr=-1"], "(set with --set optimizer.options.<option>=<value>)"),
    ([*RUN, "--device", "tpu"], "expected auto, cpu, cuda or cuda:N"),
    ([*RUN, "--device", "cuda:x"], "cuda:x"),
    ([*RUN, "--dataset", "cifar10"], "needs --data-dir"),
    ([*RUN, "--dataset", "cifar10", "--data-dir", "{missing}"], "missing"),
    (["run", "--results", "{plain-file}"], "is a file; pass a folder"),
    (["run", "--results", "{plain-file}/below"], "cannot write"),
    ([*RUN, "--bogus"], "No such option '--bogus'"),
    ([*RUN, "--method"], "'--method' requires an argument"),
    # nasbench run: --set, the harness's settings
    ([*RUN, "--set", "search.epochs=abc"], "search.epochs' = 'abc'"),
    ([*RUN, "--set", "search.epochs=2.5"], "search.epochs' = 2.5"),
    ([*RUN, "--set", "search.batch_size=0"], "search.batch_size' = 0"),
    ([*RUN, "--set", "search.batch_size=-5"], "search.batch_size' = -5"),
    ([*RUN, "--set", "search.lr=-1"], "search.lr' = -1"),
    ([*RUN, "--set", "search.lr=0"], "search.lr' = 0"),
    ([*RUN, "--set", "search.lr=abc"], "search.lr' = 'abc'"),
    ([*RUN, "--set", "search.lr_min=-1"], "search.lr_min'"),
    ([*RUN, "--set", "search.momentum=1.5"], "search.momentum'"),
    ([*RUN, "--set", "search.momentum=-0.1"], "search.momentum'"),
    ([*RUN, "--set", "search.weight_decay=-1"], "search.weight_decay'"),
    ([*RUN, "--set", "search.grad_clip=0"], "search.grad_clip'"),
    ([*RUN, "--set", "search.eval_batch_size=0"], "search.eval_batch_size'"),
    ([*RUN, "--set", "search.eval_batches=0"], "search.eval_batches'"),
    ([*RUN, "--set", "search.max_steps_per_epoch=0"], "search.max_steps_per_epoch'"),
    ([*RUN, "--set", "search.amp=maybe"], "search.amp' = 'maybe': input should be a valid boolean (true or false)"),
    ([*RUN, "--set", "benchmarks.names=retrain"], "(--set takes JSON: --set 'benchmarks.names=[\"a\", \"b\"]')"),
    ([*RUN, "--set", "search.nosuch=1"], "unknown setting 'search.nosuch'; known in search: epochs"),
    ([*RUN, "--set", "search=5"], "setting 'search' must be a table"),
    ([*RUN, "--set", "search=[1]"], "setting 'search' must be a table"),
    ([*RUN, "--set", "nosuch.key=1"], "unknown setting 'nosuch'"),
    ([*RUN, "--set", "nosuch=1"], "unknown setting 'nosuch'"),
    ([*RUN, "--set", "label=5"], "setting 'label' = 5"),
    ([*RUN, "--set", "track_hessian=maybe"], "track_hessian"),
    ([*RUN, "--set", "threads=0"], "'threads' = 0"),
    ([*RUN, "--set", "=5"], "--set expects KEY=VALUE"),
    ([*RUN, "--set", "noequals"], "--set expects KEY=VALUE"),
    ([*RUN, "--set", "dataset=5"], "setting 'dataset' must be a table"),
    ([*RUN, "--set", "dataset.nosuch=1"], "unknown setting 'dataset.nosuch'"),
    ([*RUN, "--set", "dataset.name=5"], "unknown dataset '5'"),
    ([*RUN, "--set", "dataset.data_dir=5"], "dataset.data_dir' = 5"),
    ([*RUN, "--set", "space=5"], "setting 'space' must be a table"),
    ([*RUN, "--set", "space.options.C=0"], "search space nb201: option 'C' = 0"),
    ([*RUN, "--set", "space.options.C=abc"], "option 'C' = 'abc'"),
    ([*RUN, "--set", "space.options.nosuch=1"], "unknown option 'nosuch'"),
    ([*RUN, "--set", "space.options=5"], "space.options' = 5: input should be a valid dictionary"),
    # nasbench run: plugins' options
    ([*RUN, "--set", "optimizer.options.nosuch=1"], "optimizer balenas: unknown option 'nosuch'"),
    ([*RUN, "--method", "darts", "--set", "optimizer.options.nosuch=1"], "optimizer darts: unknown option 'nosuch'"),
    ([*RUN, "--method", "darts", "--set", "optimizer.options.lr=abc"], "option 'lr' = 'abc'"),
    ([*RUN, "--method", "darts", "--set", "optimizer.options.lr=-1"], "option 'lr' = -1"),
    ([*RUN, "--set", "optimizer.options.lr=inf"], "option 'lr' = 'inf': input should be a finite number"),
    ([*RUN, "--method", "darts", "--set", "optimizer.options.betas=[0.5,2]"],
     "option 'betas.1' = 2: input should be less than 1"),
    ([*RUN, "--set", "optimizer.options.betas=[-0.1,0.9]"], "option 'betas.0' = -0.1: input should be greater than"),
    ([*RUN, "--method", "darts", "--set", "optimizer.options.order=3"], "option 'order' = 3"),
    ([*RUN, "--set", "optimizer.options.samples=0"], "option 'samples' = 0"),
    ([*RUN, "--set", "optimizer.options=5"], "optimizer.options' = 5: input should be a valid dictionary"),
    ([*RUN, "--set", "optimizer=5"], "setting 'optimizer' must be a table"),
    ([*RUN, "--set", "optimizer.name=nosuch"], "unknown optimizer 'nosuch'"),
    ([*RUN, "--set", "selector.name=nosuch"], "unknown selector 'nosuch'"),
    ([*RUN, "--set", "seed=5"], "'seed' is not a --set setting: use --seeds (in a suite file: seeds = ...)"),
    ([*RUN, "--set", "method=foo"], "'method' is not a --set setting: use --method"),
    ([*RUN, "--set", "device=cpu"], "'device' is not a --set setting: use --device"),
    ([*RUN, "--set", "selector.options.nosuch=1"], "selector argmax: takes no options"),
    ([*RUN, "--selector", "proxy", "--set", "selector.options.k=0"], "option 'k' = 0"),
    ([*RUN, "--selector", "proxy", "--set", "selector.options.proxy=nosuch"],
     "option 'proxy' = 'nosuch': unknown proxy 'nosuch'; known: grasp, snip, synflow"),
    ([*RUN, "--set", "benchmarks.names=retrain"], "benchmarks.names"),
    ([*RUN, "--set", "benchmarks.names=[5]"], "benchmarks.names"),
    ([*RUN, "--set", "benchmarks.options=5"], "benchmarks.options"),
    ([*RUN, "--set", "benchmarks.options.retrain.epochs=0"], "benchmark retrain: option 'epochs' = 0"),
    ([*RUN, "--set", "benchmarks.options.retrain.nosuch=1"], "benchmark retrain: unknown option 'nosuch'"),
    # nasbench run: benchmark files (found when the run starts)
    ([*RUN, *TINY, "--benchmark", "nb201", "--benchmark-file", "{missing}"], "does not exist"),
    ([*RUN, "--benchmark", "retrain", "--benchmark-file", "{table.csv}"], "no benchmark of this run reads a file (retrain)"),
    ([*RUN, *TINY, "--benchmark", "nb201", "--benchmark-file", "{folder}"], "is a folder, not a file"),
    ([*RUN, *TINY, "--benchmark", "nb201", "--benchmark-file", "{garbage.csv}"], "cannot read benchmark table"),
    ([*RUN, *TINY, "--benchmark", "nb201", "--benchmark-file", "{x.pth}"], "benchmarks.options.nb201.trust=true"),
    # nasbench query
    (["query", "²", "--benchmark-file", "{table.csv}"], "'²'"),
    (["query", "99999", "--benchmark-file", "{table.csv}"], "index 99999 is not in the benchmark table"),
    (["query", "|bogus~0|", "--benchmark-file", "{table.csv}"], "|bogus~0|"),
    (["query", "", "--benchmark-file", "{table.csv}"], "NB201"),
    (["query", "1", "--benchmark-file", "{garbage.csv}"], "cannot read benchmark table"),
    (["query", "1", "--benchmark-file", "{x.pth}"], "pass --trust (nasbench query"),
    (["query", "1", "--benchmark-file", "{missing}"], "does not exist"),
    (["query", "1", "--benchmark-file", "{folder}"], "is a folder"),
    (["query", "1", "--space", "nope"], "unknown search space 'nope'"),
    (["query", "1", "--benchmark", "nope"], "unknown benchmark 'nope'"),
    (["query", "1", "--benchmark", "retrain"], "no architecture index"),
    (["query"], "Missing argument 'ARCH'"),
    # nasbench table
    (["table", "{missing}"], "does not exist"),
    (["table", "{plain-file}"], "is a file; pass a results folder"),
    (["table", "{empty}"], "no run records"),
    (["table", "{results}", "--format", "nope"], "'--format'"),
    (["table", "{results}", "--vs", "nosuch"], "nosuch"),
    (["table", "{results}", "--metrics", "nosuch/metric"], "nosuch/metric"),
    (["table", "{results}", "--benchmark-file", "{garbage.csv}"], "cannot read benchmark table"),
    (["table", "{results}", "--benchmark-file", "{missing}"], "does not exist"),
    (["table", "{results}", "--output", "{plain-file}/table.md"], "cannot write"),
    # nasbench regress
    (["regress", "{results}", "--baseline", "{missing}"], "does not exist"),
    (["regress", "{results}", "--baseline", "{garbage.csv}"], "is not a readable CSV"),
    (["regress", "{results}", "--baseline", "{table.csv}"], "lacks columns"),
    (["regress", "{results}", "--baseline", "{ragged.csv}"], "is not a readable CSV (Error tokenizing data"),
    (["regress", "{results}", "--baseline", "{baseline-cut.csv}"], "is cut off (its last line has no end)"),
    (["regress", "{results}", "--baseline", "{baseline-extra.csv}"],
     "has rows [2] with another number of fields than its header"),
    (["regress", "{empty}", "--baseline", "{baseline.csv}"], "no run records under"),
    (["regress", "{results}", "--baseline", "{baseline.csv}", "--tolerance", "-1"], "--tolerance must be"),
    (["regress", "{results}", "--baseline", "{baseline.csv}", "--tolerance", "nan"], "--tolerance must be"),
    (["regress", "{results}", "--baseline", "{folder}"], "is a folder; pass the baseline CSV"),
    (["regress", "{results}", "--baseline", "{baseline.csv}", "--alpha", "2"], "--alpha in (0, 1)"),
    (["regress", "{missing}", "--baseline", "{baseline.csv}"], "does not exist"),
    (["regress", "{results}"], "Missing option '--baseline'"),
    # nasbench plot
    (["plot", "{missing}"], "does not exist"),
    (["plot", "{empty}"], "no readable trajectories"),
    (["plot", "{plain-file}"], "is a file"),
    (["plot", "{results}", "--format", "gif"], "unknown plot format(s) gif"),
    (["plot", "{results}", "--metric", "nosuch/metric", "--output-dir", "{out}"], "nosuch/metric"),
    # nasbench suite
    (["suite", "{missing}"], "not found"),
    (["suite", "{folder}"], "is a folder; pass a suite file"),
    (["suite", "{suite-garbage}"], "is not valid TOML"),
    *[(["suite", f"{{suite-{name}}}", "--dry-run"], fragment) for name, fragment in [
        ("seeds-string", "suite.seeds must be"), ("seeds-repeated", "suite.seeds has seed 0 given more than once"),
        ("epochs-string", "search.epochs' = 'abc'"),
        ("batch-zero", "search.batch_size' = 0"), ("lr-negative", "search.lr' = -1"),
        ("search-number", "setting 'search' must be a table"), ("methods-string", "methods must be a non-empty list"),
        ("unknown-key", "unknown key(s) typo"), ("option-unknown", "unknown option 'nosuch'"),
        ("option-type", "option 'samples' = 'three'"), ("label", "cannot be filled"),
        ("no-grid", "add at least one [[grid]]"), ("unknown-method", "unknown method 'nope'"),
        ("misspelt-reference-method", "unknown method 'dart'"),
        ("threads-zero", "'threads' = 0"), ("nosuch-section", "unknown setting 'nosuch'")]],
    (["suite", "{suite-batch-zero}"], "search.batch_size' = 0"),
    (["suite", "{suite-option-unknown}", "--seeds", "x"], "--seeds 'x'"),
    (["suite", "{suite-lr-negative}", "--set", "search=5", "--dry-run"], "setting 'search' must be a table"),
    (["suite", "{suite-valid}", "--device", "cuda:99"], "--device cuda:99"),
    (["suite", "{suite-valid}", "--dry-run", "--device", "gpu"], "--device gpu: expected auto, cpu, cuda or cuda:N"),
    ([*RUN, "--device", "cuda:x"], "--device cuda:x: expected auto, cpu, cuda or cuda:N"),
    (["suite", "{suite-needs-data-dir}"], "dataset cifar10 needs --data-dir"),
    # nasbench benchmark
    (["benchmark", "import", "{missing}"], "does not exist"),
    (["benchmark", "import", "{folder}"], "is a folder; give the benchmark file itself"),
    (["benchmark", "import", "{garbage.csv}"], "cannot read benchmark table"),
    (["benchmark", "import", "{bad-arch.csv}"], "2 row(s) hold no valid NAS-Bench-201 architecture string"),
    (["benchmark", "import", "{cut.csv}"], "does not end with a line break, so its last line may be cut off"),
    (["benchmark", "import", "{header.csv}"], "has a header but no architectures"),
    (["benchmark", "import", "{x.pth}"], "--trust"),
    (["benchmark", "import", "{table.csv}", "--name", "nope"], "cannot import benchmark 'nope'"),
    (["benchmark", "info", "--benchmark-file", "{garbage.csv}"], "cannot read benchmark table"),
    (["benchmark", "info", "--name", "nb101"], "does not serve benchmark 'nb101'; known: nb201. Other benchmarks bring their own commands"),
    (["benchmark", "nosuch"], "No such command 'nosuch'"),
    # nasbench proxies correlate
    (["proxies", "correlate", "--device", "tpu"], "--device tpu"),
    (["proxies", "correlate", "--proxy", "nope", "--benchmark-file", "{table.csv}"], "unknown proxy 'nope'"),
    (["proxies", "correlate", "--proxy", ",", "--benchmark-file", "{table.csv}"], "give at least one proxy"),
    (["proxies", "correlate", "--proxy", "synflow", "--benchmark-file", "{garbage.csv}"], "cannot read benchmark table"),
    (["proxies", "correlate", "--samples", "x"], "'--samples'"),
    (["proxies", "correlate", "--space", "nope"], "unknown search space 'nope'"),
    (["proxies", "correlate", "--batch-size", "0"], "'--batch-size': 0 is not in the range x>=1"),
    (["proxies", "correlate", "--batch-size", "-1"], "'--batch-size': -1 is not in the range x>=1"),
    (["proxies", "correlate", "--seed", "-1"], "'--seed': -1 is not in the range 0<=x<=4294967295"),
    (["proxies", "correlate", "--seed", "99999999999999999999999"], "is not in the range 0<=x<=4294967295"),
    (["proxies", "correlate", "--output", "{plain-file}/x.csv"], "a file stands where a folder should be"),
    (["proxies", "correlate", "--space", "nb101", "--channels", "8"], "--channels 8: the nb101 space has no option C"),
    (["proxies", "correlate", "--cells", "0"], "search space nb201: option 'N' = 0"),
    # nasbench bench
    (["bench", "--device", "cpu", "--resolution", "0"], "bench needs --resolution ≥ 1"),
    (["bench", "--device", "cpu", "--resolution", "-5"], "bench needs --resolution ≥ 1"),
    (["bench", "--threads", "0"], "'--threads': 0 is not in the range x>=1"),
    (["bench", "--threads", "-1"], "'--threads': -1 is not in the range x>=1"),
    # the command line itself
    (["list", "nosuch"], "'nosuch' is not one of"),
    (["nosuch"], "No such command 'nosuch'"),
    (["--bogus"], "No such option '--bogus'"),
]


def fill(arg: str, places: dict[str, str]) -> str:
    for name, path in places.items():
        arg = arg.replace(f"{{{name}}}", path)
    return arg


def test_the_table_has_at_least_a_hundred_inputs():
    assert len(CASES) >= 100


@pytest.mark.parametrize("args, fragment", CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_bad_input_is_exit_2_and_one_error_line(files, tmp_path, args, fragment):
    places = {name: str(path) for name, path in files.items()}
    places["out"] = str(tmp_path / "out")
    result = CliRunner().invoke(build_cli(), [fill(arg, places) for arg in args])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0]
    assert not list((tmp_path / "out").rglob("seed-*")), "a stopped command left a run folder"


def test_a_benchmark_file_goes_only_to_the_benchmarks_that_read_one():
    config = user_config_from_options(None, None, None, ("retrain", "nb201?"), "t.csv", None, None, False, False, ())
    assert config["benchmarks"] == {"names": ["retrain", "nb201?"], "options": {"nb201": {"file": "t.csv"}}}

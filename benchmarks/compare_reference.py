"""Our DARTS search step against the NB201 authors' reference, side by side on the same batches.

The reference is D-X-Y/AutoDL-Projects' ``TinyNetworkDarts`` with the step of its
``exps/algos/DARTS-V1.py`` ``search_func`` (weight step: forward, backward, clip 5, SGD;
then architecture step: forward, backward, Adam), from PyPI's ``xautodl``::

    .venv/bin/python -m pip install --no-deps xautodl
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compare_reference.py --threads 1

Ours is ``Trainer.search_step`` of ``nasbench bench`` (architecture step, then weight
step) with the ``darts`` method. Both get the same normalized batches; rounds alternate
(ours, reference, ours, ...) so that a machine whose speed drifts hurts both alike, and the
speed-up is the median of the per-round ratios.

The networks match except that the reference's supernet convolutions carry a bias
(``bias=not affine``), which the following BatchNorm cancels: 1,692,826 weights against
our 1,686,106 at C=16, N=5 (100,050 against 99,378 at C=8, N=1).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from harness import UserError, get_plugins, resolve_device
from harness.experiment.bench import bench_trainer
from harness.experiment.checks import resolve_config

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def reference_step(C: int, N: int, device: torch.device):
    """A closure doing one DARTS-V1 step of the reference on (train batch, valid batch)."""
    try:
        from xautodl.models.cell_searchs.search_model_darts import TinyNetworkDarts
    except ImportError:
        sys.exit("the reference is not installed: .venv/bin/python -m pip install --no-deps xautodl")
    network = TinyNetworkDarts(C, N, 4, 10, NB201_OPS, False, True).to(device)
    w_optimizer = torch.optim.SGD(network.get_weights(), lr=0.025, momentum=0.9, weight_decay=5e-4, nesterov=True)
    a_optimizer = torch.optim.Adam(network.get_alphas(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    criterion = torch.nn.CrossEntropyLoss()
    network.train()

    def step(train, valid) -> None:
        w_optimizer.zero_grad()
        _, logits = network(train[0])
        criterion(logits, train[1]).backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 5)
        w_optimizer.step()
        a_optimizer.zero_grad()
        _, logits = network(valid[0])
        criterion(logits, valid[1]).backward()
        a_optimizer.step()

    return step


def timed(step, batches, steps: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(*batches)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def compare(C: int, N: int, resolution: int, batch: int, steps: int, rounds: int, device: torch.device,
            cell: str, search: dict[str, object]) -> dict[str, float]:
    plugins = get_plugins()
    config = resolve_config(plugins, "darts", "cifar10", {"space": {"options": {"C": C, "N": N, "cell": cell}},
                                                          "search": {"batch_size": batch, **search}})
    with tempfile.TemporaryDirectory() as folder:
        trainer = bench_trainer(plugins, config, resolution, device, 0, batch, Path(folder))
        trainer.supernet.train()
        batches = (next(trainer.train_stream), next(trainer.valid_stream))
        ours = trainer.search_step
        reference = reference_step(C, N, device)
        for _ in range(4):  # warm-up; with search.cuda_graphs the fourth call captures the step
            ours(*batches)
        reference(*batches)
        mine, theirs = [], []
        for _ in range(rounds):
            mine.append(timed(ours, batches, steps, device))
            theirs.append(timed(reference, batches, steps, device))
    ratios = [t / m for m, t in zip(mine, theirs)]
    return {"ours_s": statistics.median(mine), "reference_s": statistics.median(theirs),
            "speedup": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="8,1,8;16,5,32", help="C,N,resolution triples separated by ';'")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median reported)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cell", default="fused", choices=["fused", "per_op"], help="our supernet cell")
    parser.add_argument("--channels-last", action="store_true", help="our search.channels_last")
    parser.add_argument("--amp", action="store_true", help="our search.amp (bfloat16 autocast)")
    parser.add_argument("--cuda-graphs", action="store_true", help="our search.cuda_graphs (CUDA only)")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="our search.cudnn_benchmark (process-wide, so the reference's convolutions get it too)")
    parser.add_argument("--compile", default=None, metavar="BACKEND", help="our search.compile (e.g. inductor)")
    parser.add_argument("--compile-mode", default=None, metavar="MODE",
                        help="our search.compile_mode (e.g. max-autotune-no-cudagraphs)")
    parser.add_argument("--compile-options", default=None, metavar="JSON", type=json.loads,
                        help='our search.compile_options, e.g. \'{"cpp_wrapper": true, "cpp": {"simdlen": 256}}\'')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch}, cell {args.cell}, "
          f"channels_last {args.channels_last}, amp {args.amp}, cuda_graphs {args.cuda_graphs}, "
          f"cudnn_benchmark {args.cudnn_benchmark}, compile {args.compile}"
          f"{f' ({args.compile_mode})' if args.compile_mode else ''}"
          f"{f' {args.compile_options}' if args.compile_options else ''}, "
          f"{args.rounds} rounds x {args.steps} steps")
    print("| C | N | image | ours (s/step) | reference (s/step) | speed-up |")
    print("|---|---|---|---|---|---|")
    for triple in args.configs.split(";"):
        C, N, resolution = (int(v) for v in triple.split(","))
        search = {"channels_last": args.channels_last, "amp": args.amp, "cuda_graphs": args.cuda_graphs,
                  "cudnn_benchmark": args.cudnn_benchmark, "compile": args.compile,
                  "compile_mode": args.compile_mode, "compile_options": args.compile_options}
        try:
            result = compare(C, N, resolution, args.batch, args.steps, args.rounds, device, args.cell, search)
        except UserError as error:
            sys.exit(f"Error: {error}")
        print(f"| {C} | {N} | {resolution}x{resolution} | {result['ours_s']:.4f} | {result['reference_s']:.4f} "
              f"| {result['speedup']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()

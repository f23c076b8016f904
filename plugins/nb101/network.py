"""The stand-alone NB101 network, built by ``nasbench_pytorch.model.Network``.

NB101's skeleton (Ying et al. 2019, Fig. 1): a 3×3 conv-BN-ReLU stem with 128 channels,
3 stacks of 3 cells, 2×2 max-pool halving the image and doubling the channels between
stacks, global average pool, linear classifier. BatchNorm momentum: NB101 used TF's
decay 0.997, i.e. PyTorch momentum 1 − 0.997 = 0.003 (``nasbench_pytorch`` passes its
``momentum`` straight to ``nn.BatchNorm2d``, whose meaning is the complement), eps 1e-5.
"""
from __future__ import annotations

from torch import nn

from harness import DatasetInfo, UserError
from plugins.nb101.options import NB101NetworkOptions
from plugins.nb101.spec import Spec

TF_BN_DECAY = 0.997


def build_nb101_network(spec: Spec, dataset: DatasetInfo, options: NB101NetworkOptions) -> nn.Module:
    """``nasbench_pytorch``'s ``Network`` of the pruned ``spec``."""
    try:
        from nasbench_pytorch.model import ModelSpec, Network
    except ImportError:
        raise UserError("NB101 networks need nasbench-pytorch: pip install nasbench-pytorch") from None
    pruned = spec.checked()
    halvings = options.stacks - 1
    if dataset.image_size % (2 ** halvings):
        raise UserError(f"an NB101 network with {options.stacks} stacks halves the image {halvings} times; "
                        f"dataset {dataset.name} has size {dataset.image_size}")
    model_spec = ModelSpec(pruned.array, list(pruned.ops))
    return Network(model_spec, num_labels=dataset.num_classes, in_channels=dataset.channels,
                   stem_out_channels=options.stem_channels, num_stacks=options.stacks,
                   num_modules_per_stack=options.cells_per_stack, momentum=1 - TF_BN_DECAY, eps=1e-5)

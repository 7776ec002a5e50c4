"""Parameter count, multiply-adds and output strides of a backbone, measured on one real forward pass."""

from typing import NamedTuple

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


class Complexity(NamedTuple):
    params: int  # trainable and frozen parameters
    macs: int  # multiply-adds of convs and matmuls: what the paper's Table 5 calls FLOPs
    strides: tuple[int, ...]  # input size / output size of each returned feature map
    channels: tuple[int, ...]


@torch.no_grad()
def measure(model: nn.Module, image_size: int = 224, in_channels: int = 3) -> Complexity:
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter:
        outs = model(torch.zeros(1, in_channels, image_size, image_size))
    model.train(was_training)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    return Complexity(
        params=sum(p.numel() for p in model.parameters()),
        macs=counter.get_total_flops() // 2,  # torch counts a multiply-add as 2 FLOPs
        strides=tuple(image_size // o.shape[-1] for o in outs),
        channels=tuple(o.shape[1] for o in outs),
    )

"""Imported by a test config (`custom_imports`) before the Runner builds the model: the run computes in float64.

Where a test compares two runs that differ only in the order of their float sums (one process against two), float32
noise depends on the CPU's kernels (oneDNN's AVX-512 and AVX2 convolutions round differently, and an AVX2 one
differently for a batch of 16 than of 32). float64 runs ATen's own kernels and rounds 2**29 times finer, so such a
gap falls far below anything a real difference between the runs would leave."""

import torch

torch.set_default_dtype(torch.float64)

"""Optimiser wrappers for the paper's efficient-training tricks, on any device, and NFNet's adaptive gradient clipping.

- `tricks.OptimWrapper`: mmengine's wrapper, plus `clip_grad=dict(type='agc', clipping=λ, eps=1e-3)`.
- `tricks.AmpOptimWrapper`: mmengine's AMP wrapper (loss scaling, scaler state in `state_dict`) without its
  accelerator-only assertion: fp16 scales the loss with `torch.amp.GradScaler(device)`, bf16 needs no scaler, and
  autocast runs on the device of the parameters, so the same config trains on a CPU or a GPU. AGC is the same clip
  mode as above; mmengine unscales the gradients before clipping, so AGC compares unscaled gradients with the weights.
- `tricks.ParamwiseOptimWrapperConstructor`: mmengine's constructor, plus per-parameter flags such as `agc=False`
  (NFNets do not clip the classifier) that leave the no-bias-decay rules in force.
"""

import logging
import time
from collections.abc import Iterable
from contextlib import contextmanager
from functools import cache

import torch
import torch.nn as nn
from mmengine import optim as mmengine_optim
from mmengine.logging import print_log

from backbones.errors import ArgError, ArgTypeError
from backbones.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS

AGC_CLIPPED_FRACTION = 'train/agc_clipped_fraction'  # message-hub scalar: the share of units AGC clipped this step
AMP_DTYPES = ('float16', 'bfloat16', 'float32')


@cache
def cpu_precision() -> dict:
    """What this CPU runs natively, as torch reports it: the ATen kernels' capability and whether bf16 / fp16 matrix
    work is native.

    bf16 is native where oneDNN supports it (its effective ISA, which `ONEDNN_MAX_CPU_ISA` caps), ATen dispatches
    AVX-512 kernels (`ATEN_CPU_CAPABILITY` caps that) and the CPU has bf16 dot products (AVX512_BF16 or AMX tiles).
    fp16 likewise with AMX-FP16. Elsewhere autocast emulates them: on an AVX2 CPU a bf16 step runs about 10x the
    time of an fp32 one (docs/benchmarks.md). The two variables make an AVX-512 machine decide as an AVX2 one does.
    """
    capability = torch.backends.cpu.get_cpu_capability()
    avx512 = capability.startswith('AVX512')
    return dict(
        capability=capability,
        bfloat16=avx512
        and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()),
        float16=avx512 and torch.ops.mkldnn._is_mkldnn_fp16_supported() and torch.cpu._is_amx_fp16_supported(),
    )


def dtype_name(dtype: torch.dtype) -> str:
    """'bfloat16' for torch.bfloat16: the name configs, cards and reports use."""
    return str(dtype).removeprefix('torch.')


def resolve_amp_dtype(dtype: str | torch.dtype | None, device_type: str) -> torch.dtype:
    """The one AMP rule: a named dtype as asked; None is the fastest precision the device runs natively: fp16 (with
    loss scaling) on CUDA as the paper trains, bf16 on a CPU with native bf16 (`cpu_precision`), else fp32."""
    if dtype is None:
        if device_type == 'cpu':
            return torch.bfloat16 if cpu_precision()['bfloat16'] else torch.float32
        return torch.get_autocast_dtype(device_type)
    if isinstance(dtype, str):
        if dtype not in AMP_DTYPES:
            raise ArgError(f'AmpOptimWrapper: dtype {dtype!r}; expected one of {", ".join(AMP_DTYPES)} or None')
        return getattr(torch, dtype)
    return dtype


def precision_of(optim_wrapper: dict, device_type: str) -> str:
    """The precision a config's optim wrapper trains in on `device_type`, by the rule above: an AMP wrapper's
    resolved dtype, any other wrapper's fp32."""
    if not str(optim_wrapper.get('type', '')).endswith('AmpOptimWrapper'):
        return 'float32'
    return dtype_name(resolve_amp_dtype(optim_wrapper.get('dtype'), device_type))


@cache
def probe_step_time(dtype: torch.dtype, repeats: int = 2) -> float:
    """Seconds of a small conv-BN-ReLU-conv-BN training step on the CPU under autocast in `dtype` (fp32: autocast
    off), the fastest of `repeats` after a warm-up; once per process and dtype."""
    channels = 32
    net = nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    ).to(memory_format=torch.channels_last)
    inputs = torch.randn(8, channels, 16, 16).contiguous(memory_format=torch.channels_last)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        with torch.autocast('cpu', dtype=dtype, enabled=dtype != torch.float32):
            loss = net(inputs).float().square().mean()
        loss.backward()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def warn_if_emulated(dtype: torch.dtype) -> None:
    """One line where a reduced precision asked for by name is not native on this CPU: it runs, emulated, and the
    line says how much slower, from a probe step timed here in both precisions."""
    name = dtype_name(dtype)
    if dtype == torch.float32 or cpu_precision()[name]:
        return
    slowdown = probe_step_time(dtype) / probe_step_time(torch.float32)
    print_log(
        f'{name} is not native on this CPU (capability {cpu_precision()["capability"]}): autocast emulates it, and a '
        f'probe conv step took {slowdown:.1f}x the time of fp32 here; dtype=None (--amp auto) trains in '
        f'{dtype_name(resolve_amp_dtype(None, "cpu"))}',
        logger='current',
        level=logging.WARNING,
    )


def unitwise_norm(x: torch.Tensor) -> torch.Tensor:
    """L2 norm per unit, as timm's `unitwise_norm`: over the whole tensor for 1-D ones (biases, gains), else per
    output unit, i.e. over every dim but the first (a conv's output filters, a linear weight's rows)."""
    if x.ndim <= 1:
        return torch.linalg.vector_norm(x)
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.ndim)), keepdim=True)


@torch.no_grad()
def adaptive_clip_grad_(params: Iterable[torch.Tensor], clipping: float, eps: float = 1e-3) -> torch.Tensor:
    """AGC (Brock et al. 2021) in place: a unit's gradient G_i with ‖G_i‖ > λ·max(‖W_i‖, ε) is rescaled to that norm.

    Returns the fraction of units clipped (a tensor, so that nothing waits for the device here).
    """
    clipped, units = torch.zeros(()), 0
    for param in params:
        if param.grad is None:
            continue
        max_norm = unitwise_norm(param).clamp(min=eps).mul_(clipping)
        grad_norm = unitwise_norm(param.grad)
        too_large = grad_norm > max_norm
        # The 1e-6 floor is timm's; it keeps results identical to `timm.utils.adaptive_clip_grad`.
        param.grad.mul_(torch.where(too_large, max_norm / grad_norm.clamp(min=1e-6), 1.0))
        clipped = clipped + too_large.sum()  # a 0-dim CPU tensor adds to one on any device
        units += too_large.numel()
    return clipped / max(units, 1)


@OPTIM_WRAPPERS.register_module(name='OptimWrapper')
class OptimWrapper(mmengine_optim.OptimWrapper):
    """mmengine's OptimWrapper with one more clip mode, `clip_grad=dict(type='agc', clipping=λ, eps=1e-3)`.

    mmengine's `__init__` accepts only 'norm' and 'value', so AGC settings are kept apart from it. Parameters of
    param groups marked `agc=False` (see `ParamwiseOptimWrapperConstructor`) are not clipped.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, accumulative_counts: int = 1, clip_grad: dict | None = None):
        self.agc = clip_grad is not None and clip_grad.get('type') == 'agc'
        super().__init__(optimizer, accumulative_counts, None if self.agc else clip_grad)
        if self.agc:
            # Non-empty, so that mmengine's `step` (here and in AmpOptimWrapper) calls `_clip_grad`.
            self.clip_grad_kwargs = self._agc_settings(**{k: v for k, v in clip_grad.items() if k != 'type'})

    @staticmethod
    def _agc_settings(clipping: float, eps: float = 1e-3) -> dict:
        """The AGC keys, checked by this signature: λ is required, ε defaults to the paper's 1e-3."""
        return dict(clipping=clipping, eps=eps)

    def _clip_grad(self) -> None:
        if not self.agc:
            return super()._clip_grad()
        params = [p for group in self.optimizer.param_groups if group.get('agc', True) for p in group['params']]
        fraction = adaptive_clip_grad_(params, **self.clip_grad_kwargs)
        self.message_hub.update_scalar(AGC_CLIPPED_FRACTION, float(fraction))

    def trick_card(self) -> dict:
        """The optimiser as it trains: type, base lr after linear scaling (`initial_lr`, before the schedulers),
        momentum, weight decay, whether 1-D parameters (biases, norms) are exempt from it, clipping, precision."""
        groups = self.optimizer.param_groups
        first = groups[0]
        weight_decay = max(group.get('weight_decay', 0.0) for group in groups)
        one_d_decays = {group.get('weight_decay', 0.0) for group in groups for p in group['params'] if p.ndim <= 1}
        clip = None
        if self.agc:
            clip = dict(type='agc', **self.clip_grad_kwargs)
        elif self.clip_grad_kwargs:
            clip = dict(type=self.grad_name.removeprefix('grad_'), **self.clip_grad_kwargs)
        return dict(
            optimizer=type(self.optimizer).__name__,
            lr=first.get('initial_lr', first['lr']),
            momentum=first.get('momentum'),
            nesterov=first.get('nesterov', False),
            weight_decay=weight_decay,
            no_bias_decay=weight_decay > 0 and one_d_decays == {0.0},
            accumulative_counts=self._accumulative_counts,
            clip=clip,
            amp=dtype_name(self.cast_dtype) if hasattr(self, 'cast_dtype') else None,
        )


@OPTIM_WRAPPERS.register_module(name='AmpOptimWrapper')
class AmpOptimWrapper(mmengine_optim.AmpOptimWrapper, OptimWrapper):
    """mmengine's AmpOptimWrapper (same arguments, `backward`/`step`/`state_dict` unchanged) on CPU as well as CUDA.

    `dtype='float16'` scales the loss dynamically ('dynamic'), statically (a float) or as configured (a dict of
    `torch.amp.GradScaler` arguments); 'bfloat16' and 'float32' keep a disabled scaler, which makes mmengine's
    `backward`/`step` plain ones and saves no scaler state. `dtype=None` follows `resolve_amp_dtype` (float16 on CUDA,
    bfloat16 on a CPU with native bf16, else float32, with autocast off). A reduced dtype named on a CPU that only
    emulates it trains after one warning line. The device is that of the optimiser's parameters when the wrapper is
    built.
    """

    def __init__(
        self,
        loss_scale: str | float | dict = 'dynamic',
        dtype: str | torch.dtype | None = None,
        use_fsdp: bool = False,
        **kwargs,
    ):
        # mmengine's __init__ asserts that CUDA/NPU/MLU/MUSA is available and builds a CUDA-only scaler: skip it in
        # the MRO (straight to our OptimWrapper, which parses `clip_grad`) and build the scaler for the real device.
        super(mmengine_optim.AmpOptimWrapper, self).__init__(**kwargs)
        self.device_type = self.optimizer.param_groups[0]['params'][0].device.type
        self.cast_dtype = resolve_amp_dtype(dtype, self.device_type)
        if self.device_type == 'cpu' and dtype is not None:
            warn_if_emulated(self.cast_dtype)

        self._scale_update_param = None
        if loss_scale == 'dynamic':
            scaler_kwargs = {}
        elif isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            scaler_kwargs = dict(init_scale=loss_scale)
        elif isinstance(loss_scale, dict):
            scaler_kwargs = loss_scale
        else:
            raise ArgTypeError(f'loss_scale must be of type float, dict, or "dynamic", but got {loss_scale}')
        if use_fsdp:
            from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler as scaler_type
        else:
            scaler_type = torch.amp.GradScaler
        self.loss_scaler = scaler_type(self.device_type, enabled=self.cast_dtype == torch.float16, **scaler_kwargs)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-sync control as in OptimWrapper, and `torch.autocast` on the parameters' device (mmengine's own
        autocast accepts only bfloat16 on CPU); off for float32."""
        with (
            super(mmengine_optim.AmpOptimWrapper, self).optim_context(model),
            torch.autocast(self.device_type, dtype=self.cast_dtype, enabled=self.cast_dtype != torch.float32),
        ):
            yield


MULTIPLIER_KEYS = ('lr_mult', 'decay_mult')  # what mmengine's constructor makes of a `custom_keys` entry


def _select(custom_keys: dict, wanted) -> dict:
    """`custom_keys` reduced to the settings whose name is `wanted`, dropping the keys left with none."""
    return {
        key: picked for key, entry in custom_keys.items() if (picked := {k: v for k, v in entry.items() if wanted(k)})
    }


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(name='ParamwiseOptimWrapperConstructor')
class ParamwiseOptimWrapperConstructor(mmengine_optim.DefaultOptimWrapperConstructor):
    """mmengine's constructor, where `custom_keys` entries may also carry flags for the param groups, e.g.
    `paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., custom_keys={'head': dict(agc=False)})`.

    A parameter that matches one of mmengine's `custom_keys` skips every other rule, so `'head': dict(agc=False)`
    given to mmengine would put weight decay back on the head's bias. Here an entry's `lr_mult`/`decay_mult` keep
    mmengine's meaning, and its other keys are flags: copied into the group of each parameter whose name (as
    `named_parameters` gives it) contains the key, longest key first as in mmengine, after all other rules ran.
    The wrapper type defaults to `tricks.OptimWrapper`, which understands `agc`.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        custom_keys = paramwise_cfg.get('custom_keys', {})
        self.flags = _select(custom_keys, lambda k: k not in MULTIPLIER_KEYS)
        if custom_keys:
            paramwise_cfg['custom_keys'] = _select(custom_keys, lambda k: k in MULTIPLIER_KEYS)
        super().__init__({'type': 'tricks.OptimWrapper', **optim_wrapper_cfg}, paramwise_cfg)

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '', is_dcn_module=None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix:  # mmengine recursing into a child: the call on the whole model flags every group at once
            return
        names = {param: name for name, param in module.named_parameters()}
        keys = sorted(sorted(self.flags), key=len, reverse=True)
        for group in params:
            name = names[group['params'][0]]
            group.update(next((self.flags[key] for key in keys if key in name), {}))

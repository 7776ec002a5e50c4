"""Faster R-CNN under autocast on a CPU (`--amp fp16|bf16`). mmcv 2.1's compiled CPU kernels: nms takes float32
only (the run stopped in the RPN: `expected scalar type Float but found Half`), RoIAlign has no bfloat16 kernel
(`"ROIAlign_forward" not implemented for 'BFloat16'`); their CUDA kernels take both. On a CPU these two compute in
float32 here, as torch's autocast does for the ops on its float32 list: nms, under autocast, through
`torch.amp.custom_fwd(cast_inputs=float32)` (it returns indices); RoIAlign, for bfloat16 features, returning them
in bfloat16, which mmdet's RoI extractor writes into a tensor of that dtype. CUDA and other dtypes take mmcv's own
code. Importing `det` applies it."""

import torch
from mmcv.ops.nms import NMSop
from mmcv.ops.roi_align import RoIAlign


def _roi_align_float32_on_cpu(forward):
    def wrapped(self, input: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        if input.device.type == 'cpu' and input.dtype == torch.bfloat16:
            return forward(self, input.float(), rois.float()).to(input.dtype)
        return forward(self, input, rois)

    wrapped.float32_on_cpu = True
    return wrapped


def float32_ops_on_cpu() -> None:
    """Apply the two wrappers, once per process."""
    if not getattr(RoIAlign.forward, 'float32_on_cpu', False):
        RoIAlign.forward = _roi_align_float32_on_cpu(RoIAlign.forward)
    if not getattr(NMSop.forward, 'float32_on_cpu', False):
        forward = torch.amp.custom_fwd(device_type='cpu', cast_inputs=torch.float32)(NMSop.forward)
        forward.float32_on_cpu = True
        NMSop.forward = staticmethod(forward)

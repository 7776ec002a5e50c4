"""Faster R-CNN trains under autocast on a CPU (`--amp fp16|bf16`), through mmcv's nms and RoIAlign, whose CPU
kernels take neither bfloat16 nor (nms) half (det/cpu_amp.py). fp16 goes through dynamic loss scaling, as on a GPU."""

import json
import math
import subprocess
import sys

import pytest
import torch
from mmcv.ops import RoIAlign, nms
from test_resume import ROOT, world  # noqa: F401  (world: the fixture)
from tool_env import tool_env

import det  # noqa: F401  (applies the float32 ops)
from backbones.checkpoint import load_checkpoint


def test_nms_and_roi_align_in_low_precision_give_the_float32_results_in_the_inputs_dtype():
    generator = torch.Generator().manual_seed(0)
    corners = torch.rand(64, 2, generator=generator) * 50
    boxes = torch.cat([corners, corners + 5 + torch.rand(64, 2, generator=generator) * 20], dim=1)
    scores = torch.rand(64, generator=generator)
    features = torch.randn(2, 8, 32, 32, generator=generator)
    rois = torch.tensor([[0, 1.0, 2.0, 20.0, 30.0], [1, 4.0, 4.0, 12.0, 9.0]])
    roi_align = RoIAlign((7, 7), spatial_scale=1.0, sampling_ratio=2)
    for dtype in (torch.float16, torch.bfloat16):
        low_boxes, low_scores = boxes.to(dtype), scores.to(dtype)
        with torch.autocast('cpu', dtype=dtype):
            dets, keep = nms(low_boxes, low_scores, 0.5)
            pooled = roi_align(features.to(dtype), rois.to(dtype))
        # The same boxes in float32: rounding to the low precision happened before, so the kept set is the same.
        _, expected_keep = nms(low_boxes.float(), low_scores.float(), 0.5)
        assert keep.tolist() == expected_keep.tolist() and dets.dtype == dtype
        assert pooled.dtype == dtype  # mmdet's RoI extractor writes it into a tensor of the features' dtype
        if dtype == torch.bfloat16:  # computed in float32, rounded once
            expected = roi_align(features.to(dtype).float(), rois.to(dtype).float()).to(dtype)
        else:  # mmcv's own half kernel, left as it is
            expected = roi_align(features.to(dtype), rois.to(dtype))
        assert torch.equal(pooled, expected)


@pytest.mark.parametrize('amp', ['fp16', 'bf16'])
def test_faster_rcnn_trains_under_a_cpus_autocast(amp, world, tmp_path):  # noqa: F811
    work_dir = tmp_path / 'run'
    done = subprocess.run(
        [sys.executable, str(ROOT / 'tools/train_det.py'), str(ROOT / 'configs/det/demo/random_init.py'),
         '--work-dir', str(work_dir), '--data-root', str(world / 'voc'), '--amp', amp, '--cfg-options',
         'train_cfg.max_iters=3', 'train_cfg.val_interval=3', 'default_hooks.logger.interval=1'],
        capture_output=True, text=True, env=tool_env(), cwd=tmp_path, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    logged = [json.loads(line) for path in work_dir.glob('*/vis_data/scalars.json') for line in path.open()]
    losses = [entry['loss'] for entry in logged if 'loss' in entry]
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    state = load_checkpoint(str(work_dir / 'iter_3.pth'))['optimizer']
    if amp == 'fp16':  # the loss scaler ran: mmengine's dynamic scale starts at 2**16 and halves on inf gradients
        assert 0 < state['loss_scaler']['scale'] < 2.0**16
    else:  # bf16 needs no scaling: the scaler holds no state
        assert not state.get('loss_scaler')

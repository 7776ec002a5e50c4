"""A real 2-process launch (torchrun, --launcher pytorch) of the classification trainer on the CPU."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from cls.demo_world import generate

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_training_shares_one_model(tmp_path):
    generate(tmp_path / 'demo', seed=0, scenes_train=40, scenes_val=10, image_size=96)
    work_dir = tmp_path / 'work'
    command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_addr=127.0.0.1',
               f'--master_port={free_port()}', str(ROOT / 'tools/train_cls.py'),
               str(ROOT / 'configs/cls/demo/resnet18b_standard.py'), '--launcher', 'pytorch',
               '--work-dir', str(work_dir), '--data-root', str(tmp_path / 'demo/cls'),
               '--cfg-options', 'train_cfg.max_epochs=2', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False', 'train_dataloader.batch_size=16']
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # mmengine's name for the world size
    assert 'the current batch size is 32' in log  # auto_scale_lr sees the total batch of both processes
    checkpoint = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    card = checkpoint['meta']['trick_card']
    assert card['batch_size'] == 32  # 2 processes × 16: the total batch, from which auto_scale_lr scales the lr
    base_lr = Config.fromfile(ROOT / 'configs/cls/demo/resnet18b_standard.py').optim_wrapper.optimizer.lr  # at 64
    assert card['lr'] == pytest.approx(base_lr * 32 / 64)

"""Checkpoints are plain data: resume works with weights_only=True, Pretrained init works, crafted files are refused."""

import collections
import os
import struct
import zipfile

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner

import engine.hooks  # noqa: F401  (tricks.PlainCheckpointHook)
from backbones import ResNet, build_backbone
from backbones import checkpoint as checkpoint_io
from backbones.checkpoint import (
    DIGESTS,
    CheckpointError,
    export_backbone,
    from_plain,
    load_checkpoint,
    tensor_digests,
    to_plain,
)


class TinyClassifier(BaseModel):
    def __init__(self):
        super().__init__()
        self.backbone = ResNet(18, 'd', base_channels=4, out_indices=(3,))
        self.head = nn.Linear(32, 3)

    def forward(self, inputs, labels, mode='loss'):
        logits = self.head(self.backbone(inputs)[-1].mean((2, 3)))
        return dict(loss=F.cross_entropy(logits, labels)) if mode == 'loss' else logits


class _Killed(Exception):
    pass


class _KillAfterEpoch(Hook):
    """Stands in for a crash right after the checkpoint of epoch `epoch` was written."""

    priority = 'LOWEST'

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            raise _Killed


def make_runner(
    work_dir, max_epochs: int = 3, plain_hook: bool = True, resume: bool = False, kill_after: int | None = None
) -> Runner:
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)  # the model is built before the Runner seeds anything
    dataset = [dict(inputs=torch.randn(3, 16, 16, generator=gen), labels=i % 3) for i in range(16)]
    return Runner(
        model=TinyClassifier(),
        work_dir=str(work_dir),
        experiment_name=f'run{resume}{kill_after}',
        train_dataloader=dict(
            dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='default_collate'),
            num_workers=0,
        ),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, nesterov=True)),
        # MultiStepLR stores a collections.Counter; the message hub stores HistoryBuffers and numpy data.
        param_scheduler=dict(type='MultiStepLR', milestones=[1, 2], by_epoch=True),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=1)
        ),
        custom_hooks=([dict(type='tricks.PlainCheckpointHook')] if plain_hook else [])
        + ([_KillAfterEpoch(kill_after)] if kill_after else []),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmengine',
    )


def test_resume_from_a_saved_checkpoint_continues_exactly(tmp_path):
    straight = make_runner(tmp_path / 'straight')
    straight.train()

    with pytest.raises(_Killed):
        make_runner(tmp_path / 'resumed', kill_after=2).train()
    saved = torch.load(tmp_path / 'resumed' / 'epoch_2.pth', weights_only=True)  # torch's own globals only
    assert isinstance(saved['message_hub']['log_scalars']['train/loss'], dict)

    resumed = make_runner(tmp_path / 'resumed', resume=True)
    resumed.train()
    assert resumed.epoch == 3 and resumed.iter == straight.iter == 12
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    history = resumed.message_hub.get_scalar('train/loss')
    assert isinstance(history, HistoryBuffer) and len(history.data[0]) == 12  # 8 restored + 4 new
    assert isinstance(resumed.param_schedulers[0].milestones, collections.Counter)


def test_stock_mmengine_checkpoint_is_refused_without_running_anything(tmp_path):
    make_runner(tmp_path, max_epochs=1, plain_hook=False).train()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / 'epoch_1.pth')
    assert 'HistoryBuffer' in str(info.value) and '\n' not in str(info.value)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_crafted_checkpoint_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'x': _Payload(marker)}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and 'system' in message and '\n' not in message
    assert not marker.exists()
    # The same refusal on mmengine's own paths (resume, load_from, Pretrained):
    from mmengine.runner.checkpoint import _load_checkpoint

    with pytest.raises(CheckpointError):
        _load_checkpoint(str(path))
    assert not marker.exists()


@pytest.mark.parametrize('content', [b'', b'not a checkpoint at all', b'PK\x03\x04broken zip'])
def test_unreadable_file_gives_one_line_naming_it(tmp_path, content):
    path = tmp_path / 'broken.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and '\n' not in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match='nowhere.pth'):
        load_checkpoint(tmp_path / 'nowhere.pth')


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_pretrained_init_cfg_with_prefix_loads_the_backbone(tmp_path, suffix):
    source = build_backbone('resnet18d', base_channels=8)
    path = tmp_path / f'model{suffix}'
    weights = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    weights['head.weight'] = torch.zeros(3, 64)
    if suffix == '.pth':
        torch.save({'state_dict': weights, 'meta': {}}, path)
    else:
        from safetensors.torch import save_file

        save_file(weights, str(path))
    target = build_backbone(
        'resnet18d', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    )
    target.init_weights()
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_plain_conversion_round_trips():
    import numpy as np

    buffer = HistoryBuffer([1.0, 2.0], [1, 1], max_length=5)
    original = {
        'hub': buffer,
        'seed': np.int64(3),
        'arr': np.arange(4.0),
        'm': collections.Counter({3: 1}),
        'nested': [(np.float32(0.5), 'x')],
    }
    plain = to_plain(original)
    assert plain['seed'] == 3 and type(plain['seed']) is int
    back = from_plain(plain)
    assert isinstance(back['hub'], HistoryBuffer) and back['hub'].data[0].tolist() == [1.0, 2.0]
    assert back['hub'].max_length == 5
    assert back['m'] == collections.Counter({3: 1}) and isinstance(back['m'], collections.Counter)
    assert back['arr'].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert back['nested'][0][1] == 'x'


def flip_a_byte_of(path, member_suffix: str) -> None:
    """Flip one byte in the stored data of the zip member whose name ends with `member_suffix` (torch's archives are
    stored uncompressed, so this is a byte of that tensor), in place, as a disk or a copy would damage it."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(member_suffix))
    with open(path, 'r+b') as f:
        f.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack('<HH', f.read(4))
        f.seek(info.header_offset + 30 + name_length + extra_length + info.file_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))


def test_a_flipped_byte_in_any_saved_tensor_is_named_on_load_and_no_verify_reads_it_anyway(tmp_path):
    make_runner(tmp_path, max_epochs=1).train()
    path = tmp_path / 'epoch_1.pth'
    good = load_checkpoint(str(path))
    saved = good['meta'][DIGESTS]
    assert {name for name in saved if name.startswith('state_dict/')} == {f'state_dict/{k}' for k in good['state_dict']}
    assert any(name.startswith('optimizer/state/') for name in saved)
    assert saved == tensor_digests(to_plain(dict(good, meta={})))  # every tensor of the file, optimiser state too
    with zipfile.ZipFile(path) as archive:  # the data records, one per tensor storage: flip a byte of each in turn
        members = sorted(i.filename.split('/data/')[1] for i in archive.infolist() if '/data/' in i.filename)
    for member in members:
        damaged = tmp_path / f'damaged_{member}.pth'
        damaged.write_bytes(path.read_bytes())
        flip_a_byte_of(damaged, f'/data/{member}')
        with pytest.raises(CheckpointError, match=r'tensor \S+ does not match the digest saved with it: the file is '
                           r'damaged \(--no-verify reads it anyway\)') as err:  # fmt: skip
            load_checkpoint(str(damaged))
        assert str(damaged) in str(err.value) and '\n' not in str(err.value)
        checkpoint_io.verify_digests = False
        try:
            assert load_checkpoint(str(damaged))['meta']['epoch'] == 1  # read as it is, the damage included
        finally:
            checkpoint_io.verify_digests = True


def test_an_export_carries_its_digests_and_a_damaged_one_is_named(tmp_path):
    weights = {'conv.weight': torch.randn(4, 3, 3, 3), 'bn.running_mean': torch.randn(4)}
    export_backbone('unused', str(tmp_path), prefix='', checkpoint={'state_dict': weights, 'meta': {}})
    exported = load_checkpoint(str(tmp_path / 'backbone.pth'))
    assert all(torch.equal(exported['state_dict'][k], v) for k, v in weights.items())
    assert set(exported['meta'][DIGESTS]) == {'state_dict/conv.weight', 'state_dict/bn.running_mean'}
    assert set(load_checkpoint(str(tmp_path / 'backbone.safetensors'))) == set(weights)  # its digests check out
    flip_a_byte_of(tmp_path / 'backbone.pth', '/data/0')
    with pytest.raises(CheckpointError, match=r'backbone\.pth: tensor state_dict/\S+ does not match'):
        load_checkpoint(str(tmp_path / 'backbone.pth'))
    raw = bytearray((tmp_path / 'backbone.safetensors').read_bytes())
    raw[-1] ^= 0x01  # the last byte of the last tensor's data
    (tmp_path / 'backbone.safetensors').write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r'backbone\.safetensors: tensor state_dict/\S+ does not match'):
        load_checkpoint(str(tmp_path / 'backbone.safetensors'))

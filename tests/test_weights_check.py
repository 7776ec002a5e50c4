"""The pretrained backbone really arrives, or the run stops before training with a line naming the keys."""
import logging
from types import SimpleNamespace

import pytest
import torch

from backbones import build_backbone
from backbones.errors import CheckpointError
from backbones.registry import HOOKS
from backbones.weights_check import check_backbone_weights, pretrained_source


class Detector(torch.nn.Module):
    """Stands in for a detector or segmentor: what the hook needs is `model.backbone`."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone


@pytest.fixture
def exported(tmp_path):
    torch.manual_seed(0)
    source = build_backbone('resnet18d', base_channels=8)
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    return source, str(path)


def run_hook(backbone, iteration=0):
    runner = SimpleNamespace(iter=iteration, model=Detector(backbone), logger=logging.getLogger('test'))
    HOOKS.build(dict(type='tricks.BackboneWeightsCheckHook')).before_train(runner)


def test_loaded_backbone_passes(exported):
    source, path = exported
    backbone = build_backbone('resnet18d', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    backbone.init_weights()
    assert pretrained_source(backbone) == (path, '')
    assert check_backbone_weights(backbone, path) == len(source.state_dict())
    run_hook(backbone)


def test_partly_matching_names_load_silently_and_are_caught(exported, tmp_path):
    """timm names the deep stem `conv1.*`: mmengine loads the rest with only a warning, the stem stays random."""
    source, _ = exported
    timm_named = {k.replace('stem.', 'conv1.', 1): v for k, v in source.state_dict().items()}
    path = str(tmp_path / 'timm_named.pth')
    torch.save({'state_dict': timm_named}, path)
    backbone = build_backbone('resnet18d', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    backbone.init_weights()
    torch.testing.assert_close(backbone.layer1[0].conv1.weight, source.layer1[0].conv1.weight)  # the rest arrived
    with pytest.raises(CheckpointError) as info:
        run_hook(backbone)
    message = str(info.value)
    assert 'missing stem.' in message and 'unexpected conv1.' in message and path in message
    assert '\n' not in message


def test_weights_not_loaded_are_named(exported):
    _, path = exported
    backbone = build_backbone('resnet18d', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(CheckpointError, match='differ from the checkpoint'):  # init_weights never ran
        run_hook(backbone)


def test_other_architecture_is_named(exported):
    _, path = exported
    backbone = build_backbone('resnet18b', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(CheckpointError, match='missing bn1.bias'):
        run_hook(backbone)


def test_resumed_run_and_random_init_are_not_checked(exported):
    _, path = exported
    run_hook(build_backbone('resnet18d', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path)),
             iteration=10)
    run_hook(build_backbone('resnet18d', base_channels=8))

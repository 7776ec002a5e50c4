"""The pretrained backbone really arrives, or the run stops before training with a line naming the keys."""

import logging
from types import SimpleNamespace

import pytest
import torch

from backbones import build_backbone
from backbones.errors import CheckpointError
from backbones.registry import HOOKS
from engine.hooks import check_backbone_weights, pretrained_source


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
    run_hook(
        build_backbone('resnet18d', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path)), iteration=10
    )
    run_hook(build_backbone('resnet18d', base_channels=8))


@pytest.mark.parametrize('suffix', ['pth', 'safetensors'])
def test_a_variant_of_the_same_shapes_is_caught_by_the_exported_architecture(tmp_path, suffix):
    """ResNet-26-A and -B have the same tensors (the stride moves between convs): only the export's own backbone
    config tells them apart."""
    from backbones.checkpoint import export_backbone
    from cls.model import ImageClassifier  # noqa: F401  (registration)

    source = build_backbone('resnet26a', base_channels=8)
    card = dict(backbone=dict(config=source.arch_config()))
    classifier = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    torch.save({'state_dict': classifier, 'meta': {'trick_card': card}}, tmp_path / 'cls.pth')
    export_backbone(str(tmp_path / 'cls.pth'), str(tmp_path))
    path = str(tmp_path / f'backbone.{suffix}')
    same_shapes = build_backbone('resnet26b', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    same_shapes.init_weights()  # loads without a word: every name and shape matches
    with pytest.raises(
        CheckpointError,
        match=r'the backbone is not the architecture this export was trained as: '
        r"variant='b' \(exported as 'a'\)",
    ):
        check_backbone_weights(same_shapes, path)
    right = build_backbone('resnet26a', base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    right.init_weights()
    assert check_backbone_weights(right, path) == len(source.state_dict())


def test_exported_backbone_takes_the_architecture_from_the_file_and_refuses_restating_it(tmp_path):
    from backbones import MODELS

    source = build_backbone('resnet26a', base_channels=8)
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': source.state_dict(), 'meta': {'backbone': source.arch_config()}}, path)
    built = MODELS.build(dict(type='tricks.ExportedBackbone', checkpoint=str(path), out_indices=(1, 3)))
    assert (built.depth, built.variant, built.base_channels, built.out_indices) == (26, 'a', 8, (1, 3))
    assert built.init_cfg == dict(type='Pretrained', checkpoint=str(path))
    with pytest.raises(ValueError, match=r'variant come\(s\) from the export') as info:
        MODELS.build(dict(type='tricks.ExportedBackbone', checkpoint=str(path), variant='b'))
    assert '\n' not in str(info.value)
    torch.save({'state_dict': source.state_dict()}, tmp_path / 'plain.pth')
    with pytest.raises(ValueError, match=r'plain.pth: no backbone config in the file'):
        MODELS.build(dict(type='tricks.ExportedBackbone', checkpoint=str(tmp_path / 'plain.pth')))

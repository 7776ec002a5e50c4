"""The model card (README.md) and config.json beside every export state what the checkpoint holds, and nothing it does
not; `tools/export_backbone.py --hub-dir` writes timm's own Hub layout, which timm loads into the same features."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
import yaml
from safetensors.torch import load_file
from test_parity import randomise
from test_reliability import QUICK, RECIPE, epochs, world  # noqa: F401  (world: that module's small world, reused)
from tool_env import tool_env

from backbones import build_backbone
from backbones.checkpoint import export_backbone, latest_checkpoint, timm_to_tricks, tricks_to_timm
from datagen.demo_world import THING_CLASSES
from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXPORTED = ['README.md', 'backbone.pth', 'backbone.safetensors', 'config.json']


def export_tool(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """tools/export_backbone.py as a process, the way a user runs it."""
    return subprocess.run(
        [sys.executable, str(ROOT / 'tools/export_backbone.py'), *argv],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope='module')
def trained(world, tmp_path_factory):  # noqa: F811
    """One epoch of the demo recipe (ResNet-18-D, cosine, label smoothing) on the small world, as test_reliability
    runs it: a real checkpoint with its trick card, metrics and seed."""
    work_dir = tmp_path_factory.mktemp('cls')
    argv = [str(RECIPE), '--work-dir', str(work_dir), '--data-root', str(world), *epochs(1), '--cfg-options', *QUICK]
    runner = main('cls', 'train', argv)
    return latest_checkpoint(str(work_dir)), runner


@pytest.fixture(scope='module')
def exported(trained, tmp_path_factory) -> Path:
    checkpoint, _ = trained
    out = tmp_path_factory.mktemp('export') / 'resnet18d'
    done = export_tool([checkpoint, str(out)], out.parent)
    assert done.returncode == 0, done.stderr
    return out


def conv_macs(model: torch.nn.Module, image_size: int) -> int:
    """Multiply-adds of every conv for one image, by hand: output pixels × out channels × (in channels / groups) × k²
    (the backbones have no matmul)."""
    total = []

    def count(conv, _, output):
        total.append(output[0].numel() * conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1])

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, image_size, image_size))
    for hook in hooks:
        hook.remove()
    return sum(total)


def front_matter(card: str) -> dict:
    assert card.startswith('---\n'), card[:80]
    return yaml.safe_load(card.split('---\n', 2)[1])


def test_the_card_and_config_state_the_checkpoints_own_recipe_seed_size_and_metrics(trained, exported):
    checkpoint_path, runner = trained
    checkpoint = torch.load(checkpoint_path, weights_only=True)  # as saved: plain data
    card, meta = checkpoint['meta']['trick_card'], checkpoint['meta']
    assert sorted(p.name for p in exported.iterdir()) == EXPORTED  # both formats, the card, no temporary files
    config = json.loads((exported / 'config.json').read_text())
    readme = (exported / 'README.md').read_text()

    backbone = runner.model.backbone  # the network that trained
    params = sum(p.numel() for p in backbone.parameters())
    assert config['params'] == params and f'{params:,}' in readme
    assert config['architecture'] == card['backbone']['config'] == backbone.arch_config()
    assert config['num_features'] == backbone.out_channels[-1] == 128
    assert config['out_channels'] == [16, 32, 64, 128] and config['out_strides'] == [4, 8, 16, 32]
    assert config['macs_224px'] == conv_macs(build_backbone('resnet18d', base_channels=16), 224)
    assert f'**GMACs at 224 px:** {config["macs_224px"] / 1e9:.2f}' in readme

    recipe = json.loads(json.dumps({k: v for k, v in card.items() if k != 'machine'}))
    assert config['recipe'] == recipe and recipe['label_smoothing'] == 0.1  # the run's own card, not a default
    for key, value in recipe.items():
        row = f'| `{key}` | {json.dumps(value)} |' if not isinstance(value, (dict, list)) else f'| `{key}` |'
        assert row in readme, row
    assert config['seed'] == card['seed'] == meta['seed'] and f'**Seed:** {card["seed"]}' in readme
    assert config['amp'] == card['amp'] and config['machine'] == card['machine'] and card['machine']['cpu'] in readme
    assert config['precision'] == (card['amp'] or 'float32')

    scalars, info = checkpoint['message_hub']['log_scalars'], checkpoint['message_hub']['runtime_info']
    top1 = scalars['val/top1']['log_history'][-1]
    assert config['metrics']['last_validation']['top1'] == pytest.approx(top1, abs=0)
    assert config['metrics']['best']['score'] == info['best_score'] and f'top1 {top1:.4g}' in readme

    data = config['data']
    assert data['num_classes'] == len(THING_CLASSES) and data['classes'] == list(meta['dataset_meta']['classes'])
    assert data['indices'] == 128 and data['images'] is None and 'data.images' in config['not_recorded']
    assert (
        data['steps_per_epoch'] * data['images_per_step'] == card['iterations'] // card['epochs'] * card['batch_size']
    )
    assert '**Size:** not recorded' in readme

    front = front_matter(readme)
    assert front['library_name'] == 'mmengine' and 'resnet' in front['tags'] and 'license' not in front
    assert "type='tricks.ExportedBackbone'" in readme and f"checkpoint='{exported}/backbone.pth'" in readme
    assert "timm.create_model('resnet18d', num_classes=0, channels=[16, 32, 64, 128], stem_width=8)" in readme


def test_a_checkpoint_without_metrics_or_trick_card_is_said_not_recorded(trained, tmp_path):
    checkpoint_path, _ = trained
    checkpoint = torch.load(checkpoint_path, weights_only=True)  # plain data, as saved: the same facts as loaded
    export_backbone(checkpoint_path, str(tmp_path / 'plain'), checkpoint=checkpoint)
    plain = json.loads((tmp_path / 'plain/config.json').read_text())
    assert plain['metrics']['best']['score'] == checkpoint['message_hub']['runtime_info']['best_score']
    assert (
        plain['metrics']['last_validation']['top1']
        == checkpoint['message_hub']['log_scalars']['val/top1']['log_history'][-1]
    )
    del checkpoint['message_hub']
    export_backbone('no_metrics.pth', str(tmp_path / 'no_metrics'), checkpoint=checkpoint)
    config = json.loads((tmp_path / 'no_metrics/config.json').read_text())
    readme = (tmp_path / 'no_metrics/README.md').read_text()
    assert config['metrics'] is None and 'metrics' in config['not_recorded'] and config['params'] is not None
    assert '**Validation metrics:** not recorded' in readme and 'Best' not in readme

    bare = {'state_dict': {k: v for k, v in checkpoint['state_dict'].items() if k.startswith('backbone.')}, 'meta': {}}
    export_backbone('bare.pth', str(tmp_path / 'bare'), checkpoint=bare)
    config = json.loads((tmp_path / 'bare/config.json').read_text())
    readme = (tmp_path / 'bare/README.md').read_text()
    for key in ('architecture', 'params', 'recipe', 'metrics', 'seed', 'precision', 'machine'):
        assert config[key] is None and key in config['not_recorded'], key
    assert sorted(p.name for p in (tmp_path / 'bare').iterdir()) == EXPORTED
    assert '**Architecture:** not recorded' in readme and '**Machine:** not recorded' in readme
    assert front_matter(readme)['library_name'] == 'mmengine'


def test_the_hub_dir_is_timms_own_layout_and_loads_into_timm_resnet50d_with_the_same_features(tmp_path):
    ours = randomise(build_backbone('resnet50d'), seed=3)  # weights and BN statistics away from any init
    state = {f'backbone.{k}': v for k, v in ours.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {'trick_card': {'backbone': ours.trick_card()}}}, tmp_path / 'cls.pth')
    hub = tmp_path / 'hub'
    done = export_tool([str(tmp_path / 'cls.pth'), str(tmp_path / 'export'), '--hub-dir', str(hub)], tmp_path)
    assert done.returncode == 0, done.stderr

    reference = tmp_path / 'reference'  # what timm itself writes for a resnet50d feature model
    timm.models.save_for_hf(timm.create_model('resnet50d', num_classes=0), reference, safe_serialization='both')
    assert sorted(p.name for p in hub.iterdir()) == sorted([p.name for p in reference.iterdir()] + ['README.md'])
    config, expected = (json.loads((d / 'config.json').read_text()) for d in (hub, reference))
    assert config.keys() == expected.keys() and config['pretrained_cfg'].keys() <= expected['pretrained_cfg'].keys()
    assert (config['architecture'], config['num_features'], config['model_args']) == (
        expected['architecture'],
        expected['num_features'],
        expected['model_args'],
    )
    weights = load_file(hub / 'model.safetensors')
    reference_weights = load_file(reference / 'model.safetensors')
    assert {k: v.shape for k, v in weights.items()} == {k: v.shape for k, v in reference_weights.items()}
    pickled = torch.load(hub / 'pytorch_model.bin', weights_only=True)
    assert pickled.keys() == weights.keys() and all(torch.equal(pickled[k], v) for k, v in weights.items())
    assert front_matter((hub / 'README.md').read_text())['library_name'] == 'timm'

    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        maps = ours(x)
        features = maps[-1].mean((2, 3))  # timm with num_classes=0: the last stage, global-average-pooled
        loaded = timm.create_model('resnet50d', num_classes=0)
        timm.models.load_checkpoint(loaded, str(hub / 'model.safetensors'))  # strict: every tensor, no extra
        from_dir = timm.create_model(f'local-dir:{hub}', pretrained=True)
        overlay = timm.create_model(
            'resnet50d',
            pretrained=True,
            num_classes=0,
            pretrained_cfg_overlay=dict(file=str(hub / 'model.safetensors')),
        )
        # The same fp32 ops on the same shapes: here they run the same kernels and agree bit for bit. 1e-5 of the
        # scale leaves room for another fp32 reduction order (another thread split or conv algorithm: about
        # sqrt(K) * 1.2e-7 ~ 1e-5 relative for a 3x3x512 conv's K = 4,608 terms), and is still far below what one
        # misplaced tensor does: swapping the stem's two 32-channel BNs moves the first stage by 7e-3 of its scale
        # and the pooled features by 4e-5 (these random weights damp what comes through the residual branches).
        for model in (loaded, from_dir, overlay):
            model.eval()
            got = model(x)
            assert got.shape == features.shape == (2, 2048)
            assert (got - features).abs().max().item() <= 1e-5 * max(1.0, features.abs().max().item())
            stages = model.forward_intermediates(x, indices=[1, 2, 3, 4], intermediates_only=True)
            for a, b in zip(stages, maps, strict=True):
                assert (a - b).abs().max().item() <= 1e-5 * max(1.0, b.abs().max().item())


@pytest.mark.parametrize('name', ['resnet50d', 'resnet50c', 'resnet50', 'resnet18d', 'resnet101d'])
def test_tricks_to_timm_is_timm_to_tricks_inverse_exactly(name):
    with torch.device('meta'):  # names and shapes only
        reference = timm.create_model(name)
        ours = build_backbone(name if name[-1] in 'cd' else f'{name}b')
    timm_state = {k: v for k, v in reference.state_dict().items() if not k.startswith('fc.')}
    ours_state = ours.state_dict()
    assert list(tricks_to_timm(timm_to_tricks(timm_state))) == list(timm_state)
    assert all(tricks_to_timm(timm_to_tricks(timm_state))[k] is v for k, v in timm_state.items())
    assert list(timm_to_tricks(tricks_to_timm(ours_state))) == list(ours_state)
    assert {k: v.shape for k, v in tricks_to_timm(ours_state).items()} == {k: v.shape for k, v in timm_state.items()}


def test_bad_input_is_one_error_line_and_nothing_written(tmp_path):
    headless = tmp_path / 'headless.pth'
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(9, 16)}, 'meta': {}}, headless)
    done = export_tool([str(headless), str(tmp_path / 'out')], tmp_path)
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [
        f'error: {headless}: no "backbone.*" weights in the checkpoint'
    ]
    assert not (tmp_path / 'out').exists()

    resnet9 = build_backbone('resnet9')
    state = {f'backbone.{k}': v for k, v in resnet9.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {'trick_card': {'backbone': resnet9.trick_card()}}}, tmp_path / 'r9.pth')
    done = export_tool([str(tmp_path / 'r9.pth'), str(tmp_path / 'out'), '--hub-dir', str(tmp_path / 'hub')], tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f'error: {tmp_path / "r9.pth"}: --hub-dir: ') and 'tricks.ResNet9' in lines[0]
    assert not (tmp_path / 'out').exists() and not (tmp_path / 'hub').exists()

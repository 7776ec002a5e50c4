"""`pip install .` installs the library a user's own project imports, `backbones` and the scope package `tricks`, and
nothing with a generic name (`cls`, `engine`, `det`, …: those stay in the tree).

A copy of the checkout is installed into a throwaway venv, so the build writes no `build/` or `*.egg-info` into the
checkout. The venv reuses this environment's packages through a `.pth` file (as tools/env.sh's mmcv build does):
torch, mmdet etc. are not reinstalled, and pip runs offline (`--no-index`) but resolves the declared dependencies
against them. Then, from a folder outside the checkout and without PYTHONPATH, a stock mmdet config with
`custom_imports=['backbones']` builds Faster R-CNN on the installed `tricks.ResNet`.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERIC = ('cls', 'engine', 'det', 'seg', 'ladder', 'datagen')  # the tree's packages that must not be installed

CHILD_CONFIG = """\
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
model = dict(backbone=dict(type='tricks.ResNet', depth=50, variant='d', init_cfg=None))
"""

# Run by the throwaway venv's python in a folder outside the checkout; its arguments: the generic names.
PROBE = """\
import importlib, importlib.util, json, pkgutil, sys
from pathlib import Path

import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet
stock = Path(mmdet.__file__).parent / '.mim/configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
register_all_modules()
cfg = Config.fromfile('faster_rcnn_tricks.py')
model = MODELS.build(cfg.model).eval()
with torch.no_grad():
    feats = model.extract_feat(torch.zeros(1, 3, 64, 64))
import backbones, tricks.registry
modules = sorted(m.name for m in pkgutil.walk_packages(backbones.__path__, 'backbones.'))
for name in modules:
    importlib.import_module(name)  # every module imports from the library alone
found = {name: getattr(importlib.util.find_spec(name), 'origin', None) for name in sys.argv[1:]}
print(json.dumps(dict(
    stock_config=stock.is_file(),
    backbone_class=type(model.backbone).__module__ + '.' + type(model.backbone).__name__,
    backbone_file=sys.modules[type(model.backbone).__module__].__file__,
    variant=model.backbone.variant,
    backbones_file=backbones.__file__,
    tricks_file=tricks.registry.__file__,
    feature_shapes=[list(f.shape) for f in feats],
    modules=modules,
    found=found,
    imported=sorted(name for name in sys.argv[1:] if name in sys.modules),
)))
"""


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f'{args} failed:\n{result.stdout}\n{result.stderr}'
    return result


def copy_checkout(dest: Path) -> None:
    """The tracked and not-ignored files as they are in the working tree (what a `pip install /path/to/checkout`
    would see, without the checkout's build outputs)."""
    listed = run('git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard', cwd=ROOT).stdout
    for name in filter(None, listed.split('\0')):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    readme = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['readme']
    assert (dest / readme).is_file()  # setuptools reads it for the metadata


def build_outputs(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name == 'build' or p.name.endswith('.egg-info')}


def test_pip_install_puts_only_backbones_and_tricks_into_a_fresh_venv_and_a_stock_mmdet_config_builds_on_it(tmp_path):
    source, venv, elsewhere = tmp_path / 'checkout', tmp_path / 'venv', tmp_path / 'elsewhere'
    copy_checkout(source)
    elsewhere.mkdir()
    (elsewhere / 'faster_rcnn_tricks.py').write_text(CHILD_CONFIG)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH' and not k.startswith('PIP_')}
    env.update(PYTHONNOUSERSITE='1', PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_NO_INPUT='1', PIP_NO_CACHE_DIR='1')
    env.update(OMP_NUM_THREADS='1')

    # Without pip: the venv's own pip would bring the bundled setuptools, which would shadow ours (this environment's
    # pip and setuptools are seen through the .pth, after the venv's own site-packages).
    run(sys.executable, '-m', 'venv', '--without-pip', str(venv), env=env)
    python = venv / 'bin' / 'python'
    site_packages = Path(run(str(python), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))', env=env)
                         .stdout.strip())  # fmt: skip
    (site_packages / 'project-venv.pth').write_text(sysconfig.get_path('purelib') + '\n')

    outputs_before = build_outputs(ROOT)
    run(str(python), '-m', 'pip', 'install', '-q', '--no-index', '--no-build-isolation', str(source), env=env,
        cwd=elsewhere)  # fmt: skip
    assert build_outputs(ROOT) == outputs_before  # the build ran in the copy

    installed = {p.name for p in site_packages.iterdir() if p.name != '__pycache__'}
    dist_info = [p.name for p in site_packages.glob('bag_of_tricks_transfer-*.dist-info')]
    assert len(dist_info) == 1, installed
    assert installed == {'backbones', 'tricks', 'project-venv.pth', *dist_info}, installed
    record = (site_packages / dist_info[0] / 'RECORD').read_text().splitlines()
    top_level = {line.split(',')[0].split('/')[0] for line in record}
    assert top_level == {'backbones', 'tricks', dist_info[0]}, top_level
    assert not any(line.startswith(('configs/', 'tests/', 'tools/')) for line in record)

    result = json.loads(run(str(python), '-c', PROBE, *GENERIC, env=env, cwd=elsewhere).stdout.strip().splitlines()[-1])
    assert result['stock_config'] is True
    assert result['backbone_class'] == 'backbones.resnet.ResNet'
    assert result['variant'] == 'd'
    assert {'backbones.resnet', 'backbones.checkpoint', 'backbones.registry'} <= set(result['modules'])
    for key in ('backbone_file', 'backbones_file', 'tricks_file'):
        assert Path(result[key]).is_relative_to(site_packages), (key, result[key])
    # Faster R-CNN's FPN on a 64 px image: five levels of 256 channels, strides 4 to 64.
    assert result['feature_shapes'] == [[1, 256, 64 // s, 64 // s] for s in (4, 8, 16, 32, 64)]
    # None of the tree's generic packages is importable there (a site-packages `cls` of another project would be
    # someone else's), and the build did not import ours.
    for name, origin in result['found'].items():
        assert origin is None or not Path(origin).is_relative_to(ROOT), (name, origin)
    assert result['imported'] == []

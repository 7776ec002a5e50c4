"""The one prepared GPU check (run it through tools/gpu_check.sh): every figure the suite lacks until a GPU is at
hand, in one JSON, each item in its own try with its own time budget so that one failure loses only itself.

    resnet50d_step   the ResNet-50-D training step at 224 px: TF32, AMP fp16 (GradScaler), AMP bf16, channels_last,
                     torch.compile; img/s (median of timed steps after warm-up) and peak memory
    resnet9_record   configs/cls/resnet9/record.py on CIFAR-10: wall time to 94 % (the time-to-accuracy hook's)
    det_iteration    one Faster R-CNN and one FCN training iteration under --amp fp16, on a made-up world
    seg_iteration    (datagen.demo_world), through the suite's train tools
    rehearsal        tools/run_ladder.py --config configs/ladders/paper.py --rehearse made-up, where that flag exists

--dry-run runs the same code on CPU at tiny sizes (64 px, batch 2, 2 timed steps, a few record steps on made-up
images) so the check itself is tested before the GPU time is spent; its JSON never goes into docs/.
`cost_plan` (a GPU run only) is the figure ladder/costs.py plans with.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from cls.trick_card import machine  # noqa: E402
from datagen.demo_world import generate  # noqa: E402

SIZES = {
    'gpu': dict(
        image=224,
        batch=256,
        warmup=5,
        steps=20,
        step_budget_s=40,
        record_budget_s=150,
        tool_budget_s=90,
        rehearsal_budget_s=120,
        total_budget_s=420,
    ),
    'dry': dict(
        image=64,
        batch=2,
        warmup=1,
        steps=2,
        step_budget_s=30,
        record_budget_s=60,
        tool_budget_s=60,
        rehearsal_budget_s=60,
        total_budget_s=150,
    ),
}
# mode → (autocast dtype, channels_last, torch.compile); fp32 matmuls and convs run as TF32 on a GPU
MODES = {
    'tf32': (torch.float32, False, False),
    'amp_fp16': (torch.float16, False, False),
    'amp_bf16': (torch.bfloat16, False, False),
    'amp_fp16_channels_last': (torch.float16, True, False),
    'amp_fp16_channels_last_compiled': (torch.float16, True, True),
}
COST_PLAN_MODE = 'amp_fp16_channels_last'  # the AMP step the cost plan scales (NVIDIA's reference is AMP too)
RESNET50D = {'type': 'tricks.ResNet', 'depth': 50, 'variant': 'd'}
# this project's copy, beside the checkout or in it (a device machine's copy of the tree); else pass --cifar10
CIFAR10_PLACES = [base / 'shared/data/cifar10-jpg.tar.gz' for base in (ROOT.parent, ROOT)]
CIFAR10 = next((path for path in CIFAR10_PLACES if path.is_file()), CIFAR10_PLACES[0])


def timed(item, *args):
    """`item(*args)`: its result with wall_s, or its error; never raises."""
    start = time.monotonic()
    try:
        result = item(*args)
    except Exception as err:  # noqa: BLE001  (one item's failure must not lose the others)
        result = {'error': f'{type(err).__name__}: {err}'.strip()[-2000:]}
    return {**result, 'wall_s': round(time.monotonic() - start, 3)}


def budget(size: dict, key: str) -> float:
    """An item's own time budget, cut to what is left of the whole check's."""
    return max(1.0, min(size[key], size['deadline'] - time.monotonic()))


def machine_info() -> dict:
    info = machine()
    cuda = torch.cuda.is_available()
    driver = None
    if shutil.which('nvidia-smi'):
        query = ['nvidia-smi', '--query-gpu=driver_version,memory.total', '--format=csv,noheader']
        driver = subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.strip() or None
    return {
        **info,
        'cuda_available': cuda,
        'cuda': torch.version.cuda,
        'cudnn': torch.backends.cudnn.version() if cuda else None,
        'nccl': '.'.join(map(str, torch.cuda.nccl.version())) if cuda else None,
        'driver': driver,
        'cpu_count': os.cpu_count(),
    }


def resnet50d_step(size: dict, device: torch.device) -> dict:
    """The ResNet-50-D classifier's training step in each mode: img/s and peak memory."""
    from cls.model import ImageClassifier

    batch, image = size['batch'], size['image']
    inputs = torch.randn(batch, 3, image, image, device=device)
    labels = torch.randint(0, 1000, (batch,), device=device)
    deadline = min(time.monotonic() + size['step_budget_s'] * len(MODES), size['deadline'])
    modes = {}
    for name, (dtype, channels_last, compiled) in MODES.items():
        if time.monotonic() > deadline:
            modes[name] = {'skipped': 'the item ran out of its time budget'}
            continue
        if compiled and device.type == 'cpu':
            modes[name] = {'skipped': 'torch.compile not timed on CPU: compiling takes minutes here'}
            continue
        modes[name] = timed(_time_mode, ImageClassifier, inputs, labels, dtype, channels_last, compiled, size)
    settings = {'backbone': RESNET50D, 'image': image, 'batch': batch, 'warmup': size['warmup'], 'steps': size['steps']}
    return {'settings': settings, 'modes': modes}


def _time_mode(classifier, inputs, labels, dtype, channels_last, compiled, size) -> dict:
    device = inputs.device
    cuda = device.type == 'cuda'
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model = classifier(backbone=RESNET50D, num_classes=1000).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    x = inputs.contiguous(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    forward = torch.compile(model.logits) if compiled else model.logits

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = F.cross_entropy(forward(x).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if cuda:
            torch.cuda.synchronize()
        return loss

    for _ in range(size['warmup']):
        step()
    times = []
    for _ in range(size['steps']):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    if not torch.isfinite(loss):
        raise FloatingPointError(f'loss {loss.item()} after {size["warmup"] + size["steps"]} steps')
    return {
        'img_per_s': round(inputs.shape[0] / statistics.median(times), 2),
        'step_s': [round(t, 5) for t in times],
        'peak_memory_bytes': torch.cuda.max_memory_allocated() if cuda else None,
        'tf32': cuda,
    }


def _tool(args: list[str], work_dir: Path, budget_s: float) -> dict:
    """Run a suite tool; its status and the tail of its output when it fails."""
    command = [sys.executable, *args, '--work-dir', str(work_dir)]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=budget_s)
    except subprocess.TimeoutExpired:
        return {'error': f'ran past its budget of {budget_s:.0f} s', 'command': ' '.join(args)}
    result = {'command': ' '.join(args), 'returncode': done.returncode}
    if done.returncode:
        result['error'] = (done.stdout + done.stderr)[-1500:]
    return result


def _made_up_cifar(root: Path, per_class: int) -> Path:
    rng = np.random.default_rng(0)
    for split, count in (('train', per_class), ('test', max(1, per_class // 2))):
        for label in range(10):
            folder = root / split / f'class{label}'
            folder.mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f'{index}.png')
    return root


def _cifar_root(cifar10: str, tmp: Path) -> Path:
    source = Path(cifar10)
    if source.is_dir():
        return source
    with tarfile.open(source) as archive:
        archive.extractall(tmp, filter='data')
    return tmp / 'cifar10'


def resnet9_record(size: dict, dry_run: bool, cifar10: str | None, tmp: Path) -> dict:
    """record.py through the train tool; a dry run: one epoch of made-up images at a small batch."""
    config = 'configs/cls/resnet9/record.py'
    if dry_run:
        data, data_note = _made_up_cifar(tmp / 'cifar', per_class=4), 'made-up 32-px images, 40 train / 20 test'
        options = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=8', 'val_dataloader.batch_size=8']
    else:
        if not cifar10 or not Path(cifar10).exists():
            return {'skipped': f'no CIFAR-10 at {cifar10} (pass --cifar10 DIR or the .tar.gz)'}
        start = time.monotonic()
        data, data_note = _cifar_root(cifar10, tmp), f'{cifar10} (unpacked in {time.monotonic() - start:.0f} s)'
        options = []
    work_dir = tmp / 'resnet9_record'
    args = ['tools/train_cls.py', config, '--data-root', str(data)] + (['--cfg-options', *options] if options else [])
    result = _tool(args, work_dir, budget(size, 'record_budget_s'))
    curve_file = work_dir / 'time_to_accuracy.json'
    if curve_file.is_file():
        curve = json.loads(curve_file.read_text())
        result.update(
            target=curve['target'], reached=curve['reached'], last=curve['curve'][-1] if curve['curve'] else None
        )
    return {'data': data_note, **result}


def transfer_iteration(task: str, size: dict, world: Path, tmp: Path) -> dict:
    """One training iteration of the demo detector / segmenter (randomly initialised ResNet-9), under --amp fp16."""
    config = f'configs/{task}/demo/resnet9_random_init.py'
    layout = {'det': 'voc', 'seg': 'ade'}[task]
    options = [
        'train_cfg.max_iters=1',
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'train_dataloader.batch_size=2',
    ]
    args = [
        f'tools/train_{task}.py',
        config,
        '--amp',
        'fp16',
        '--data-root',
        f'{world / layout}/',
        '--cfg-options',
        *options,
    ]
    result = _tool(args, tmp / f'{task}_iteration', budget(size, 'tool_budget_s'))
    return {'data': f'datagen.demo_world at {world}', 'amp': 'fp16', **result}


def rehearsal(size: dict, tmp: Path) -> dict:
    usage = subprocess.run([sys.executable, 'tools/run_ladder.py', '--help'], cwd=ROOT, capture_output=True, text=True)
    if '--rehearse' not in usage.stdout:
        return {'skipped': 'no --rehearse yet (tools/run_ladder.py --help does not list it)'}
    args = ['tools/run_ladder.py', '--config', 'configs/ladders/paper.py', '--rehearse', 'made-up', '--out']
    command = [sys.executable, *args, str(tmp / 'rehearsal')]
    seconds = budget(size, 'rehearsal_budget_s')
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return {'error': f'ran past its budget of {seconds:.0f} s'}
    return {
        'returncode': done.returncode,
        **({'error': (done.stdout + done.stderr)[-1500:]} if done.returncode else {}),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dry-run', action='store_true', help='CPU, tiny sizes: the check of the check')
    parser.add_argument('--out', help='the JSON (default: docs/gpu_check.json; a dry run: work_dirs/gpu_check/)')
    parser.add_argument('--cifar10', default=str(CIFAR10), help='CIFAR-10 folder (train/, test/) or its .tar.gz')
    parser.add_argument('--setup-s', type=float, help="tools/env.sh's set-up time, measured by gpu_check.sh")
    args = parser.parse_args(argv)
    default = 'work_dirs/gpu_check/dry_run.json' if args.dry_run else 'docs/gpu_check.json'
    out = Path(args.out or ROOT / default).resolve()
    if args.dry_run and (ROOT / 'docs') in out.parents:
        raise SystemExit(f'error: --dry-run does not write into docs/ ({out})')
    device = torch.device('cpu' if args.dry_run or not torch.cuda.is_available() else 'cuda')
    start = time.monotonic()
    size = SIZES['dry' if args.dry_run else 'gpu']
    size = {**size, 'deadline': start + size['total_budget_s']}
    report = {
        'dry_run': args.dry_run,
        'date': time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        'machine': machine_info(),
        'device': device.type,
        'setup': {'env_sh_s': args.setup_s, 'wheel_cache': os.environ.get('TRICKS_WHEEL_CACHE')},
        'items': {},
    }
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as tmp_dir:
        tmp = Path(tmp_dir)
        items = report['items']
        items['resnet50d_step'] = timed(resnet50d_step, size, device)
        items['resnet9_record'] = timed(resnet9_record, size, args.dry_run, args.cifar10, tmp)
        world = tmp / 'world'
        generate(world, scenes_train=4, scenes_val=2)
        items['det_iteration'] = timed(transfer_iteration, 'det', size, world, tmp)
        items['seg_iteration'] = timed(transfer_iteration, 'seg', size, world, tmp)
        items['rehearsal'] = timed(rehearsal, size, tmp)
    measured = items['resnet50d_step'].get('modes', {}).get(COST_PLAN_MODE, {})
    if device.type == 'cuda' and 'img_per_s' in measured:
        report['cost_plan'] = {
            'cls': {
                'img_per_s': measured['img_per_s'],
                'what': f'ResNet-50-D step, 224 px, batch {size["batch"]}, {COST_PLAN_MODE}',
                'backbone': RESNET50D,
                'image_size': size['image'],
            }
        }
    report['wall_s'] = round(time.monotonic() - start, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + '\n')
    print(f'{out} written ({report["wall_s"]} s)')
    for name, item in report['items'].items():
        print(f'  {name}: ' + ('error' if 'error' in item else 'skipped' if 'skipped' in item else 'ok'))
    return report


if __name__ == '__main__':
    main()

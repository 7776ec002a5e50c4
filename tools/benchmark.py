"""The suite beside its peers, on this machine: every figure a ratio of two sides timed in this one process.

    bash tools/env.sh python tools/benchmark.py --quick     # figures 1-4, small sizes, about two minutes on 2 cores
    bash tools/env.sh python tools/benchmark.py             # the sizes of docs/benchmarks.md (--json FILE keeps them)
    bash tools/env.sh python tools/benchmark.py --profile resnet50d   # figure 1's two sides, operator by operator

The two sides of a figure run in turn (A, B, A, B, ...) after warm-up, and each side's figure is the median of its
repeats, so a machine that slows down for a while slows both; the absolute figures are printed beside the ratio.
1. cls training step (images/s): our ImageClassifier through mmengine's Runner (data preprocessor, AMP wrapper, every
   hook, logging) vs a plain PyTorch loop over the same modules, batch, precision and batch augmentation (the
   framework's overhead); our ResNet-D vs timm's in that plain loop (the model's).
2. data pipeline (decoded + augmented images/s, one process = one worker): tricks.ImageFolder and our transforms vs
   torchvision's ImageFolder and the same transforms on PIL images (500-px JPEGs); on CIFAR-10's 32-px JPEGs, the
   resident set with the batch crop/flip vs torchvision decoding every JPEG per access (what residency buys), and vs
   torchvision's per-image crop/flip over the same decoded tensors (what the batch path buys).
3. det / seg iteration: Faster R-CNN and FCN of the demo configs with tricks.ResNet vs mmdet's ResNetV1d / mmseg's
   ResNetV1c of the same depth and widths, `model.train_step` on the same batch, each task in a fresh process.
4. memory: the peak RSS of each side of 1 and 3, each side in a fresh process (`--side`), as RSS is per process.
5. GPU: where CUDA is present, the ResNet-50-D step at 224 px in fp32, TF32, bf16, fp16, channels_last, compiled.
"""

import argparse
import collections
import contextlib
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from cls.trick_card import machine  # noqa: E402
from engine.host import reuse_freed_memory  # noqa: E402

SIZES = {  # figure sizes: (warm-up, repeats) and the batches; --quick keeps every figure but shrinks them
    'full': dict(rounds=(3, 15), cls=[('resnet9', 512), ('resnet18d', 256), ('resnet50d', 32)], images=600, det=8),
    'quick': dict(rounds=(1, 2), cls=[('resnet9', 64), ('resnet18d', 64), ('resnet50d', 4)], images=120, det=2),
}
CLS_CASES = {  # model → (config, image size, timm's name of the same network or None)
    'resnet9': ('configs/cls/resnet9/record_cpu.py', 32, None),
    'resnet18d': ('configs/cls/cifar10/resnet18d_cosine_ls.py', 32, 'resnet18d'),
    'resnet50d': ('configs/cls/imagenet/resnet50d_cosine_ls.py', 224, 'resnet50d'),
}


def alternate(sides: dict[str, Callable[[], None]], warmup: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of each call, the sides taking turns (A B, B A, A B, ... so neither always goes first)."""
    times = {name: [] for name in sides}
    for round_ in range(warmup + repeats):
        for name in list(sides)[:: 1 if round_ % 2 == 0 else -1]:
            start = time.perf_counter()
            sides[name]()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def figure(title: str, unit: str, work: dict[str, float], times: dict[str, list[float]]) -> dict:
    """`work` items per call of each side → rate (`unit`) from the median call; ratio = first side / second side."""
    medians = {name: statistics.median(t) for name, t in times.items()}
    rates = {name: work[name] / medians[name] for name in times}
    (a, rate_a), (b, rate_b) = list(rates.items())[:2]
    row = dict(title=title, unit=unit, rates=rates, spread={n: (min(t), max(t)) for n, t in times.items()},
               repeats=len(next(iter(times.values()))), ratio=rate_a / rate_b)  # fmt: skip
    shown = ', '.join(f'{name} {rate:,.1f}' for name, rate in rates.items())
    print(f'{title}: {a} / {b} = {row["ratio"]:.3f}×  ({unit}: {shown})', flush=True)
    return row


def write_image_folder(root: Path, size: int, per_class: int, classes: int = 10, fmt: str = 'PNG') -> Path:
    """Smooth random images (low-res noise, upsampled: JPEG-like content, not incompressible noise)."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / 'train' / f'class{c}'
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            small = Image.fromarray(rng.integers(0, 256, (max(4, size // 8), max(4, size // 8), 3), dtype=np.uint8))
            small.resize((size, size), Image.BILINEAR).save(folder / f'{i}.{fmt.lower()}', fmt, quality=90)
    return root


# 1. cls training step -------------------------------------------------------------------------------------------------


def plain_step(module: torch.nn.Module, forward: Callable, optimizer, mean, std, augments, dtype,
               smoothing: float) -> Callable:  # fmt: skip
    """The loop a user writes: normalise, augment the batch, autocast forward, loss, backward, SGD step."""
    device = next(module.parameters()).device

    def step(inputs: torch.Tensor, labels: torch.Tensor) -> None:
        x = ((inputs.to(device).float() - mean) / std).contiguous(memory_format=torch.channels_last)
        for augment in augments:
            x = augment(x)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = forward(x)
        loss = F.cross_entropy(logits.float(), labels.to(device), label_smoothing=smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def op_times(profile) -> collections.Counter:
    """Self CPU time (µs) per operator (and per `record_function` range: the DataLoader, the optimiser) of a
    finished `torch.profiler.profile`."""
    return collections.Counter({event.key: event.self_cpu_time_total for event in profile.key_averages()})


def print_op_table(title: str, ops: dict[str, collections.Counter], steps: dict[str, int], rows: int = 25) -> None:
    """Per-step self CPU ms of the `rows` heaviest operators on both sides (the larger side's time first: the
    heavy kernels are listed on every CPU kind, whichever way their noise falls), and the totals."""
    (a, ops_a), (b, ops_b) = ops.items()
    per_step = {side: {key: us / 1e3 / max(steps[side], 1) for key, us in ops[side].items()} for side in ops}
    keys = sorted(set(ops_a) | set(ops_b), key=lambda k: -max(per_step[a].get(k, 0), per_step[b].get(k, 0)))
    print(f'{title}: self CPU ms per step, {steps[a]} and {steps[b]} steps profiled')
    print(f'  {"operator":64s} {a:>12s} {b:>12s}')
    for key in keys[:rows]:
        print(f'  {key[:64]:64s} {per_step[a].get(key, 0):12.2f} {per_step[b].get(key, 0):12.2f}')
    print(f'  {"total":64s} {sum(per_step[a].values()):12.1f} {sum(per_step[b].values()):12.1f}', flush=True)


def runner_vs_plain(case: str, batch: int, rounds: tuple[int, int], tmp: Path, only: str | None = None,
                    profile: bool = False) -> dict:  # fmt: skip
    """Runner iterations and plain-loop steps in turn, in one training run: a hook runs the plain step after each
    Runner iteration; a Runner iteration is the time from the end of one plain step to the start of the next (data,
    data preprocessor, train_step, optimiser wrapper and every hook). With `profile`, each timed Runner iteration and
    plain step runs under its own `torch.profiler.profile`, and the per-operator times of both sides are printed."""
    from mmengine.hooks import Hook

    from engine.cli import load_config, parse_args
    from engine.tasks import TASKS

    config, size, _ = CLS_CASES[case]
    warmup, repeats = rounds
    data = write_image_folder(tmp / f'{case}_data', size, per_class=-(-batch * (warmup + repeats + 1) // 10))
    wrapped = tmp / f'{case}_config.py'  # the recipe as it is, on made-up data, one epoch, no validation
    wrapped.write_text(f"""_base_ = {str(ROOT / config)!r}
model = dict(num_classes=10, teacher=None)
train_cfg = dict(max_epochs=1, val_interval=1000)
param_scheduler = []
train_dataloader = dict(batch_size={batch}, num_workers=0, persistent_workers=False, drop_last=True,
                        collate_fn=dict(type='tricks.as_batch'),
                        dataset=dict(_delete_=True, type='tricks.ResidentImageFolder', data_root={str(data)!r},
                                     cache_dir=None))
val_dataloader = val_cfg = val_evaluator = test_dataloader = test_cfg = test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1000, save_last=False), logger=dict(interval=10))
""")
    settings = parse_args('train', [str(wrapped), '--work-dir', str(tmp / f'{case}_run')])
    cfg = load_config(TASKS['cls'], settings)
    augments = cfg.model.data_preprocessor.get('batch_augments') or []
    cfg.model.data_preprocessor.batch_augments = [
        a for a in augments if a['type'] in ('tricks.RandomCropFlip', 'tricks.Cutout')
    ] or [dict(type='tricks.RandomCropFlip', padding=4)]  # per-sample recipes: the same batch crop + flip both sides
    from mmengine.runner import Runner

    runner = Runner.from_cfg(cfg)
    preprocessor = runner.model.data_preprocessor
    augments = [lambda x, augment=augment: augment(x, None)[0] for augment in preprocessor.batch_augments]
    plain_model = copy.deepcopy(runner.model)
    optimizer_cfg = dict(cfg.optim_wrapper.optimizer)
    kind = optimizer_cfg.pop('type')
    optimizer = getattr(torch.optim, kind)(plain_model.parameters(), **optimizer_cfg)
    times = {'Runner': [], 'plain loop': []}
    ops = {side: collections.Counter() for side in times}

    class Alternate(Hook):
        def before_train(self, runner):
            plain_model.load_state_dict(runner.model.state_dict())  # the weights the Runner just initialised
            self.dtype = getattr(runner.optim_wrapper, 'cast_dtype', None) or torch.float32
            self.step = plain_step(plain_model, plain_model.logits, optimizer, preprocessor.mean, preprocessor.std,
                                   augments, self.dtype, preprocessor.label_smoothing)  # fmt: skip
            self.mark, self.profiler = time.perf_counter(), None

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            now = time.perf_counter()
            if self.profiler is not None:  # the Runner iteration that just ended was profiled
                self.profiler.__exit__(None, None, None)
                ops['Runner'] += op_times(self.profiler)
            counted = runner.iter >= warmup
            if counted:
                times['Runner'].append(now - self.mark)
            if only != 'Runner':
                with torch.profiler.profile() if profile and counted else contextlib.nullcontext() as plain_profile:
                    start = time.perf_counter()
                    self.step(data_batch['inputs'], data_batch['labels'])
                    if counted:
                        times['plain loop'].append(time.perf_counter() - start)
                if plain_profile is not None:
                    ops['plain loop'] += op_times(plain_profile)
            next_counted = runner.iter + 1 >= warmup  # the Runner iteration that starts now will be timed
            self.profiler = torch.profiler.profile() if profile and next_counted else None
            if self.profiler is not None:
                self.profiler.__enter__()
            self.mark = time.perf_counter()

        def after_train(self, runner):
            if self.profiler is not None:  # opened for an iteration that never came: close it, keep nothing
                self.profiler.__exit__(None, None, None)
                self.profiler = None

    alternate = Alternate()
    runner.register_hook(alternate, priority='LOWEST')
    if only == 'plain loop':  # the plain loop alone, for its memory: the same batches, no Runner step
        runner.optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)  # only to read its AMP dtype
        runner.call_hook('before_train')  # what the recipe sets up before its first step (e.g. the whitening's fit)
        for batch_data in runner.build_dataloader(cfg.train_dataloader):
            alternate.step(batch_data['inputs'], batch_data['labels'])
        return {}
    runner.train()
    if only:
        return {}
    if profile:
        print_op_table(f'{case} at {size} px, batch {batch}', ops, {side: len(times[side]) for side in times})
    return figure(f'1. cls step, {case} at {size} px, batch {batch}: Runner vs plain loop', 'images/s',
                  {name: batch for name in times}, times)  # fmt: skip


def ours_vs_timm(case: str, batch: int, rounds: tuple[int, int]) -> dict:
    """Our ResNet-D and timm's, the same network (tests/test_parity.py: same logits from the same weights), each in
    the same plain loop: the AMP rule's precision (bf16 on a CPU with native bf16, else fp32), channels_last, SGD
    with foreach."""
    import timm

    from cls.model import ImageClassifier
    from cls.optim import resolve_amp_dtype

    _, size, timm_name = CLS_CASES[case]
    classes = 10 if size == 32 else 1000
    dtype = resolve_amp_dtype(None, 'cpu')
    ours = ImageClassifier(backbone=dict(type='tricks.ResNet', depth=int(case[6:-1]), variant='d'),
                           num_classes=classes, channels_last=True)  # fmt: skip
    theirs = timm.create_model(timm_name, num_classes=classes).to(memory_format=torch.channels_last)
    params = [sum(p.numel() for p in m.parameters()) for m in (ours, theirs)]
    assert params[0] == params[1], f'{case}: {params[0]} vs {params[1]} parameters: not the same network'
    inputs = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    labels = torch.randint(0, classes, (batch,))
    mean, std = torch.full((1, 3, 1, 1), 120.0), torch.full((1, 3, 1, 1), 60.0)
    steps = {}
    for name, model, forward in (('ours', ours, ours.logits), ('timm', theirs, theirs)):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4, foreach=True)
        step = plain_step(model, forward, optimizer, mean, std, [], dtype, 0.1)
        steps[f'{name} {case}'] = lambda step=step: step(inputs, labels)
    times = alternate(steps, *rounds)
    return figure(f'1. cls model, {case} at {size} px, batch {batch}: ours vs timm (plain loop)', 'images/s',
                  {name: batch for name in steps}, times)  # fmt: skip


# 2. data pipeline -----------------------------------------------------------------------------------------------------


def pipelines(root: Path, size: int, count: int, rounds: tuple[int, int]) -> dict:
    """Per-sample decode + the paper's ImageNet augmentation, one process: ours (tricks.ImageFolder, the registered
    transforms on uint8 tensors) vs torchvision's ImageFolder and the same transforms on PIL images, then a tensor."""
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder as TorchvisionImageFolder

    import cls  # noqa: F401  (registers the transforms)
    from cls.data import ImageFolder

    ours_pipeline = [dict(type='tricks.RandomResizedCrop', size=224), dict(type='tricks.RandomHorizontalFlip'),
                     dict(type='tricks.ColorJitter')]  # fmt: skip
    theirs = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4),
                        T.PILToTensor()])  # fmt: skip
    ours = ImageFolder(data_root=str(root), split='train', pipeline=ours_pipeline)
    torchvision_set = TorchvisionImageFolder(str(root / 'train'), transform=theirs)
    n = min(count, len(ours))
    order = torch.randperm(len(ours), generator=torch.Generator().manual_seed(0))[:n].tolist()
    sides = {'ours': lambda: [ours[i] for i in order], 'torchvision': lambda: [torchvision_set[i] for i in order]}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a DataLoader worker, which torch limits to one thread
    try:
        times = alternate(sides, *rounds)
    finally:
        torch.set_num_threads(threads)
    return figure(f'2. data pipeline, {size}-px JPEGs, {n} images a call: ours vs torchvision', 'images/s',
                  {name: n for name in sides}, times)  # fmt: skip


def resident_vs_torchvision(root: Path, batch: int, count: int, rounds: tuple[int, int]) -> list[dict]:
    """CIFAR-10 as the record runs read it: tricks.ResidentImageFolder (decoded once, kept in memory) and the batch
    crop + flip of the data preprocessor, against two torchvision sides, each a figure:
    - torchvision's ImageFolder, decoding every JPEG on every access, then RandomCrop and flip per image (one worker):
      what keeping the decoded set resident buys, with the batch path;
    - torchvision's v2 RandomCrop and flip per image over the same decoded uint8 tensors, stacked into the batch:
      what the batch path itself buys, the decoding being equal."""
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder as TorchvisionImageFolder
    from torchvision.transforms import v2

    from cls.crop_flip import random_crop_flip
    from cls.resident import ResidentImageFolder

    per_class = -(-count // 10)
    resident = ResidentImageFolder(data_root=str(root), split='train', device='cpu', cache_dir=None,
                                   max_per_class=per_class)  # fmt: skip
    theirs = T.Compose([T.RandomCrop(32, padding=4, padding_mode='reflect'), T.RandomHorizontalFlip(), T.PILToTensor()])
    torchvision_set = TorchvisionImageFolder(str(root / 'train'), transform=theirs)
    starts = {label: torchvision_set.targets.index(label) for label in set(torchvision_set.targets)}
    first = [i for i, label in enumerate(torchvision_set.targets) if i - starts[label] < per_class]
    n = min(count, len(resident)) // batch * batch
    order = torch.randperm(len(resident), generator=torch.Generator().manual_seed(0))[:n].tolist()
    theirs_order = [first[i] for i in order]  # the same images: the first `per_class` files of each class, sorted
    batches = [order[start : start + batch] for start in range(0, n, batch)]
    decoded = resident.__getitems__(list(range(len(resident))))['inputs']  # the same uint8 images, in memory
    per_image = v2.Compose([v2.RandomCrop(32, padding=4, padding_mode='reflect'), v2.RandomHorizontalFlip()])

    def ours():
        for indices in batches:
            random_crop_flip(resident.__getitems__(indices)['inputs'].float(), 4)

    def per_image_from_memory():
        for indices in batches:
            torch.stack([per_image(decoded[i]) for i in indices]).float()

    decoding = alternate({'resident': ours, 'torchvision': lambda: [torchvision_set[i] for i in theirs_order]}, *rounds)
    same_tensors = alternate({'batch': ours, 'per-image': per_image_from_memory}, *rounds)
    return [
        figure(f'2. data path, CIFAR-10 32-px JPEGs, {n} images a call: resident (decoded once) + batch crop/flip vs '
               'torchvision decoding every JPEG per access', 'images/s', dict.fromkeys(decoding, n), decoding),
        figure(f'2. data path, the same {n} decoded uint8 images in memory: batch crop/flip vs torchvision v2 per '
               'image, stacked', 'images/s', dict.fromkeys(same_tensors, n), same_tensors),
    ]  # fmt: skip


# 3. det / seg ---------------------------------------------------------------------------------------------------------

TRANSFER_CASES = {  # task → (config, our backbone's changes, the toolkit's same network)
    'det': ('configs/det/demo/random_init.py', {},
            dict(type='mmdet.ResNetV1d', depth=18, base_channels=16, out_indices=(0, 1, 2, 3), frozen_stages=1,
                 norm_eval=True)),
    'seg': ('configs/seg/demo/random_init.py', dict(variant='c'),
            dict(type='mmseg.ResNetV1c', depth=18, stem_channels=16, base_channels=16)),
}  # fmt: skip


def transfer_iteration(task: str, batch: int, rounds: tuple[int, int], world: Path, only: str | None = None) -> dict:
    """`model.train_step` of the same detector / segmentor with our backbone and with the toolkit's, the same weights
    in both, on one batch."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from engine.cli import register_modules, replace_sync_bn, set_data_root
    from engine.tasks import TASKS

    config, ours_changes, theirs_cfg = TRANSFER_CASES[task]
    register_modules(TASKS[task])
    cfg = Config.fromfile(str(ROOT / config))
    set_data_root(cfg, str(world / {'det': 'voc/', 'seg': 'ade/'}[task]))
    cfg.train_dataloader.batch_size, cfg.train_dataloader.num_workers = batch, 0
    cfg.train_dataloader.persistent_workers = False
    replace_sync_bn(cfg.model)  # one process: BN, as the train tools make it
    scope = TASKS[task].default_scope
    with DefaultScope.overwrite_default_scope(scope):
        data_batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    ours_model = copy.deepcopy(cfg.model)
    ours_model.backbone.update(ours_changes)
    theirs_model = copy.deepcopy(cfg.model)
    if task == 'seg':  # the toolkit's backbone takes the demo's own strides, dilations and outputs
        keep = ('strides', 'dilations', 'out_indices', 'frozen_stages', 'norm_eval', 'contract_dilation')
        theirs_cfg = {**theirs_cfg, **{k: v for k, v in cfg.model.backbone.items() if k in keep}}
    theirs_model.backbone = theirs_cfg
    models, steps = {}, {}
    for name, model_cfg in (('ours', ours_model), (theirs_cfg['type'].split('.')[1], theirs_model)):
        if only and name != only:
            continue
        with DefaultScope.overwrite_default_scope(scope):
            models[name] = ROOT_MODELS.build(model_cfg).train()
    if not only:  # the same weights in both (strict: the same names and shapes), so that the heads see the same
        ours, theirs = models.values()  # features and do the same work (proposals, NMS, sampling depend on them)
        theirs.load_state_dict(ours.state_dict())
    for name, model in models.items():
        with DefaultScope.overwrite_default_scope(scope):
            wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        steps[name] = lambda model=model, wrapper=wrapper: model.train_step(data_batch, wrapper)
    if only:
        for _ in range(sum(rounds)):
            steps[only]()
        return {}
    names = list(steps)
    times = alternate(steps, *rounds)
    return figure(f'3. {task} iteration, batch {batch}: tricks.ResNet vs {names[1]}', 'iterations/s',
                  {name: 1 for name in steps}, times)  # fmt: skip


# 4. memory ------------------------------------------------------------------------------------------------------------


def peak_rss_mib() -> float:
    status = Path('/proc/self/status').read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith('VmHWM'))) / 1024


def start_side(side: str, quick: bool, world: Path) -> subprocess.Popen:
    """This tool with `--side`: one side (or, `<task>:both`, one figure 3) alone in a fresh process."""
    argv = [sys.executable, __file__, '--side', side, '--world', str(world), *(['--quick'] if quick else [])]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def side_result(side: str, process: subprocess.Popen) -> tuple[dict, list[str]]:
    """The JSON line a `--side` process ends with, and all it printed."""
    stdout, stderr = process.communicate(timeout=900)
    if process.returncode != 0:
        raise SystemExit(f'error: --side {side} failed: {stderr.strip().splitlines()[-1:]}')
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]), lines


def memory(sides: list[str], quick: bool, world: Path) -> dict:
    """Each side alone in a fresh process (RSS is per process): its peak resident set in MiB. The processes run two
    at a time: a peak does not depend on the time it takes."""
    peaks, running = {}, []
    for side in [*sides, None]:
        if side is not None:
            running.append((side, start_side(side, quick, world)))
        while running and (len(running) == 2 or side is None):
            done_side, process = running.pop(0)
            peaks[done_side] = side_result(done_side, process)[0]['peak_rss_mib']
            print(f'4. memory, {done_side}: peak RSS {peaks[done_side]:,.0f} MiB', flush=True)
    return peaks


def in_own_process(task: str, quick: bool, world: Path) -> dict:
    """Figure 3 for `task`, measured in a fresh process, so that it inherits no other figure's memory state."""
    result, lines = side_result(f'{task}:both', start_side(f'{task}:both', quick, world))
    print(next(line for line in lines if line.startswith('3. ')), flush=True)
    return result['figure']


def run_side(side: str, size: dict, tmp: Path, world: Path) -> None:
    kind, name = side.split(':')
    if name == 'both':
        figure_row = transfer_iteration(kind, size['det'], size['rounds'], world)
        print(json.dumps(dict(side=side, figure=figure_row)))
        return
    if kind == 'cls':
        case, who = name.split('/')
        batch = dict(size['cls'])[case]
        runner_vs_plain(case, batch, size['rounds'], tmp, only=who)
    else:
        transfer_iteration(kind, size['det'], size['rounds'], world, only=name)
    print(json.dumps(dict(side=side, peak_rss_mib=peak_rss_mib())))


# 5. GPU ---------------------------------------------------------------------------------------------------------------


def gpu_figures(batch: int, rounds: tuple[int, int]) -> list[dict]:
    """ResNet-50-D training step at 224 px on one GPU: precision, memory layout and torch.compile, side by side."""
    from cls.model import ImageClassifier

    inputs = torch.randint(0, 256, (batch, 3, 224, 224), dtype=torch.uint8, device='cuda')
    labels = torch.randint(0, 1000, (batch,), device='cuda')
    mean, std = torch.full((1, 3, 1, 1), 120.0, device='cuda'), torch.full((1, 3, 1, 1), 60.0, device='cuda')

    def make(dtype, channels_last=True, compiled=False, tf32=False):
        model = ImageClassifier(backbone=dict(type='tricks.ResNet', depth=50, variant='d'), num_classes=1000,
                                channels_last=channels_last).cuda()  # fmt: skip
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4, fused=True)
        forward = torch.compile(model.logits) if compiled else model.logits
        step = plain_step(model, forward, optimizer, mean, std, [], dtype, 0.1)

        def run():
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
            step(inputs, labels)
            torch.cuda.synchronize()

        return run

    rows = []
    for title, a, b in (
        ('bf16 vs TF32', make(torch.bfloat16), make(torch.float32, tf32=True)),
        ('fp16 vs TF32', make(torch.float16), make(torch.float32, tf32=True)),
        ('TF32 vs fp32', make(torch.float32, tf32=True), make(torch.float32)),
        ('bf16 channels_last vs NCHW', make(torch.bfloat16), make(torch.bfloat16, channels_last=False)),
        ('bf16 compiled vs eager', make(torch.bfloat16, compiled=True), make(torch.bfloat16)),
    ):
        first, second = title.split(' vs ')
        times = alternate({first: a, second: b}, *rounds)
        torch.cuda.reset_peak_memory_stats()
        a()
        rows.append(figure(f'5. GPU ResNet-50-D 224 px, batch {batch}: {title}', 'images/s',
                           {first: batch, second: batch}, times))  # fmt: skip
        rows[-1]['peak_allocated_gib'] = torch.cuda.max_memory_allocated() / 2**30
    return rows


# ------------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='every figure, small (about two minutes on 2 cores)')
    parser.add_argument('--cifar-root', default='data/cifar10', help='CIFAR-10 as JPEG folders (else made up)')
    parser.add_argument('--world', default='data/demo', help='the embedded world (made if missing, as the ladder does)')
    parser.add_argument('--json', help='also write every figure and the machine to this file')
    parser.add_argument(
        '--profile',
        metavar='CASE',
        choices=CLS_CASES,
        help=f'figure 1 for one model ({", ".join(CLS_CASES)}) with every step profiled, per operator',
    )
    parser.add_argument('--side', help=argparse.SUPPRESS)  # one side alone, for figure 4
    args = parser.parse_args()
    reuse_freed_memory()
    size = SIZES['quick' if args.quick else 'full']
    from ladder.cache import ensure_embedded_world

    world = Path(args.world)
    with tempfile.TemporaryDirectory(prefix='tricks-bench-') as tmp_name:
        tmp = Path(tmp_name)
        if args.profile:  # made-up images only: no world needed
            batch = dict(size['cls'])[args.profile]
            runner_vs_plain(args.profile, batch, size['rounds'], tmp, profile=True)
            return
        ensure_embedded_world(str(world), print)
        if args.side:
            return run_side(args.side, size, tmp, world)
        report = dict(machine=machine(), quick=args.quick, figures=[])
        print(json.dumps(report['machine']), flush=True)
        figures = report['figures']
        for case, batch in size['cls']:
            figures.append(runner_vs_plain(case, batch, size['rounds'], tmp))
            if CLS_CASES[case][2]:
                figures.append(ours_vs_timm(case, batch, size['rounds']))
        cifar = Path(args.cifar_root)
        if not (cifar / 'train').is_dir():
            print(f'{cifar}/train not found: made-up 32-px JPEGs instead of CIFAR-10', flush=True)
            cifar = write_image_folder(tmp / 'cifar_like', 32, per_class=size['images'] // 10 * 4, fmt='JPEG')
        figures.extend(resident_vs_torchvision(cifar, 128, size['images'] * 4, size['rounds']))
        large = write_image_folder(tmp / 'large', 500, per_class=max(2, size['images'] // 100), fmt='JPEG')
        figures.append(pipelines(large, 500, size['images'] // 10, size['rounds']))
        for task in TRANSFER_CASES:
            figures.append(in_own_process(task, args.quick, world))
        sides = [f'cls:{case}/{who}' for case, _ in size['cls'][:1] for who in ('Runner', 'plain loop')]
        sides += [f'{task}:{who}' for task, (_, _, theirs) in TRANSFER_CASES.items()
                  for who in ('ours', theirs['type'].split('.')[1])]  # fmt: skip
        report['peak_rss_mib'] = memory(sides, args.quick, world)
        if torch.cuda.is_available():
            figures.extend(gpu_figures(256 if not args.quick else 32, size['rounds']))
        else:
            print('5. GPU: not measured (no CUDA device here)')
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()

"""A model card and a config.json beside every export, and timm's Hub layout for the backbones timm can build.

`export_backbone` calls `write_model_card`: OUT_DIR/README.md (the Hugging Face model-card layout: YAML front matter,
then model details, recipe, training data, metrics, precision and machine, how to load) and OUT_DIR/config.json (the
same facts as plain JSON). `tools/export_backbone.py --hub-dir DIR` calls `write_hub_dir`: what
`timm.models.save_for_hf(model, DIR, safe_serialization='both')` writes (model.safetensors, pytorch_model.bin and
config.json, in timm's key names) and the README.md that `timm.models.push_to_hf_hub` would add before its upload, which
is not done here.

Every statement is read from the checkpoint: the trick card its components wrote (`meta.trick_card`: the recipe as it
ran, the seed, the AMP dtype, the machine), mmengine's own meta (epoch, iteration, seed, the classes, the run's config
text) and message hub (the last validation, the best score); the parameter count and multiply-adds are measured on the
backbone its architecture config builds, once the weights are checked to fit it. What the checkpoint does not hold is
written "not recorded" (null in config.json, its key listed under `not_recorded`). The config text is read as data
(`config_values`), never run. Imports torch, timm and mmengine only (no `cls`, no `engine`).
"""

import ast
import copy
import json
import math
import os
import shutil
import tempfile

import torch
from mmengine.logging import HistoryBuffer

from .checkpoint import DiskFullError, atomic_write, free_space, is_disk_full, tricks_to_timm, write_json, write_text
from .complexity import measure
from .errors import ArgError, UserError
from .registry import MODELS
from .resnet import VARIANTS

NOT_RECORDED = 'not recorded'
CARD_FILE, CONFIG_FILE = 'README.md', 'config.json'
EXPORT_FILES = ('backbone.safetensors', 'backbone.pth')
HUB_FILES = ('model.safetensors', 'pytorch_model.bin', 'config.json', 'README.md')  # save_for_hf's + the card
IMAGE_SIZE = 224  # the paper's (Table 5) size for counting multiply-adds
# What timm's pretrained_cfg says about an architecture, not about one set of weights (timm's tag, license, origin,
# paper and test-time recommendations describe timm's own weights, so a card of ours leaves them out).
TIMM_ARCH_KEYS = ('input_size', 'fixed_input_size', 'min_input_size', 'interpolation', 'crop_pct', 'crop_mode', 'mean',
                  'std', 'num_classes', 'pool_size', 'first_conv', 'classifier')  # fmt: skip
# The facts that are None when the checkpoint does not hold them (`amp` is None for a run without autocast).
RECORDED_KEYS = ('architecture', 'num_features', 'out_channels', 'out_strides', 'params', 'macs_224px', 'gmacs_224px',
                 'recipe', 'metrics', 'seed', 'precision', 'weights_dtype', 'machine', 'world_size')  # fmt: skip
# ResNet keys that an export's architecture config leaves out (det/seg set them per task) but that change what the
# weights compute in classification; timm's ResNet has only these values.
TIMM_RESNET_FIXED = (('stem_stride', 2), ('stem_pool', True), ('num_stages', 4), ('strides', (1, 2, 2, 2)),
                     ('dilations', (1, 1, 1, 1)))  # fmt: skip


def config_values(text) -> dict:
    """The top-level assignments of mmengine's dumped config text (`meta.cfg`) whose values are plain data (literals,
    `dict(...)` of them), read with `ast` without running anything; any other assignment is left out."""
    if not isinstance(text, str):
        return {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = _literal(node.value)
            except (ValueError, TypeError, RecursionError):
                pass
    return values


def _literal(node):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        if any(keyword.arg is None for keyword in node.keywords):
            raise ValueError('dict(**...)')
        return {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}  # a `**` key is None: refused
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    return ast.literal_eval(node)


def _get(mapping, *keys):
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _last(buffer) -> float | None:
    """The last value of a message hub scalar (mmengine's HistoryBuffer, or its plain form in a raw file)."""
    if isinstance(buffer, HistoryBuffer):
        history = buffer.data[0]
    elif isinstance(buffer, dict) and 'log_history' in buffer:
        history = buffer['log_history']
    else:
        return None
    return float(history[-1]) if len(history) else None


def measured(arch: dict | None, weights: dict) -> tuple[dict | None, str | None]:
    """Parameters, multiply-adds at 224 px and the feature maps of the backbone `arch` builds (its default out_indices:
    every stage), or None and why not. The weights must have exactly its tensors and shapes, else the numbers would be
    another network's."""
    if not arch:
        return None, 'the checkpoint records no backbone config (meta.trick_card.backbone.config)'
    try:
        model = MODELS.build(copy.deepcopy(arch))
    except (UserError, KeyError, TypeError) as err:
        return None, f'the recorded backbone config does not build here ({_one_line(err)})'
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        key = next(k for k in sorted(set(expected) | set(found)) if expected.get(k) != found.get(k))
        return None, f'the weights do not fit the recorded backbone config (first: {key} {found.get(key)}, ' + (
            f'the config builds {expected.get(key)})'
        )
    complexity = measure(model, IMAGE_SIZE, arch.get('in_channels', 3))
    return dict(
        params=complexity.params,
        macs=complexity.macs,
        out_channels=list(model.out_channels),
        out_strides=list(model.out_strides),
        num_features=model.out_channels[-1],
    ), None


def timm_architecture(arch: dict | None, trained_backbone: dict | None = None) -> tuple[str, dict]:
    """timm's model name and the `timm.create_model` arguments (beyond num_classes=0) that build the backbone `arch` in
    timm, or an ArgError saying why timm has none. `trained_backbone`: the run's `model.backbone` config, for the keys
    an architecture config leaves out."""
    kind = (arch or {}).get('type')
    if kind == 'tricks.NFNet':
        return arch['arch'], {}  # timm's own NormFreeNet, its names kept (backbones/nfnet.py)
    if kind != 'tricks.ResNet':
        what = kind or 'a backbone whose config the checkpoint does not record'
        raise ArgError(f'timm has no architecture for {what} (it has tricks.ResNet variants b, c, d and tricks.NFNet)')
    depth, variant = arch['depth'], arch['variant']
    if variant == 'a':
        raise ArgError(f'timm has no ResNet variant a (its resnet{depth} is variant b)')
    name = f'resnet{depth}' + ('' if variant == 'b' else variant)
    import timm

    if not timm.is_model(name):
        raise ArgError(f'timm has no {name} (tricks.ResNet depth={depth}, variant={variant!r})')
    base = arch.get('base_channels', 64)
    stem = arch.get('stem_channels') or base
    args = {}
    if base != 64:
        args['channels'] = [base * 2**i for i in range(4)]
    if VARIANTS[variant].deep_stem:  # timm's deep stem: stem_width, stem_width, 2 * stem_width (ours: half, half, all)
        if stem % 2:
            raise ArgError(f"timm's deep stem has an even width; this ResNet's stem has {stem} channels")
        if stem != 64:
            args['stem_width'] = stem // 2
    elif stem != 64:
        raise ArgError(f"timm's {name} has a 64-channel 7×7 stem; this ResNet's has {stem} channels")
    if arch.get('in_channels', 3) != 3:
        args['in_chans'] = arch['in_channels']
    for key, value in TIMM_RESNET_FIXED:
        trained = (trained_backbone or {}).get(key, value)
        if (tuple(trained) if isinstance(trained, list) else trained) != value:
            raise ArgError(
                f"the run trained this ResNet with {key}={trained!r} (its config); timm's {name} has {value!r}"
            )
    return name, args


def timm_model(arch: dict | None, weights: dict, trained_backbone: dict | None = None, device='cpu'):
    """The timm model of `arch` (`timm_architecture`) holding `weights` in timm's names; an ArgError naming the first
    tensor that does not fit. `device='meta'` checks the fit without building real tensors."""
    import timm

    name, args = timm_architecture(arch, trained_backbone)
    default = timm.models.get_pretrained_cfg(name)
    pretrained_cfg = {k: v for k, v in (default.to_dict() if default else {}).items() if k in TIMM_ARCH_KEYS}
    with torch.device(device):
        model = timm.create_model(name, num_classes=0, pretrained_cfg=dict(pretrained_cfg, architecture=name), **args)
    state = tricks_to_timm(weights) if arch['type'] == 'tricks.ResNet' else dict(weights)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        key = next(k for k in sorted(set(expected) | set(found)) if expected.get(k) != found.get(k))
        raise ArgError(f"the weights do not fit timm's {name}: {key} is {found.get(key)}, timm's {expected.get(key)}")
    if device != 'meta':
        model.load_state_dict(state, strict=True)
    return model.eval()


def card_facts(checkpoint: dict, weights: dict, source: str) -> dict:
    """What the card states, as config.json holds it: every fact read from `checkpoint` (its content) or measured on
    the backbone its architecture config builds; None where the checkpoint does not record it."""
    meta = checkpoint.get('meta') or {}
    card = meta.get('trick_card') or {}
    arch = _get(card, 'backbone', 'config')
    cfg = config_values(meta.get('cfg'))
    size, unmeasured = measured(arch, weights)
    try:
        name, args = timm_architecture(arch, _get(cfg, 'model', 'backbone'))
        timm_model(arch, weights, _get(cfg, 'model', 'backbone'), device='meta')  # the weights fit it
        timm_info = dict(architecture=name, model_args=args)
    except ArgError as err:
        timm_info = dict(architecture=None, why_not=str(err))
    dtypes = sorted({str(v.dtype).removeprefix('torch.') for v in weights.values() if v.is_floating_point()})
    weights_dtype = dtypes[0] if len(dtypes) == 1 else dtypes or None
    amp = card.get('amp')  # None: no autocast, the run computed in its weights' dtype
    facts = dict(
        architecture=arch,
        num_features=(size or {}).get('num_features'),
        out_channels=(size or {}).get('out_channels'),
        out_strides=(size or {}).get('out_strides'),
        params=(size or {}).get('params'),
        macs_224px=(size or {}).get('macs'),
        gmacs_224px=round(size['macs'] / 1e9, 3) if size else None,
        recipe={k: v for k, v in card.items() if k != 'machine'} or None,
        data=data_facts(meta, cfg, card),
        metrics=metric_facts(checkpoint, cfg),
        seed=card.get('seed', meta.get('seed')),
        precision=(amp or (weights_dtype if isinstance(weights_dtype, str) else None)) if 'amp' in card else None,
        amp=amp,
        weights_dtype=weights_dtype,
        machine=card.get('machine'),
        world_size=card.get('world_size'),
        checkpoint=dict(source=source, epoch=meta.get('epoch'), iteration=meta.get('iter')),
        timm=timm_info,
        tensors=len(weights),
        files=dict(weights=list(EXPORT_FILES), card=CARD_FILE, config=CONFIG_FILE),
    )
    if unmeasured:
        facts['unmeasured'] = unmeasured
    missing = [k for k in RECORDED_KEYS if facts[k] is None]
    unset = ('indices', 'pipeline') if cfg else ()  # a config that sets none: the whole split, no transform
    missing += [f'data.{k}' for k, v in facts['data'].items() if v is None and k not in unset]
    missing += [f'checkpoint.{k}' for k, v in facts['checkpoint'].items() if v is None]
    facts['not_recorded'] = missing + (['amp'] if 'amp' not in card else [])
    return facts


def data_facts(meta: dict, cfg: dict, card: dict) -> dict:
    """The training set as the run's config names it, its classes (mmengine's dataset_meta) and the run's steps."""
    dataset = _get(cfg, 'train_dataloader', 'dataset') or {}
    classes = _get(meta, 'dataset_meta', 'classes')
    epochs, iterations, batch = card.get('epochs'), card.get('iterations'), card.get('batch_size')
    steps = iterations // epochs if isinstance(epochs, int) and isinstance(iterations, int) and epochs > 0 else None
    pipeline = dataset.get('pipeline')
    return dict(
        dataset=dataset.get('type'),
        data_root=dataset.get('data_root'),
        split=dataset.get('split'),
        indices=dataset.get('indices'),
        num_classes=len(classes) if classes else _get(cfg, 'model', 'num_classes'),
        classes=list(classes) if classes else None,
        images=None,  # no checkpoint records how many images its training split held
        steps_per_epoch=steps,
        images_per_step=batch,
        epochs=epochs,
        iterations=iterations,
        pipeline=[_call(t) for t in pipeline] if isinstance(pipeline, list) else None,
    )


def metric_facts(checkpoint: dict, cfg: dict) -> dict | None:
    """The last validation the checkpoint's message hub holds (`val/*` scalars but times) and the best score."""
    hub = checkpoint.get('message_hub') or {}
    scalars = hub.get('log_scalars') or {}
    last = {}
    for name, buffer in scalars.items():
        value = _last(buffer)
        if name.startswith('val/') and not name.endswith('time') and value is not None and math.isfinite(value):
            last[name.removeprefix('val/')] = value
    info = hub.get('runtime_info') or {}
    best = info.get('best_score')
    if not last and best is None:
        return None
    best_key = _get(cfg, 'default_hooks', 'checkpoint', 'save_best')
    best_ckpt = info.get('best_ckpt')
    return dict(
        last_validation=last or None,
        best=dict(metric=best_key if isinstance(best_key, str) else None, score=best) if best is not None else None,
        best_checkpoint=os.path.basename(best_ckpt) if isinstance(best_ckpt, str) else None,
    )


def write_model_card(checkpoint: dict, weights: dict, out_dir: str, source: str) -> dict:
    """OUT_DIR/config.json and OUT_DIR/README.md for the export of `checkpoint` (its content) in OUT_DIR, atomically;
    return the facts."""
    facts = card_facts(checkpoint, weights, source)
    write_json(os.path.join(out_dir, CONFIG_FILE), facts)
    write_text(os.path.join(out_dir, CARD_FILE), render_card(facts, out_dir))
    return facts


def hub_model(checkpoint: dict, weights: dict):
    """The timm model of this export's backbone, holding its weights (`timm_model`); an ArgError for a backbone timm
    has no architecture for, naming it."""
    meta = checkpoint.get('meta') or {}
    backbone = _get(config_values(meta.get('cfg')), 'model', 'backbone')
    return timm_model(_get(meta, 'trick_card', 'backbone', 'config'), weights, backbone)


def write_hub_dir(model, checkpoint: dict, weights: dict, hub_dir: str, source: str, export_dir: str | None) -> None:
    """HUB_DIR as `huggingface_hub.upload_folder` would upload a timm model: what `timm.models.save_for_hf` writes
    (safe_serialization='both') for `model` (`hub_model`), and the card as README.md; each file written under a
    temporary name and renamed into place. Nothing is uploaded."""
    import timm

    facts = card_facts(checkpoint, weights, source)
    os.makedirs(hub_dir, exist_ok=True)
    parent = os.path.dirname(os.path.abspath(hub_dir))
    staging = tempfile.mkdtemp(dir=parent, prefix=f'.{os.path.basename(os.path.abspath(hub_dir))}.', suffix='.partial')
    try:
        try:
            timm.models.save_for_hf(model, staging, safe_serialization='both')
        except (OSError, RuntimeError) as err:
            if not is_disk_full(err, parent):
                raise
            raise DiskFullError(
                f'{hub_dir}: no space left on the device ({free_space(parent)} free); nothing was written there'
            ) from None
        for name in sorted(os.listdir(staging)):
            moved = os.path.join(staging, name)
            atomic_write(os.path.join(hub_dir, name), lambda tmp, src=moved: os.replace(src, tmp))
        write_text(os.path.join(hub_dir, CARD_FILE), render_card(facts, export_dir, hub_dir=hub_dir))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- the README ---------------------------------------------------------------------------------------------------


def render_card(facts: dict, export_dir: str | None, hub_dir: str | None = None) -> str:
    """The model card of `facts` (`card_facts`) in the Hugging Face layout: for the export in `export_dir`, or, with
    `hub_dir`, for timm's layout there."""
    arch = facts['architecture']
    kind = (arch or {}).get('type', '')
    timm_name = facts['timm']['architecture']
    tags = ['image-feature-extraction', 'backbone', 'bag-of-tricks']
    if kind:
        tags.append(kind.removeprefix('tricks.').lower())
    lines = ['---']
    lines.append(f'library_name: {"timm" if hub_dir else "mmengine"}')
    if hub_dir:
        lines.append('pipeline_tag: image-feature-extraction')
        tags = ['timm', *tags]
    lines += ['tags:', *(f'- {tag}' for tag in tags), '---', '']
    # No license: no checkpoint records one. No `datasets`: they name Hub datasets, and a checkpoint names a folder.
    lines += [f'# {title(arch)}', '']
    where = facts['checkpoint']['source']
    epoch, iteration = facts['checkpoint']['epoch'], facts['checkpoint']['iteration']
    lines.append(
        f'The backbone of `{where}` (epoch {_or(epoch)}, iteration {_or(iteration)}), exported by '
        + (
            '`tools/export_backbone.py --hub-dir` in the layout `timm.models.save_for_hf` writes.'
            if hub_dir
            else '`backbones/checkpoint.py: export_backbone` (tools/export_backbone.py, the ladder).'
        )
        + ' Every fact below is read from that checkpoint or measured on the network its architecture config builds; '
        f'what it does not hold is marked "{NOT_RECORDED}".'
    )
    lines += ['', '## Model details', '']
    lines.append(f'- **Architecture:** {architecture_text(arch)}')
    if facts['params'] is not None:
        lines.append(f'- **Parameters:** {facts["params"]:,} ({facts["params"] / 1e6:.2f} M), without a classifier')
        lines.append(
            f'- **GMACs at {IMAGE_SIZE} px:** {facts["macs_224px"] / 1e9:.2f} (multiply-adds of convs and matmuls for '
            f'one {IMAGE_SIZE}×{IMAGE_SIZE} image, counted as the paper counts FLOPs: `backbones/complexity.py`)'
        )
        lines.append(
            f'- **Feature maps:** channels {tuple(facts["out_channels"])} at strides {tuple(facts["out_strides"])}; '
            f'num_features {facts["num_features"]}'
        )
    else:
        why = NOT_RECORDED if arch is None else 'not measured'
        lines.append(f'- **Parameters, GMACs at {IMAGE_SIZE} px, feature maps:** {why}: {facts.get("unmeasured")}')
    lines.append(f'- **Weights:** {facts["tensors"]} tensors, {_or(facts["weights_dtype"])}')
    files = HUB_FILES if hub_dir else (*EXPORT_FILES, CONFIG_FILE, CARD_FILE)
    lines.append('- **Files:** ' + ', '.join(f'`{name}`' for name in files))
    if hub_dir:
        lines.append(
            f"- **timm:** `{timm_name}`, weights in timm's key names (`backbones.checkpoint.tricks_to_timm`); "
            "config.json is timm's (`architecture`, `num_classes`, `num_features`, `global_pool`, `model_args`, "
            "`pretrained_cfg`). pretrained_cfg's preprocessing (input size, mean/std, crop) is timm's default for the "
            'architecture, not a record of the run: the run\'s pipeline is under "Training data".'
        )
    lines += ['', '## Training recipe', '']
    recipe = facts['recipe']
    if recipe:
        lines += ["The trick card the run's components wrote into the checkpoint, as they ran.", '']
        lines += ['| trick card key | value |', '|---|---|']
        lines += [f'| `{key}` | {_cell(value)} |' for key, value in recipe.items()]
    else:
        lines.append(f'{NOT_RECORDED} (the checkpoint has no trick card)')
    lines += ['', '## Training data', '']
    lines += data_lines(facts['data'])
    lines += ['', '## Metrics', '']
    lines.append(f'- **Seed:** {_or(facts["seed"])} (one run)')
    metrics = facts['metrics']
    if metrics:
        last = metrics['last_validation']
        if last:
            values = ', '.join(f'{name} {value:.4g}' for name, value in last.items())
            lines.append(f'- **Last validation in the checkpoint:** {values}')
        best = metrics['best']
        if best:
            lines.append(
                f'- **Best {best["metric"] or "score"}:** {best["score"]:.4g}'
                + (f' (`{metrics["best_checkpoint"]}`)' if metrics['best_checkpoint'] else '')
            )
    else:
        lines.append(f'- **Validation metrics:** {NOT_RECORDED}')
    lines += ['', '## Precision and machine', '']
    lines += precision_lines(facts)
    lines += ['', '## How to load', '']
    lines += load_lines(facts, export_dir, hub_dir)
    return '\n'.join(lines) + '\n'


def title(arch: dict | None) -> str:
    kind = (arch or {}).get('type')
    if kind == 'tricks.ResNet':
        return f'ResNet-{arch["depth"]}-{arch["variant"].upper()} backbone'
    if kind == 'tricks.NFNet':
        return f'{arch["arch"]} backbone'
    return f'{kind.removeprefix("tricks.")} backbone' if kind else 'Backbone'


def architecture_text(arch: dict | None) -> str:
    if not arch:
        return f'{NOT_RECORDED} (no backbone config in the checkpoint)'
    text = f'`{arch["type"]}` ' + ', '.join(f'{k}={v!r}' for k, v in arch.items() if k != 'type')
    if arch['type'] == 'tricks.ResNet' and arch.get('variant') in VARIANTS:
        spec = VARIANTS[arch['variant']]
        parts = [
            "stride 2 in the downsampling block's first 1×1 conv" if spec.stride_in_1x1 else 'stride 2 in the 3×3 conv',
            'three 3×3 stem convs' if spec.deep_stem else 'a 7×7 stem conv',
        ]
        if spec.avg_down:
            parts.append("a 2×2 average pool before the shortcut's 1×1 conv")
        text += f' (variant {arch["variant"]}: ' + ', '.join(parts) + ')'
    return text


def data_lines(data: dict) -> list[str]:
    lines = []
    keys = ('dataset', 'data_root', 'split')
    named = [f'`{data[k]}`' if k == 'dataset' else f'{k} `{data[k]}`' for k in keys if data[k] is not None]
    lines.append('- **Dataset:** ' + (', '.join(named) + " (the run's config)" if named else NOT_RECORDED))
    if data['classes']:
        shown = ', '.join(map(str, data['classes'][:12])) + (', …' if len(data['classes']) > 12 else '')
        lines.append(f'- **Classes:** {data["num_classes"]} ({shown})')
    else:
        lines.append(f'- **Classes:** {_or(data["num_classes"])}')
    steps, batch = data['steps_per_epoch'], data['images_per_step']
    size = f"- **Size:** {NOT_RECORDED} (no checkpoint holds the split's image count)"
    if steps is not None and batch is not None:
        size += f'; the run took {steps} steps an epoch of {batch} images: at most {steps * batch:,} images an epoch'
    lines.append(size)
    if data['indices'] is not None:
        lines.append(f"- **Subset:** `train_dataloader.dataset.indices={data['indices']!r}` (the run's config)")
    lines.append(f'- **Length:** epochs {_or(data["epochs"])}, iterations {_or(data["iterations"])}')
    if data['pipeline']:
        lines.append('- **Train pipeline:** ' + ' → '.join(f'`{step}`' for step in data['pipeline']))
    return lines


def precision_lines(facts: dict) -> list[str]:
    amp = facts['amp']
    if 'amp' in facts['not_recorded']:
        precision = NOT_RECORDED
    elif amp:
        precision = f'{amp} autocast (mixed precision); weights kept in {_or(facts["weights_dtype"])}'
    else:
        precision = f"no autocast: computed in the weights' dtype, {_or(facts['weights_dtype'])}"
    lines = [f'- **Precision:** {precision}']
    machine = facts['machine']
    if not machine:
        return [*lines, f'- **Machine:** {NOT_RECORDED}']
    device = machine.get('device')
    cpu = machine.get('cpu')
    cpu_text = f'{cpu}' if cpu else NOT_RECORDED
    extras = []
    if machine.get('cpu_capability'):
        extras.append(f'ATen kernels {machine["cpu_capability"]}')
    if 'cpu_native_bf16' in machine:
        extras.append(f'native bf16: {"yes" if machine["cpu_native_bf16"] else "no"}')
    if machine.get('threads'):
        extras.append(f'{machine["threads"]} threads')
    lines.append(f'- **Trained on:** {_or(device)}; world size {_or(facts["world_size"])}')
    lines.append(f'- **CPU:** {cpu_text}' + (f' ({", ".join(extras)})' if extras else ''))
    lines.append(f'- **GPU:** {machine["gpu"] or "none"}' if 'gpu' in machine else f'- **GPU:** {NOT_RECORDED}')
    versions = [f'{name} {machine[name]}' for name in ('torch', 'timm', 'mmengine', 'python') if machine.get(name)]
    if versions:
        lines.append('- **Versions:** ' + ', '.join(versions))
    return lines


def load_lines(facts: dict, export_dir: str | None, hub_dir: str | None) -> list[str]:
    arch = facts['architecture']
    timm_name, timm_args = facts['timm']['architecture'], facts['timm'].get('model_args') or {}
    lines = []
    if hub_dir:
        lines += [
            '### timm',
            '',
            '```python',
            'import timm',
            '',
            f"model = timm.create_model('local-dir:{hub_dir}', pretrained=True)  # config.json + model.safetensors",
            '```',
            '',
            'returns global-average-pooled features (num_classes=0); after `huggingface_hub.upload_folder` of this '
            "folder, `timm.create_model('hf-hub:<repo id>', pretrained=True)` reads the same files.",
        ]
        if not timm_args:
            lines += [
                '',
                '```python',
                f"model = timm.create_model('{timm_name}', pretrained=True, num_classes=0,",
                f"                          pretrained_cfg_overlay=dict(file='{hub_dir}/model.safetensors'))",
                '```',
            ]
        if not export_dir:
            return lines
        lines += ['']
    pth = f'{export_dir}/backbone.pth'
    lines += [
        '### mmdet / mmseg' + (f' (the export in `{export_dir}`)' if hub_dir else ''),
        '',
        "With the suite's `backbones` package importable (this checkout on `PYTHONPATH`, or `pip install .`):",
        '',
        '```python',
        "custom_imports = dict(imports=['backbones'], allow_failed_imports=False)",
        "model = dict(backbone=dict(_delete_=True, type='tricks.ExportedBackbone',",
        f"                           checkpoint='{pth}', out_indices=(0, 1, 2, 3),",
        '                           frozen_stages=1, norm_eval=True))',
        '```',
        '',
        'builds the backbone from the architecture the file carries (`meta.backbone`) with `init_cfg=Pretrained` on '
        'it; restating an architecture key is refused.',
    ]
    if arch:
        keys = ', '.join(f'{k}={v!r}' for k, v in arch.items())
        lines += [
            '',
            'Naming the type instead:',
            '',
            '```python',
            f'model = dict(backbone=dict({keys},',
            f"                           init_cfg=dict(type='Pretrained', checkpoint='{pth}')))",
            '```',
        ]
    if facts['out_channels']:
        lines += [
            '',
            f"The suite's `tools/train_det.py` / `tools/train_seg.py` set the neck's and heads' `in_channels` to the "
            f"export's channels {tuple(facts['out_channels'])} themselves; with mmdet's or mmseg's own "
            'tools/train.py, set them in the config.',
        ]
    if hub_dir:
        return lines
    lines += ['', '### timm', '']
    if timm_name is None:
        lines.append(f'Not available: {facts["timm"]["why_not"]}.')
        return lines
    arguments = ''.join(f', {k}={v!r}' for k, v in timm_args.items())
    lines += [
        f"`tools/export_backbone.py CHECKPOINT {export_dir} --hub-dir DIR` writes timm's own layout "
        '(model.safetensors, pytorch_model.bin, config.json, README.md), loaded with '
        "`timm.create_model('local-dir:DIR', pretrained=True)`. Or from these files:",
        '',
        '```python',
        'import timm',
        'from backbones.checkpoint import load_checkpoint, tricks_to_timm',
        '',
        f"model = timm.create_model('{timm_name}', num_classes=0{arguments})",
        f"model.load_state_dict(tricks_to_timm(load_checkpoint('{export_dir}/backbone.safetensors')))",
        '```',
    ]
    return lines


def _or(value) -> str:
    return NOT_RECORDED if value is None else str(value)


def _call(step) -> str:
    """A transform config as a call: `tricks.RandomResizedCrop(size=224, scale=(0.08, 1.0))`."""
    if not isinstance(step, dict):
        return str(step)
    return f'{step.get("type")}(' + ', '.join(f'{k}={v!r}' for k, v in step.items() if k != 'type') + ')'


def _cell(value) -> str:
    """A trick-card value in one table cell: schedules as calls, other data as JSON."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and 'type' in v for v in value):
        text = ' → '.join(_call(v) for v in value)
    elif isinstance(value, dict) and 'type' in value:
        text = _call(value)
    else:
        text = json.dumps(value, default=str)
    return text.replace('|', '\\|')


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__

"""Checkpoints that are plain data, one safe loader, backbone export, and weight-name mapping to and from timm.

torch ≥ 2.6 loads with `weights_only=True`, which refuses what mmengine 0.10.7 pickles into every checkpoint
(`HistoryBuffer`, numpy arrays and scalars, `collections.Counter`). Allow-listing those would also admit
`builtins.getattr` (HistoryBuffer's bound statistic methods), i.e. code execution. Instead:
- `to_plain` turns those objects into tagged plain data (lists, numbers, tensors) just before a save
  (`engine.hooks.PlainCheckpointHook`);
- `load_checkpoint` always uses `weights_only=True`, refuses anything else with a one-line error, and turns the
  tagged data back into mmengine's objects. `use_safe_loader()` makes it mmengine's loader for every local path
  (`resume`, `load_from`, `init_cfg=Pretrained`); importing `backbones` calls it, see `backbones/__init__.py`.
"""

import collections
import errno
import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .errors import CheckpointError

_TAG = '__plain__'


def to_plain(obj):
    """mmengine's checkpoint contents → data that `torch.load(weights_only=True)` accepts, with tags to undo it."""
    if isinstance(obj, HistoryBuffer):
        return {
            _TAG: 'HistoryBuffer',
            'log_history': obj._log_history.tolist(),
            'count_history': obj._count_history.tolist(),
            'max_length': obj.max_length,
        }
    if isinstance(obj, collections.Counter):
        return {_TAG: 'Counter', 'items': {k: to_plain(v) for k, v in obj.items()}}
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return {_TAG: 'ndarray', 'data': torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return type(obj)((k, to_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj):
    """Inverse of `to_plain`."""
    if isinstance(obj, dict):
        kind = obj.get(_TAG)
        if kind == 'HistoryBuffer':
            return HistoryBuffer(obj['log_history'], obj['count_history'], obj['max_length'])
        if kind == 'Counter':
            return collections.Counter({k: from_plain(v) for k, v in obj['items'].items()})
        if kind == 'ndarray':
            return obj['data'].numpy()
        return type(obj)((k, from_plain(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_plain(v) for v in obj)
    return obj


DIGESTS = 'tensor_digests'  # the key, in a checkpoint's `meta` or an export's metadata, of its tensors' digests
verify_digests = True  # the tools' --no-verify sets it False, to read a damaged file anyway


def tensor_digest(tensor: torch.Tensor) -> str:
    """blake2b of a tensor's dtype, shape and bytes, 16 hex digits: one flipped bit anywhere changes it."""
    data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
    digest = hashlib.blake2b(f'{tensor.dtype}{tuple(tensor.shape)}'.encode(), digest_size=8)
    digest.update(data)
    return digest.hexdigest()


def tensor_digests(obj, path: str = '') -> dict[str, str]:
    """`{'state_dict/backbone.stem.0.weight': digest, 'optimizer/state/3/momentum_buffer': ...}`: every tensor under
    `obj` by its path of keys, a checkpoint's `meta` left out (it holds the digests)."""
    if torch.is_tensor(obj):
        return {path: tensor_digest(obj)}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    found = {}
    for key, value in items:
        if not (path == '' and key == 'meta'):
            found.update(tensor_digests(value, f'{path}/{key}' if path else str(key)))
    return found


def check_digests(path: str, content, saved: dict[str, str] | None) -> None:
    """Compare what was loaded from `path` with the digests saved with it (a file without any passes: it predates
    them or comes from elsewhere); one CheckpointError naming the file and the first tensor that differs."""
    if not saved or not verify_digests:
        return
    found = tensor_digests(content)
    for name, digest in saved.items():
        if found.get(name) != digest:
            what = 'is missing' if name not in found else 'does not match the digest saved with it'
            raise CheckpointError(f'{path}: tensor {name} {what}: the file is damaged (--no-verify reads it anyway)')


def load_checkpoint(path: str, map_location='cpu'):
    """Load a `.pth`/`.pt` (torch, `weights_only=True`) or `.safetensors` file; never runs code from it."""
    path = os.path.expanduser(str(path))
    if not os.path.isfile(path):
        raise CheckpointError(f'{path}: no such checkpoint file')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file

        device = map_location if isinstance(map_location, (str, torch.device)) else 'cpu'
        try:
            weights = load_file(path, device=str(device))
        except Exception as err:  # safetensors raises its own error types
            raise CheckpointError(f'{path}: not a readable safetensors file ({_first_line(err)})') from None
        from safetensors import safe_open

        with safe_open(path, 'pt') as f:
            saved = (f.metadata() or {}).get(DIGESTS)
        check_digests(path, {'state_dict': weights}, json.loads(saved) if saved else None)
        return weights
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r'GLOBAL (\S+)', str(err)) or re.search(r'global (\S+)', str(err), re.IGNORECASE)
        what = found.group(1) if found else _first_line(err)
        raise CheckpointError(
            f'{path}: refused: it holds {what}, which is not plain data (only tensors, numbers, '
            f'strings and containers are loaded, weights_only=True)'
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as err:
        # damaged bytes: a cut-off zip, or a pickle stream that reads as nonsense (memo keys, string decoding)
        raise CheckpointError(
            f'{path}: not a readable torch checkpoint ({type(err).__name__}: {_first_line(err)})'
        ) from None
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    check_digests(path, checkpoint, meta.get(DIGESTS) if isinstance(meta, dict) else None)
    return from_plain(checkpoint)


class DiskFullError(CheckpointError):
    """A save that found no space left on the device; what was there before stays as it was."""


def fsync(path: str) -> None:
    """Flush a file's (or a directory's: its entries') data to the disk, so a rename survives a crash."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if os.path.isdir(path) else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_space(folder: str) -> str:
    """The space left where `folder` lives, e.g. '12.0 MiB'."""
    return f'{shutil.disk_usage(folder).free / 2**20:.1f} MiB'


def is_disk_full(err: BaseException, folder: str) -> bool:
    """ENOSPC, or torch.save's own 'file write failed' (a RuntimeError without errno) on a device that is full."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return True
    return isinstance(err, RuntimeError) and 'write failed' in str(err) and shutil.disk_usage(folder).free < 2**24


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """`write(tmp_path)` into a temporary file beside `path`, flushed to the disk, then renamed over `path` (and the
    rename flushed): a reader, a run killed mid-save or a crash never sees half a file. A full disk raises
    DiskFullError, in one line naming the file and the free space, and leaves `path` as it was."""
    folder = os.path.dirname(os.path.abspath(path))
    # (No leading dot: torch.save names its zip archive after the file and refuses such names.)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'{os.path.basename(path)}.', suffix='.partial')
    os.close(fd)
    try:
        write(tmp)
        fsync(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private (0600); a saved file reads as open() makes it
        os.replace(tmp, path)
        fsync(folder)
    except (OSError, RuntimeError) as err:
        if not is_disk_full(err, folder):
            raise
        raise DiskFullError(
            f'{path}: no space left on the device ({free_space(folder)} free); the file was not written and what '
            f'was there is unchanged'
        ) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    """`text` written atomically (`atomic_write`)."""

    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)

    atomic_write(path, write)


def write_json(path: str, data) -> None:
    """`data` as indented JSON, written atomically (`atomic_write`)."""
    write_text(path, json.dumps(data, indent=1, default=str))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def latest_checkpoint(work_dir: str) -> str | None:
    """The checkpoint that the work dir's `last_checkpoint` pointer names, or None. The pointer is relative to the work
    dir (`engine.hooks.CheckpointHook` writes it so, so that a copied work dir resumes from its own files); an absolute
    pointer of an older run that leads out of the work dir is taken to mean the file of that name inside it, if any."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(pointer):
        return None
    with open(pointer) as f:
        named = f.read().strip()
    if not named:
        return None
    if not os.path.isabs(named):
        return os.path.join(work_dir, named)
    own = os.path.join(work_dir, os.path.basename(named))
    outside = os.path.dirname(os.path.abspath(named)) != os.path.abspath(work_dir)
    return own if outside and os.path.isfile(own) else named


def use_safe_loader() -> None:
    """Make `load_checkpoint` mmengine's loader for every local path (Runner.resume, load_from, init_cfg=Pretrained)
    in this process, so that no checkpoint mmengine opens can run code."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_checkpoint)


def backbone_weights(checkpoint: dict, checkpoint_path: str, prefix: str = 'backbone.') -> dict:
    """The `prefix*` tensors of a classification checkpoint's content, keys without `prefix`; a CheckpointError naming
    the file if there are none."""
    state = checkpoint.get('state_dict', checkpoint)
    weights = {k[len(prefix) :]: v.contiguous() for k, v in state.items() if k.startswith(prefix)}
    if not weights:
        raise CheckpointError(f'{checkpoint_path}: no "{prefix}*" weights in the checkpoint')
    return weights


def export_backbone(
    checkpoint_path: str, out_dir: str, prefix: str = 'backbone.', checkpoint: dict | None = None
) -> dict:
    """Write the backbone of a classification checkpoint as OUT_DIR/backbone.safetensors and OUT_DIR/backbone.pth
    (`{'state_dict', 'meta': {'backbone', 'trick_card', 'source'}}`), keys without `prefix`, atomically; return the
    weights. `meta.backbone` is the backbone's own architecture config (its `arch_config()`, from the trick card), so
    that det/seg configs build the same network from the file (`tricks.ExportedBackbone`) and the weights check can
    tell variants of equal shapes apart. Beside them, OUT_DIR/README.md (a model card) and OUT_DIR/config.json state
    what the checkpoint records about the backbone (`backbones.model_card`). `checkpoint`: the file's content, if the
    caller has already loaded it."""
    from safetensors.torch import save_file

    from .model_card import write_model_card

    checkpoint = checkpoint if checkpoint is not None else load_checkpoint(checkpoint_path)
    weights = backbone_weights(checkpoint, checkpoint_path, prefix)
    card = checkpoint.get('meta', {}).get('trick_card', {})
    meta = dict(backbone=card.get('backbone', {}).get('config'), trick_card=card, source=checkpoint_path)
    meta[DIGESTS] = tensor_digests({'state_dict': weights})
    os.makedirs(out_dir, exist_ok=True)
    atomic_write(
        os.path.join(out_dir, 'backbone.safetensors'),
        lambda p: save_file(weights, p, metadata={k: json.dumps(v) for k, v in meta.items()}),
    )
    atomic_write(os.path.join(out_dir, 'backbone.pth'), lambda p: torch.save({'state_dict': weights, 'meta': meta}, p))
    write_model_card(checkpoint, weights, out_dir, checkpoint_path)
    return weights


def exported_meta(path: str, content: dict | None = None) -> dict:
    """The `meta` an export wrote beside its weights (`backbone`, `trick_card`, `source`); {} for other files.
    `content`: the file as `load_checkpoint` returned it, if the caller has it."""
    content = content if content is not None else load_checkpoint(path)  # names a missing or unreadable file
    if str(path).endswith('.safetensors'):
        from safetensors import safe_open

        with safe_open(path, 'pt') as f:
            return {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
    return content.get('meta', {}) if 'state_dict' in content else {}


def timm_to_tricks(state_dict: dict) -> dict:
    """Rename a timm ResNet state dict (`resnet50`, `resnet50c`, `resnet50d`, …) to `tricks.ResNet`'s names.

    The blocks share torchvision's names; only timm's deep stem differs: `conv1.{0,1,3,4,6}` + `bn1` → mmdet's
    `stem.{0,1,3,4,6,7}`. The classifier (`fc.*`) is dropped.
    """
    deep = any(k.startswith('conv1.0.') for k in state_dict)
    renamed = {}
    for key, value in state_dict.items():
        if key.startswith('fc.'):
            continue
        if deep and key.startswith('conv1.'):
            key = 'stem.' + key[len('conv1.') :]
        elif deep and key.startswith('bn1.'):
            key = 'stem.7.' + key[len('bn1.') :]
        renamed[key] = value
    return renamed


def tricks_to_timm(state_dict: dict) -> dict:
    """`timm_to_tricks`'s inverse: `tricks.ResNet`'s names (variants b, c, d) → timm's ResNet names, the deep stem's
    `stem.{0,1,3,4,6}` back to `conv1.{0,1,3,4,6}` and `stem.7` to `bn1`. No classifier is added."""
    renamed = {}
    for key, value in state_dict.items():
        if key.startswith('stem.7.'):
            key = 'bn1.' + key[len('stem.7.') :]
        elif key.startswith('stem.'):
            key = 'conv1.' + key[len('stem.') :]
        renamed[key] = value
    return renamed

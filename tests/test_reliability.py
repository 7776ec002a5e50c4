"""A run survives being killed, stops on a loss that is not finite, and meets a bad key with one line: the engine's
hooks and CLI (engine/hooks.py, engine/cli.py) on short real runs of the demo recipe."""

import errno
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from tool_env import tool_env

from backbones.checkpoint import DiskFullError, export_backbone, latest_checkpoint, load_checkpoint
from backbones.errors import CheckpointError, UserError
from datagen.demo_world import generate
from engine.cli import ConfigError, main
from engine.hooks import CheckpointHook
from engine.host import work_dir_lock

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / 'configs/cls/demo/resnet18d_cosine_ls.py'
QUICK = [
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.indices=128',
    'val_dataloader.dataset.indices=64',
]


def epochs(n: int) -> list[str]:
    """The recipe's 30 epochs shortened to n, its warmup and cosine with them (--schedule-scale)."""
    return ['--schedule-scale', str(n / 30)]


@pytest.fixture(scope='module')
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('world')
    generate(root, seed=0, scenes_train=60, scenes_val=24)
    return root / 'cls'


def tool(argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """tools/train_cls.py as a process, the way a user runs it."""
    env = tool_env(**(env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / 'tools/train_cls.py'), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def checkpoints(work_dir: Path) -> list[str]:
    return sorted(p.name for p in work_dir.glob('*.pth*'))


KILL_PLUGIN = "custom_imports = dict(imports=['faults'], allow_failed_imports=False)\n"
# The files a run writes, in order: epoch_1, best_top1_epoch_1, epoch_1 again (mmengine re-saves it to record the
# best score), then epoch_2, which the 4th write kills halfway through.
KILL_AT_EPOCH_2 = {'FAULT_KILL_AT_PUT': '4'}


def test_a_kill_inside_a_checkpoint_save_leaves_the_last_good_one_and_resume_finishes(world, tmp_path):
    config = tmp_path / 'faulty.py'
    config.write_text(f"_base_ = '{RECIPE}'\n{KILL_PLUGIN}")
    work = tmp_path / 'work'
    argv = [str(config), '--work-dir', str(work), '--data-root', str(world), *epochs(3), '--cfg-options', *QUICK]
    killed = tool(argv, tmp_path, env=KILL_AT_EPOCH_2)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert checkpoints(work) == ['best_top1_epoch_1.pth', 'epoch_1.pth', 'epoch_2.pth.partial']
    assert latest_checkpoint(str(work)) == str(work / 'epoch_1.pth')  # the pointer moves only after a whole file
    assert load_checkpoint(str(work / 'epoch_1.pth'))['meta']['epoch'] == 1

    resumed = tool([*argv, '--resume'], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    assert f'{work}: removed 1 unfinished save(s) of an interrupted run: epoch_2.pth.partial' in resumed.stdout
    assert (work / 'last_checkpoint').read_text() == 'epoch_3.pth'  # relative: a copied work dir resumes its own
    assert 'epoch_3.pth' in checkpoints(work) and not any(n.endswith('.partial') for n in checkpoints(work))
    assert load_checkpoint(latest_checkpoint(str(work)))['meta']['epoch'] == 3


def test_the_same_kill_under_mmengines_own_checkpoint_hook_leaves_nothing_to_resume(world, tmp_path):
    """Why engine.hooks.CheckpointHook exists: mmengine deletes epoch_1 before writing epoch_2 in place."""
    config = tmp_path / 'stock.py'
    config.write_text(
        f"_base_ = '{RECIPE}'\n{KILL_PLUGIN}default_hooks = dict(checkpoint=dict(type='mmengine.CheckpointHook'))\n"
    )
    work = tmp_path / 'work'
    code = (
        'import sys; from engine import cli; cli.use_safety_hooks = lambda cfg: None; '  # the stock hook, kept
        'sys.argv = ["train_cls.py", *sys.argv[1:]]; cli.tool("cls", "train")'
    )
    killed = subprocess.run(
        [
            sys.executable,
            '-c',
            code,
            str(config),
            '--work-dir',
            str(work),
            '--data-root',
            str(world),
            *epochs(3),
            '--cfg-options',
            *QUICK,
        ],
        capture_output=True,
        text=True,
        env=tool_env(**KILL_AT_EPOCH_2),
        cwd=tmp_path,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert 'epoch_1.pth' not in checkpoints(work)  # deleted before its successor was whole
    with pytest.raises(Exception, match='epoch_1.pth'):
        load_checkpoint(latest_checkpoint(str(work)))  # the pointer names a file that is gone


def test_a_copied_work_dir_resumes_from_its_own_files_and_leaves_the_original_alone(world, tmp_path):
    original = tmp_path / 'original'
    options = ['--data-root', str(world), '--cfg-options', *QUICK]
    main('cls', 'train', [str(RECIPE), '--work-dir', str(original), *epochs(1), *options])
    before = checkpoints(original)
    copy = tmp_path / 'copy'
    shutil.copytree(original, copy)
    main('cls', 'train', [str(RECIPE), '--work-dir', str(copy), '--resume', *epochs(2), *options])
    assert checkpoints(original) == before  # its best checkpoint is still there
    assert latest_checkpoint(str(copy)) == str(copy / 'epoch_2.pth')


def test_a_loss_that_turns_nan_stops_the_run_with_one_line_and_keeps_the_last_good_checkpoint(world, tmp_path):
    work = tmp_path / 'work'
    config = tmp_path / 'explodes.py'  # epoch 1 trains normally; from epoch 2 on the lr is 1e9 times larger
    config.write_text(
        f"_base_ = '{RECIPE}'\ntrain_cfg = dict(max_epochs=3)\n"
        f"param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=1e9)]\n"
    )
    done = tool(
        [
            str(config),
            '--work-dir',
            str(work),
            '--data-root',
            str(world),
            '--cfg-options',
            *QUICK,
            'train_dataloader.dataset.indices=256',
        ],
        tmp_path,
    )  # 4 iterations an epoch: it diverges in epoch 2
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith('error: iteration ') and 'the training loss is not finite (loss ' in line, line
    assert f'the last good checkpoint is {work / "epoch_1.pth"}' in line
    assert 'Traceback' not in done.stderr
    assert checkpoints(work) == ['best_top1_epoch_1.pth', 'epoch_1.pth']  # no NaN model saved, none called best


def train_breaking_weights(world: Path, tmp_path: Path, at: int, more: list[str] = ()) -> tuple[Path, object]:
    """3 epochs of the recipe whose weights `BreakWeightsAtIteration` breaks after iteration `at`: its work dir and
    the finished process."""
    work = tmp_path / 'work'
    config = tmp_path / 'breaks.py'
    config.write_text(f"_base_ = '{RECIPE}'\n{KILL_PLUGIN}custom_hooks = [dict(type='BreakWeightsAtIteration')]\n")
    argv = [str(config), '--work-dir', str(work), '--data-root', str(world), *epochs(3), '--cfg-options', *QUICK,
            *more]  # fmt: skip
    return work, tool(argv, tmp_path, env={'FAULT_BREAK_AT_ITER': str(at)})


def assert_stopped_on_broken_weights(done, iteration: int, last_good: str) -> None:
    """Exit 1 with the one line naming a broken tensor and `last_good` (a regular expression), no traceback."""
    assert done.returncode == 1 and 'Traceback' not in done.stderr, done.stderr[-2000:]
    line = done.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        rf'error: iteration {iteration}: state_dict \S+ has \d+ of \d+ values not finite; stopped before saving or '
        rf'validating this model; the last good checkpoint is {last_good}',
        line,
    ), line


def test_weights_broken_by_an_epochs_last_step_are_neither_validated_nor_saved(world, tmp_path):
    """The loss of iteration 4, the last of epoch 2, is finite; the update after it breaks the weights. The epoch's
    checkpoint and its validation come next: the run stops before both, and epoch 1's checkpoint stays the good one."""
    work, done = train_breaking_weights(world, tmp_path, at=4)  # 128 images, batch 64: 2 iterations an epoch
    assert_stopped_on_broken_weights(done, iteration=4, last_good=re.escape(str(work / 'epoch_1.pth')))
    assert checkpoints(work) == ['best_top1_epoch_1.pth', 'epoch_1.pth']
    assert 'Epoch(val) [2]' not in done.stdout  # epoch 2 was not validated


def test_weights_broken_in_an_epoch_with_no_save_are_not_validated(world, tmp_path):
    """Checkpoints every 2 epochs: epoch 1 ends with a validation and no save, so only the check before validation
    stands between the broken weights (after iteration 2, epoch 1's last) and a metric computed from them."""
    work, done = train_breaking_weights(world, tmp_path, at=2, more=['default_hooks.checkpoint.interval=2'])
    assert_stopped_on_broken_weights(done, iteration=2, last_good='none')
    assert checkpoints(work) == []
    assert 'Epoch(val)' not in done.stdout


def test_one_run_per_work_dir_the_second_refused_naming_the_first_and_no_lock_outlives_its_run(world, tmp_path):
    work = tmp_path / 'work'
    killed = subprocess.run(  # a holder that dies without a word: the kernel drops its lock
        [sys.executable, '-c', f'import os, signal; from engine.host import work_dir_lock\n'
         f'with work_dir_lock({str(work)!r}): os.kill(os.getpid(), signal.SIGKILL)'],
        cwd=ROOT, env=tool_env(), timeout=60,
    )  # fmt: skip
    assert killed.returncode == -9
    with work_dir_lock(str(work)):  # free again: this test's process takes it
        second = tool([str(RECIPE), '--work-dir', str(work), '--data-root', str(world), *epochs(1)], tmp_path)
    assert second.returncode == 1, second.stderr[-2000:]
    assert second.stderr.strip().splitlines()[-1] == (
        f'error: {work}: another run (PID {os.getpid()}) is training in this work dir; wait for it to end, stop it, '
        'or give this run another --work-dir'
    )
    assert checkpoints(work) == []


def test_fp16_steps_that_the_loss_scaler_skips_are_not_an_error(world, tmp_path):
    # A loss scale of 2^60 overflows fp16 gradients: the scaler skips those steps and halves the scale; the loss
    # itself stays finite, and the run goes on.
    runner = main(
        'cls',
        'train',
        [
            str(RECIPE),
            '--work-dir',
            str(tmp_path),
            '--data-root',
            str(world),
            '--amp',
            'fp16',
            *epochs(1),
            '--cfg-options',
            *QUICK,
            'optim_wrapper.loss_scale.init_scale=1152921504606846976',
        ],
    )
    scale = runner.optim_wrapper.loss_scaler.get_scale()
    assert scale < 2**60 and runner.epoch == 1  # it skipped steps and finished


@pytest.mark.parametrize(
    'option, message',
    [
        ('optim_wraper.optimizer.lr=0.1', 'has no key optim_wraper (did you mean optim_wrapper?)'),
        ('train_cfg.max_epoch=2', 'has no key train_cfg.max_epoch (did you mean train_cfg.max_epochs?)'),
        ('model.backbone.depth.x=1', 'model.backbone.depth is a value, not a dict'),
    ],
)
def test_a_misspelt_config_key_is_refused_naming_it(option, message):
    with pytest.raises(ConfigError, match=message.replace('(', r'\(').replace(')', r'\)').replace('?', r'\?')):
        main('cls', 'train', [str(RECIPE), '--cfg-options', option])


@pytest.mark.parametrize(
    'option, message',
    [  # each used to end in a ValueError traceback from inside the model's build
        ('model.backbone.norm_cfg.type=bn', "norm_cfg: unknown type 'bn'; expected one of"),
        ('model.data_preprocessor.label_smoothing=1.0', 'label smoothing epsilon must be in [0, 1), got 1.0'),
        ('model.pooling=median', "ImageClassifier: pooling 'median'; expected one of"),
    ],
)
def test_a_bad_argument_value_is_one_line_naming_it(world, tmp_path, option, message):
    argv = [str(RECIPE), '--work-dir', str(tmp_path), '--data-root', str(world), *epochs(1), '--cfg-options', option]
    with pytest.raises(UserError) as err:  # what the tools print as `error: <line>`, without a traceback
        main('cls', 'train', argv)
    assert message in str(err.value) and '\n' not in str(err.value), str(err.value)


def test_a_run_shorter_than_its_warmup_names_the_scheduler_and_the_key():
    with pytest.raises(
        ConfigError,
        match=r'param_scheduler\[1\] \(CosineAnnealingLR\) begins at epoch 5 but would '
        r'end with the run at train_cfg.max_epochs=3',
    ):
        main('cls', 'train', [str(RECIPE), '--cfg-options', 'train_cfg.max_epochs=3'])


def test_the_tools_print_one_line_and_the_traceback_only_with_debug(tmp_path):
    argv = [str(RECIPE), '--data-root', str(tmp_path / 'nowhere'), '--work-dir', str(tmp_path / 'work')]
    quiet = tool(argv, tmp_path)
    assert quiet.returncode == 1 and quiet.stderr.strip().splitlines() == [
        f'error: {tmp_path / "nowhere" / "train"}: split folder not found'
    ]
    loud = tool([*argv, '--debug'], tmp_path)
    assert loud.returncode == 1 and 'Traceback' in loud.stderr and 'split folder not found' in loud.stderr


def test_exported_backbones_are_readable_by_others_as_files_open_makes_them(world, tmp_path):
    runner = main(
        'cls',
        'train',
        [
            str(RECIPE),
            '--work-dir',
            str(tmp_path / 'work'),
            '--data-root',
            str(world),
            *epochs(1),
            '--cfg-options',
            *QUICK,
        ],
    )
    export_backbone(latest_checkpoint(runner.work_dir), str(tmp_path / 'export'))
    (tmp_path / 'plain').write_text('')
    expected = stat.S_IMODE((tmp_path / 'plain').stat().st_mode)
    for name in ('backbone.pth', 'backbone.safetensors'):
        assert stat.S_IMODE((tmp_path / 'export' / name).stat().st_mode) == expected
    assert torch.load(tmp_path / 'export/backbone.pth', weights_only=True)['meta']['backbone']['variant'] == 'd'


def test_a_killed_run_leaves_no_dataloader_worker_behind(world, tmp_path):
    config = tmp_path / 'killed.py'
    config.write_text(
        f"_base_ = '{RECIPE}'\n{KILL_PLUGIN}"
        "custom_hooks = [dict(type='tricks.TrickCardHook'), dict(type='KillAtIteration')]\n"
    )
    work = tmp_path / 'work_of_a_killed_run'
    env = tool_env(FAULT_KILL_AT_ITER='2')
    argv = [
        sys.executable,
        str(ROOT / 'tools/train_cls.py'),
        str(config),
        '--work-dir',
        str(work),
        '--data-root',
        str(world),
        *epochs(1),
        '--cfg-options',
        'train_dataloader.num_workers=1',
    ]
    with open(tmp_path / 'log', 'w') as log:  # a file, not a pipe: waiting for a pipe's end would wait for the worker
        done = subprocess.run(argv, stdout=log, stderr=log, env=env, timeout=300)
    assert done.returncode == -9, (tmp_path / 'log').read_text()[-2000:]

    def survivors() -> list[str]:  # processes whose command line names this run's work dir: its workers would
        found = []
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                if str(work) in Path(f'/proc/{pid}/cmdline').read_bytes().decode(errors='replace'):
                    found.append(pid)
            except OSError:
                pass
        return found

    import time

    deadline = time.monotonic() + 1  # torch's own watchdog checks every 5 s
    while survivors() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert survivors() == []


def test_a_full_disk_during_a_save_stops_in_one_line_and_the_last_good_checkpoint_stays_loadable(world, tmp_path):
    config = tmp_path / 'faulty.py'
    config.write_text(f"_base_ = '{RECIPE}'\n{KILL_PLUGIN}")
    work = tmp_path / 'work'
    argv = [str(config), '--work-dir', str(work), '--data-root', str(world), *epochs(3), '--cfg-options', *QUICK]
    expected = re.compile(
        rf'error: {re.escape(str(work))}: no space left on the device \(\d+\.\d MiB free\) while saving '
        r'epoch_2\.pth; the last good checkpoint, epoch_1\.pth, is untouched'
    )
    for resume, put in (([], '4'), (['--resume'], '1')):  # epoch_2's save; then a resume's first, the disk still full
        full = tool([*argv, *resume], tmp_path, env={'FAULT_ENOSPC_AT_PUT': put})
        assert full.returncode == 1 and 'Traceback' not in full.stderr, full.stderr[-2000:]
        assert expected.fullmatch(full.stderr.strip().splitlines()[-1]), full.stderr[-500:]
        assert checkpoints(work) == ['best_top1_epoch_1.pth', 'epoch_1.pth']  # the half-written file is gone
        assert load_checkpoint(latest_checkpoint(str(work)))['meta']['epoch'] == 1
    resumed = tool([*argv, '--resume'], tmp_path)  # space again: the run goes on from epoch 1
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert load_checkpoint(latest_checkpoint(str(work)))['meta']['epoch'] == 3


def test_a_best_save_that_fails_keeps_the_previous_best_which_mmengines_hook_deletes_first(world, tmp_path):
    work = tmp_path / 'work'
    runner = main(
        'cls',
        'train',
        [str(RECIPE), '--work-dir', str(work), '--data-root', str(world), *epochs(1), '--cfg-options', *QUICK],
    )
    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    previous = work / 'best_top1_epoch_1.pth'
    assert hook.best_ckpt_path == str(previous) and checkpoints(work) == ['best_top1_epoch_1.pth', 'epoch_1.pth']

    def full_disk(out_dir, filename, **kwargs):  # half a file lands, then the device is full
        Path(out_dir, filename).write_bytes(b'half a checkpoint')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)

    runner.save_checkpoint = full_disk
    with pytest.raises(
        DiskFullError, match=r'while saving best_top1_epoch_1\.pth; the last good checkpoint, epoch_1\.pth'
    ):
        hook._save_best_checkpoint(runner, {hook.key_indicators[0]: 101.0})  # better than any top-1
    assert checkpoints(work) == ['best_top1_epoch_1.pth', 'epoch_1.pth']  # the previous best, whole; no partial
    assert load_checkpoint(str(previous))['meta']['epoch'] == 1

    runner.save_checkpoint = full_disk
    with pytest.raises(OSError):
        MMEngineCheckpointHook._save_best_checkpoint(hook, runner, {hook.key_indicators[0]: 102.0})
    # mmengine's order: the previous best removed, then the new one written in its place, here half of it
    assert previous.read_bytes() == b'half a checkpoint'
    with pytest.raises(CheckpointError, match='not a readable torch checkpoint'):
        load_checkpoint(str(previous))

"""tools/run_ladder.py: schedules scale as a whole, a ladder config plans its steps (teachers first), and a tiny ladder
on a tiny embedded world runs cls → export → det → seg end to end, reports the runs' own numbers, reuses finished
steps, resumes an unfinished one and reruns only what a changed recipe touches."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cpu_kind import AUTO_DTYPE, expected_capability, expected_native
from mmengine.config import Config

from datagen.demo_world import VERSION, generate
from engine.cli import rescale_schedule
from engine.tasks import TASKS
from ladder import cache, report
from ladder.cache import card, diverged_at, ensure_embedded_world, read_scalars
from ladder.noise import noise_of_difference, summarize, within_noise
from ladder.plan import LadderError, plan
from ladder.run import command, critical_first, weak_teachers

ROOT = Path(__file__).resolve().parents[1]


def test_schedule_scale_moves_the_loop_and_every_milestone_together():
    cfg = Config.fromfile(str(ROOT / 'configs/cls/demo/resnet18d_cosine_ls.py'))
    rescale_schedule(cfg, 0.4)
    assert cfg.train_cfg.max_epochs == 12 and cfg.train_cfg.val_interval == 1
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 2) and cosine.begin == 2

    cfg = Config.fromfile(str(ROOT / 'configs/cls/demo/resnet18b_standard.py'))
    rescale_schedule(cfg, 0.4)
    assert cfg.param_scheduler[0].milestones == [3, 6, 9]

    cfg = Config.fromfile(str(ROOT / 'configs/det/demo/random_init.py'))
    rescale_schedule(cfg, 0.5)  # "validate and save at the end" stays at the new end
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == cfg.default_hooks.checkpoint.interval == 150
    assert [(s.get('begin'), s.get('end')) for s in cfg.param_scheduler] == [(0, 25), (0, 150)]
    assert cfg.param_scheduler[1].milestones == [112]


def test_schedule_scale_must_be_positive():
    cfg = Config.fromfile(str(ROOT / 'configs/det/demo/random_init.py'))
    with pytest.raises(SystemExit, match='positive'):
        rescale_schedule(cfg, 0)


def test_demo_ladder_plans_teacher_before_student_and_cls_before_transfer():
    ladder = plan(str(ROOT / 'configs/ladders/demo.py'), out='OUT')
    steps = ladder.steps
    student, teacher = steps['cls/resnet18d_cosine_ls_distill_mixup'], steps['cls/resnet18d_teacher']
    assert student.needs == ['cls/resnet18d_teacher']
    assert student.settings.cfg_options['model.teacher.checkpoint'] == teacher.work_dir == 'OUT/cls/resnet18d_teacher'
    for row in ladder.rows:
        for task in ('det', 'seg'):
            [key] = row.steps[task]  # one seed: one step per task
            step = steps[key]
            if 'cls' in row.steps:  # the row's backbone is named once: by the file its cls step exports
                assert step.needs == row.steps['cls']
                assert (
                    step.settings.cfg_options['model.backbone.checkpoint']
                    == f'{steps[row.steps["cls"][0]].work_dir}/backbone.pth'
                )
                assert step.resolve().model.backbone.type == 'tricks.ExportedBackbone'
            else:
                assert step.needs == [] and 'model.backbone.checkpoint' not in step.settings.cfg_options
    assert [r.name for r in ladder.rows][:2] == ['random init', 'B-standard']
    assert critical_first(steps)[0] is teacher  # the longest chain: teacher → student → det/seg


def test_paper_ladder_is_tables_8_and_9_launched_on_8_gpus():
    ladder = plan(str(ROOT / 'configs/ladders/paper.py'))
    assert [r.paper for r in ladder.rows[:7]] == list(TASKS['det'].paper) == list(TASKS['seg'].paper)
    assert len(ladder.steps) == 1 + 3 * len(ladder.rows)  # + the ResNet-152-D teacher, shared by both distill rows
    assert critical_first(ladder.steps)[0].key == 'cls/resnet152d_teacher'
    argv = command(ladder.steps['seg/resnet50d_cosine'], resume=True)
    assert argv[1:4] == ['-m', 'torch.distributed.run', '--nproc_per_node=8']
    assert argv[-3:] == ['--launcher', 'pytorch', '--resume']


def test_seeds_repeat_every_chain_and_each_seed_reads_its_own_backbone_and_teacher():
    ladder = plan(str(ROOT / 'configs/ladders/demo.py'), out='OUT', seeds=3)
    assert ladder.seeds == (0, 1, 2) and len(ladder.steps) == 3 * len(plan(str(ROOT / 'configs/ladders/demo.py')).steps)
    student = ladder.steps['cls/resnet18d_cosine_ls_distill_mixup/seed1']
    assert student.work_dir == 'OUT/cls/resnet18d_cosine_ls_distill_mixup/seed1'
    assert student.needs == ['cls/resnet18d_teacher/seed1']
    assert student.settings.cfg_options['model.teacher.checkpoint'] == 'OUT/cls/resnet18d_teacher/seed1'
    det = ladder.steps['det/resnet18d_cosine_ls_distill_mixup/seed2']
    assert det.needs == ['cls/resnet18d_cosine_ls_distill_mixup/seed2']
    assert (
        det.settings.cfg_options['model.backbone.checkpoint'] == f'{ladder.steps[det.needs[0]].work_dir}/backbone.pth'
    )
    assert all(step.seed == int(key.rsplit('seed', 1)[1]) for key, step in ladder.steps.items())
    for step in (s for s in ladder.steps.values() if s.seed == 2):  # the seed reaches the run's config, and its card
        assert step.resolve().randomness.seed == 2
    assert ladder.rows[0].steps == {'det': [f'det/random_init/seed{s}' for s in range(3)],
                                    'seg': [f'seg/random_init/seed{s}' for s in range(3)]}  # fmt: skip


def test_the_page_ladder_is_cls_only_with_the_pages_figures_and_its_cpu_version_is_sized_down():
    full = plan(str(ROOT / 'configs/ladders/resnet9_page.py'))
    assert [row.paper for row in full.rows] == [55.9, 85.6, 89.7, 90.7, 91.1, 93.8, 94.08, 95.0]
    assert all(set(row.steps) == {'cls'} and len(row.steps['cls']) == 10 for row in full.rows)
    cpu = plan(str(ROOT / 'configs/ladders/resnet9_page_cpu.py'))
    assert cpu.seeds == (0, 1, 2) and cpu.jobs == 2
    cfg = cpu.steps['cls/page_shortest_path/seed2'].resolve()
    assert cfg.model.backbone.width == 0.25 and cfg.train_dataloader.dataset.max_per_class == 1000
    assert cfg.train_cfg.max_epochs == 5 and cfg.param_scheduler[0].milestones == [0, 1, 5]  # knots 0, 4, 20 × ¼
    assert cfg.train_dataloader.dataset.data_root == 'data/cifar10' and cfg.randomness.seed == 2


def test_the_noise_rule_and_the_seed_summary_on_made_up_numbers():
    a, b, c = summarize([1.0, 2.0, 3.0]), summarize([2.0, 3.0, 4.0]), summarize([4.0, 5.0, 6.0])
    assert (a['mean'], a['std'], a['n']) == (2.0, 1.0, 3)
    assert noise_of_difference(a, b) == pytest.approx(2 * (1 / 3 + 1 / 3) ** 0.5)  # 1.633
    assert within_noise(a, b) is True and within_noise(a, c) is False  # |Δ| 1 < 1.633 < 3
    one = summarize([2.5])
    assert one['std'] is None and within_noise(one, a) is None  # one seed: the noise is unknown


def test_the_report_gives_mean_and_std_over_seeds_and_marks_a_delta_within_noise():
    made_up = (('b', [1.0, 2.0, 3.0]), ('d', [2.0, 3.0, 4.0]), ('e', [4.0, 5.0, 6.0]))
    results = {
        f'cls/{name}/seed{s}': dict(metrics=dict(top1=v)) for name, values in made_up for s, v in enumerate(values)
    }
    rows = [dict(name=name, paper=paper, cls=report.aggregate([f'cls/{name}/seed{s}' for s in range(3)], results))
            for name, paper in (('b', 55.9), ('d', None), ('e', 'B-standard'))]  # fmt: skip
    assert rows[1]['cls']['metrics'] == dict(top1=3.0) and rows[1]['cls']['spread']['top1']['values'] == [2.0, 3.0, 4.0]
    lines = report.cls_table(dict(rows=rows))
    assert lines[2] == '| b | 2.00 ± 1.00 |  | — | 55.90 |'
    assert lines[3] == '| d | 3.00 ± 1.00 | +1.00 ≈ | — | — |'  # |Δ| 1 < 1.633
    assert lines[4] == '| e | 5.00 ± 1.00 | +2.00 | — | B-standard |'  # |Δ| 2 > 1.633
    results['cls/d/seed1'] = dict(error='exit code 1; see log')
    assert (
        report.aggregate([f'cls/d/seed{s}' for s in range(3)], results)['error'] == 'cls/d/seed1: exit code 1; see log'
    )


@pytest.mark.parametrize(
    'text, message',
    [
        ("rows = [dict(name='x', det='configs/det/demo/random_init.py')]\nbogus = 1", "unknown key(s) ['bogus']"),
        ("rows = [dict(name='x', paper=55.9)]", 'names no cls, det or seg config'),
        ("rows = [dict(name='x', det='configs/det/demo/random_init.py')]\nseeds = 0", 'seeds must be a whole number'),
        ("rows = [dict(name='x', det='configs/det/demo/nope.py')]", 'det config configs/det/demo/nope.py not found'),
        (
            "rows = [dict(name='x', det='configs/det/demo/random_init.py')]\nschedule_scale = dict(cls=1, dte=1)",
            "schedule_scale has unknown task(s) ['dte']",
        ),
    ],
)
def test_bad_ladder_configs_fail_with_one_line_naming_the_key(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(ROOT)
    path = tmp_path / 'ladder.py'
    path.write_text(text)
    with pytest.raises(LadderError, match=re.escape(message)) as err:
        plan(str(path))
    assert '\n' not in str(err.value) and str(path) in str(err.value)


def test_a_diverged_run_is_flagged_beside_its_numbers(tmp_path):
    run = tmp_path / 'det' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    entries = [
        dict(loss=1.2, step=10),
        dict(loss=float('nan'), step=20),
        dict(loss=float('nan'), step=30),
        {'pascal_voc/mAP': 0.0, 'step': 30},
    ]
    (run / 'scalars.json').write_text('\n'.join(json.dumps(e) for e in entries))  # mmengine writes NaN as NaN
    curves = read_scalars(str(tmp_path / 'det'))
    assert diverged_at(curves) == 20
    data = dict(
        rows=[
            dict(
                name='B',
                paper=None,
                det=report.aggregate(['det/b'], {'det/b': dict(metrics=dict(mAP=0.0), diverged_at=20)}),
            )
        ]
    )
    line = report.table(data, TASKS['det'])[-1]
    assert '0.00 (loss not finite from iter 20)' in line


def test_an_embedded_world_from_another_generator_version_is_remade_and_changes_every_card(tmp_path, monkeypatch):
    world = tmp_path / 'world'
    monkeypatch.setattr(
        cache,
        'generate',
        lambda path, overwrite=False: generate(path, seed=0, scenes_train=9, scenes_val=9, overwrite=overwrite),
    )
    said = []
    current = ensure_embedded_world(str(world), said.append)
    assert current['version'] == VERSION and said == [f'making the embedded world in {world} (once)']
    assert ensure_embedded_world(str(world), said.append) == current and len(said) == 1  # made once

    old = dict(current, version=VERSION - 1)
    (world / 'meta.json').write_text(json.dumps(old))
    leftover = world / 'cls/train/striped_disc/from_the_old_version.png'
    leftover.write_bytes(b'')
    assert ensure_embedded_world(str(world), said.append) == current
    assert said[-1] == f'remaking the embedded world in {world}: it is version {VERSION - 1}, the generator {VERSION}'
    assert not leftover.exists()

    step = plan(str(ROOT / 'configs/ladders/demo.py')).steps['cls/resnet18b_standard']
    cfg = step.resolve()
    assert card(step, cfg, {}, current)['digest'] != card(step, cfg, {}, old)['digest']  # so no step is reused


TINY_LADDER = """
jobs = 2
threads = 1
schedule_scale = dict(cls=0.04, det=0.01, seg=0.01)   # cls: 1-2 epochs, det/seg: 3 iterations
data_roots = dict(cls='{world}/cls', det='{world}/voc/', seg='{world}/ade/')
cfg_options = dict(cls={{'default_hooks.logger.interval': 1}}, det={{'default_hooks.logger.interval': 1}},
                   seg={{'default_hooks.logger.interval': 1, 'randomness.seed': {seed}}})
rows = [
    dict(name='random init', det='configs/det/demo/random_init.py', seg='configs/seg/demo/random_init.py'),
    dict(name='D + all tricks', paper='+ distill w/ mixup', cls='configs/cls/demo/resnet18d_cosine_ls_distill_mixup.py',
         det='configs/det/demo/resnet18d_cosine_ls_distill_mixup.py',
         seg='configs/seg/demo/resnet18d_cosine_ls_distill_mixup.py'),
]
"""


def run_ladder(config: Path, out: Path) -> str:
    done = subprocess.run(
        [sys.executable, 'tools/run_ladder.py', '--config', str(config), '--out', str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope='module')
def tiny_ladder(tmp_path_factory):
    root = tmp_path_factory.mktemp('ladder')
    generate(root / 'world', seed=0, scenes_train=18, scenes_val=9)
    config = root / 'tiny.py'
    config.write_text(TINY_LADDER.format(world=root / 'world', seed=0))
    out = root / 'out'
    return config, out, run_ladder(config, out)


def test_tiny_ladder_reports_the_numbers_of_its_own_runs(tiny_ladder):
    _, out, stdout = tiny_ladder
    data = json.loads((out / 'results.json').read_text())
    assert set(data['steps']) == {
        'cls/resnet18d_teacher',
        'cls/resnet18d_cosine_ls_distill_mixup',
        'det/random_init',
        'seg/random_init',
        'det/resnet18d_cosine_ls_distill_mixup',
        'seg/resnet18d_cosine_ls_distill_mixup',
    }
    names = {'cls': ('top1', 'top1', 1), 'det': ('mAP', 'pascal_voc/mAP', 100), 'seg': ('mIoU', 'mIoU', 1)}
    markdown = (out / 'results.md').read_text()
    for key, step in data['steps'].items():
        assert 'error' not in step and not step['reused'], key
        column, logged, factor = names[key.split('/')[0]]
        last_val = read_scalars(str(out / key))['val'][-1]  # what mmengine logged in that run's own work dir
        assert step['metrics'][column] == pytest.approx(last_val[logged] * factor, abs=1e-4)  # rounded to 4 places
        assert f'{step["metrics"][column]:.2f}' in markdown
        if key.startswith('cls/'):  # every validation timed (tricks.TimeToAccuracyHook), its value the logged one
            assert step['time_to_accuracy']['curve'][-1]['value'] == pytest.approx(last_val['top1'], abs=1e-4)
    row = data['rows'][1]
    assert row['cls']['metrics'] == data['steps']['cls/resnet18d_cosine_ls_distill_mixup']['metrics']
    assert row['det']['metrics'] == data['steps']['det/resnet18d_cosine_ls_distill_mixup']['metrics']
    assert '| D + all tricks | ' in markdown and '| + distill w/ mixup | 79.29 | 81.33 |' in markdown
    for name in ('lr_schedules.png', 'training_curves.png', 'ladder.png'):
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_the_report_states_the_cpu_kind_and_the_precision_each_run_trained_in(tiny_ladder):
    _, out, _ = tiny_ladder
    data = json.loads((out / 'results.json').read_text())
    assert data['machine']['cpu_capability'] == expected_capability()
    assert data['machine']['cpu_native_bf16'] == expected_native('bfloat16')
    precisions = {key: step['precision'] for key, step in data['steps'].items()}
    for key, step in data['steps'].items():
        if key.startswith('cls/'):  # the demo's efficient recipes: the AMP rule, as the run's own card says
            assert step['precision'] == step['trick_card']['amp'] == AUTO_DTYPE, key
        else:  # mmdet's and mmseg's plain optim wrappers
            assert step['precision'] == 'float32', key
    markdown = (out / 'results.md').read_text()
    header = markdown.split('## ')[0]
    assert f'ATen capability {expected_capability()}' in header
    assert f'Precision: cls {AUTO_DTYPE}, det float32, seg float32.' in header
    for key, precision in precisions.items():
        assert re.search(rf'\| {re.escape(key)} \| `[^`]+` \| [^|]+ \| {precision} \|', markdown), key


def test_tiny_ladder_trains_the_teacher_first_and_transfers_the_exported_backbone(tiny_ladder):
    _, out, stdout = tiny_ladder
    assert stdout.index('done   cls/resnet18d_teacher') < stdout.index('start  cls/resnet18d_cosine_ls_distill')
    student = out / 'cls/resnet18d_cosine_ls_distill_mixup'
    card = json.loads((student / 'ladder_step.json').read_text())['result']['trick_card']
    assert card['distill']['teacher'] == 'configs/cls/demo/resnet18d_teacher.py'
    assert card['batch_augments'] == [dict(type='Mixup', alpha=0.2, prob=1.0)]
    assert card['backbone']['config']['variant'] == 'd'
    assert (student / 'backbone.pth').is_file() and (student / 'backbone.safetensors').is_file()
    det_log = (out / 'det/resnet18d_cosine_ls_distill_mixup/ladder_train.log').read_text()
    assert f'backbone tensors equal {student}/backbone.pth' in det_log  # BackboneWeightsCheckHook's verdict


def test_rerun_reuses_finished_steps_resumes_unfinished_ones_and_reruns_changed_recipes(tiny_ladder):
    config, out, _ = tiny_ladder
    (out / 'det/random_init/ladder_step.json').unlink()  # as if the ladder died right after the det run
    config.write_text(config.read_text().replace("'randomness.seed': 0", "'randomness.seed': 1"))  # a new seg recipe
    stdout = run_ladder(config, out)
    assert 'resume det/random_init' in stdout
    assert sorted(re.findall(r'start  (\S+)', stdout)) == ['seg/random_init', 'seg/resnet18d_cosine_ls_distill_mixup']
    assert sorted(re.findall(r'reuse  (\S+)', stdout)) == [
        'cls/resnet18d_cosine_ls_distill_mixup',
        'cls/resnet18d_teacher',
        'det/resnet18d_cosine_ls_distill_mixup',
    ]  # nothing else reran
    assert (out / 'seg/random_init.stale-1/ladder_step.json').is_file()  # the earlier run is kept, not deleted


def test_a_failed_step_skips_what_needs_it_and_the_report_says_so(tmp_path):
    config = tmp_path / 'broken.py'
    config.write_text(f"""
data_roots = dict(cls='{tmp_path}/no_such_world')
rows = [dict(name='B-standard', paper='B-standard', cls='configs/cls/demo/resnet18b_standard.py',
             seg='configs/seg/demo/resnet18b_standard.py')]
""")
    done = subprocess.run(
        [sys.executable, 'tools/run_ladder.py', '--config', str(config), '--out', str(tmp_path / 'out')],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert 'FAILED cls/resnet18b_standard' in done.stdout and 'no_such_world' in done.stdout  # the log's last lines
    assert 'skip   seg/resnet18b_standard' in done.stdout
    assert (
        done.stderr.strip().splitlines()[-1]
        == 'error: 2 step(s) did not finish: cls/resnet18b_standard, seg/resnet18b_standard'
    )
    data = json.loads((tmp_path / 'out/results.json').read_text())
    assert data['steps']['seg/resnet18b_standard']['error'] == 'skipped: cls/resnet18b_standard failed'
    assert '| B-standard | skipped: cls/resnet18b_standard failed |' in (tmp_path / 'out/results.md').read_text()


def test_the_ladder_warns_when_a_teacher_does_not_beat_its_student():
    ladder = plan(str(ROOT / 'configs/ladders/demo.py'), out='OUT')
    student, teacher = 'cls/resnet18d_cosine_ls_distill_mixup', 'cls/resnet18d_teacher'
    results = {student: dict(metrics=dict(top1=79.0)), teacher: dict(metrics=dict(top1=73.7))}
    assert weak_teachers(ladder, results) == [
        f"{student}: its teacher {teacher} reached top-1 73.70, not above the student's 79.00: the distillation row "
        f'cannot show a teacher teaching'
    ]
    results[teacher]['metrics']['top1'] = 85.0
    assert weak_teachers(ladder, results) == []


def test_a_ladder_killed_mid_step_resumes_that_step_from_its_last_checkpoint(tmp_path):
    """A real SIGKILL of the ladder and the run it started (their whole process group), in the middle of a cls step;
    the same command then resumes that step from its last checkpoint and finishes the ladder."""
    import os
    import signal
    import time

    generate(tmp_path / 'world', seed=0, scenes_train=150, scenes_val=10)
    config = tmp_path / 'one_row.py'
    config.write_text(f"""
jobs = 1
threads = 1
schedule_scale = dict(cls={3 / 30})   # cls: 3 epochs
data_roots = dict(cls='{tmp_path}/world/cls')
rows = [dict(name='B', cls='configs/cls/demo/resnet18b_standard.py')]
""")
    out = tmp_path / 'out'
    step = out / 'cls/resnet18b_standard'
    ladder = subprocess.Popen(
        [sys.executable, 'tools/run_ladder.py', '--config', str(config), '--out', str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not (step / 'epoch_1.pth').exists() and time.monotonic() < deadline and ladder.poll() is None:
        time.sleep(0.2)
    os.killpg(ladder.pid, signal.SIGKILL)
    ladder.wait()
    assert (step / 'epoch_1.pth').exists() and not (step / 'epoch_3.pth').exists(), sorted(os.listdir(step))
    assert not (step / 'ladder_step.json').exists()  # unfinished: no record

    stdout = run_ladder(config, out)
    assert 'resume cls/resnet18b_standard' in stdout and 'done   cls/resnet18b_standard' in stdout
    assert 'resumed epoch: 1' in (step / 'ladder_train.log').read_text()
    data = json.loads((out / 'results.json').read_text())
    assert data['steps']['cls/resnet18b_standard']['metrics']['top1'] > 0

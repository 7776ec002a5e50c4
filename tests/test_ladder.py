"""tools/run_ladder.py: schedules scale as a whole, a ladder config plans its steps (teachers first), and a tiny ladder
on a tiny embedded world runs cls → export → det → seg end to end, reports the runs' own numbers, reuses finished
steps, resumes an unfinished one and reruns only what a changed recipe touches."""

import functools
import importlib
import json
import math
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cpu_kind import AUTO_DTYPE, expected_capability, expected_native
from mmengine.config import Config
from scipy import stats
from trackers import mlflow_runs, tensorboard_scalars

from datagen.demo_world import VERSION, generate
from engine.cli import rescale_schedule
from engine.tasks import TASKS
from ladder import cache, report
from ladder.cache import card, diverged_at, ensure_embedded_world, read_scalars
from ladder.noise import compare, summarize, two_sided_p
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


def test_schedule_scale_moves_the_first_validation_and_keeps_it_inside_the_loop():
    """record_cpu validates from epoch 23 of 25: scaled below ~0.9 the loop used to end before val_begin, and the
    run never validated."""
    for factor, (max_epochs, val_begin) in {2: (50, 46), 0.5: (12, 12), 0.3: (8, 7), 0.04: (1, 1)}.items():
        cfg = Config.fromfile(str(ROOT / 'configs/cls/resnet9/record_cpu.py'))
        rescale_schedule(cfg, factor)
        assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_begin) == (max_epochs, val_begin), factor


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


def test_the_noise_tests_give_scipys_t_df_and_p_and_no_verdict_below_three_seeds():
    a = summarize([1.0, 2.0, 3.0])
    assert (a['mean'], a['std'], a['n']) == (2.0, 1.0, 3)
    # The README's D -> all-tricks detection gain over 3 seeds: 16.12 ± 2.24 -> 20.55 ± 1.28 mAP. Welch: t 2.97,
    # df 3.2, p 0.055, so not real at 5 % (the old 2·SE rule called it real).
    d, all_tricks = (dict(mean=m, std=s, n=3, values=None) for m, s in ((16.12, 2.24), (20.55, 1.28)))
    verdict = compare(all_tricks, d)
    reference = stats.ttest_ind_from_stats(20.55, 1.28, 3, 16.12, 2.24, 3, equal_var=False)
    # float64 throughout; scipy evaluates the t distribution by another series, so agreement is to ~1e-12 relative
    assert verdict['t'] == pytest.approx(reference.statistic, rel=1e-9)
    assert verdict['p'] == pytest.approx(reference.pvalue, rel=1e-9) and verdict['real'] is False
    assert verdict['df'] == pytest.approx(3.2, abs=0.05) and round(verdict['p'], 3) == 0.055

    draws = random.Random(0)
    for case in range(200):
        n = draws.choice([3, 4, 5, 10])
        x = [draws.gauss(0, 1) for _ in range(n)]
        y = [draws.gauss(draws.choice([0, 1, 3]), draws.choice([0.3, 1, 4])) for _ in range(draws.choice([3, n]))]
        welch_ref = stats.ttest_ind(x, y, equal_var=False)
        got = compare(summarize(x), summarize(y), 'welch')
        assert got['t'] == pytest.approx(welch_ref.statistic, rel=1e-9), case
        assert got['p'] == pytest.approx(welch_ref.pvalue, rel=1e-9, abs=1e-15), case
        assert got['real'] is bool(welch_ref.pvalue < 0.05)
        if len(y) == n:
            paired_ref = stats.ttest_rel(x, y)
            got = compare(summarize(x), summarize(y), 'paired')
            assert (got['t'], got['df']) == (pytest.approx(paired_ref.statistic, rel=1e-9), n - 1), case
            assert got['p'] == pytest.approx(paired_ref.pvalue, rel=1e-9, abs=1e-15), case

    # At the 97.5 % quantile of t with 4 df, a 3-seed Welch comparison of equal spreads sits at p = 0.05: the old
    # rule's 2·SE called 11.6 % of no-difference pairs real, this one 5 %.
    assert two_sided_p(stats.t.ppf(0.975, 4), 4) == pytest.approx(0.05, rel=1e-9)
    shifted = summarize([3.0, 4.0, 5.0])  # every seed one up: the paired test sees an exact shift
    assert compare(shifted, a, 'paired') == dict(t=math.inf, df=2.0, p=0.0, real=True)
    two = summarize([2.5, 3.5])
    assert compare(two, a) is None and compare(a, two, 'paired') is None  # ≤ 2 seeds: no verdict
    assert summarize([2.5])['std'] is None


def test_the_report_gives_mean_and_std_over_seeds_and_each_deltas_p():
    made_up = (('b', [1.0, 2.0, 3.0]), ('d', [2.0, 3.0, 4.0]), ('e', [4.0, 5.0, 6.0]), ('f', [10.0, 11.5, 12.0]))
    results = {
        f'cls/{name}/seed{s}': dict(metrics=dict(top1=v)) for name, values in made_up for s, v in enumerate(values)
    }
    rows = [dict(name=name, paper=paper, cls=report.aggregate([f'cls/{name}/seed{s}' for s in range(3)], results))
            for name, paper in (('b', 55.9), ('d', None), ('e', 'B-standard'), ('f', None))]  # fmt: skip
    assert rows[1]['cls']['metrics'] == dict(top1=3.0) and rows[1]['cls']['spread']['top1']['values'] == [2.0, 3.0, 4.0]

    def p(test, upper, lower):  # scipy's p for row `upper` against the row above it, as the report prints it
        return f'{test(dict(made_up)[upper], dict(made_up)[lower]).pvalue:.3f}'

    welch = functools.partial(stats.ttest_ind, equal_var=False)

    lines = report.cls_table(dict(rows=rows, noise_test='welch'))
    assert lines[2] == '| b | 2.00 ± 1.00 |  | — | 55.90 |'
    assert lines[3] == f'| d | 3.00 ± 1.00 | +1.00 ≈ (p {p(welch, "d", "b")}) | — | — |'
    assert lines[4] == f'| e | 5.00 ± 1.00 | +2.00 ≈ (p {p(welch, "e", "d")}) | — | B-standard |'  # 0.070
    assert lines[5] == f'| f | 11.17 ± 1.04 | +6.17 (p {p(welch, "f", "e")}) | — | — |'
    lines = report.cls_table(dict(rows=rows, noise_test='paired'))
    assert lines[3] == '| d | 3.00 ± 1.00 | +1.00 (p 0.000) | — | — |'  # every seed exactly one up
    assert lines[5] == f'| f | 11.17 ± 1.04 | +6.17 (p {p(stats.ttest_rel, "f", "e")}) | — | — |'
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
        # jobs 0 used to be read as 1, and jobs -1 made the ladder wait forever for a free slot
        (
            "rows = [dict(name='x', det='configs/det/demo/random_init.py')]\njobs = 0",
            'jobs must be a whole number ≥ 1, got 0',
        ),
        (
            "rows = [dict(name='x', det='configs/det/demo/random_init.py')]\njobs = -1",
            'jobs must be a whole number ≥ 1, got -1',
        ),
        (
            "rows = [dict(name='x', det='configs/det/demo/random_init.py')]\nthreads = 0",
            'threads must be a whole number ≥ 1',
        ),
        (
            "rows = [dict(name='x', det='configs/det/demo/random_init.py')]\nnoise_test = 'z'",
            "noise_test must be one of ['paired', 'welch'], got 'z'",
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


def test_bad_command_line_overrides_and_an_out_the_tools_cannot_take_fail_before_any_step_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / 'ladder.py'
    row = "dict(name='x', cls='configs/cls/demo/resnet18b_standard.py', det='configs/det/demo/resnet18b_standard.py')"
    path.write_text(f'rows = [{row}]')
    for overrides, message in ((dict(jobs=0), 'jobs must be a whole number ≥ 1, got 0'),
                               (dict(threads=-2), 'threads must be a whole number ≥ 1, got -2'),
                               (dict(out=str(tmp_path / 'my runs')), 'commas and spaces cannot pass')):  # fmt: skip
        with pytest.raises(LadderError, match=re.escape(message)):
            plan(str(path), **overrides)
    assert plan(str(path), jobs=3, threads=2).jobs == 3


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
        noise_test='welch',
        rows=[
            dict(
                name='B',
                paper=None,
                det=report.aggregate(['det/b'], {'det/b': dict(metrics=dict(mAP=0.0), diverged_at=20)}),
            )
        ],
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
    assert importlib.import_module(current['generator']).generate is generate  # meta.json names the module that made it
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


def run_ladder(config: Path, out: Path, *more: str) -> str:
    done = subprocess.run(
        [sys.executable, 'tools/run_ladder.py', '--config', str(config), '--out', str(out), *more],
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
    return config, out, run_ladder(config, out, '--vis', 'tensorboard', 'mlflow')


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


def test_tiny_ladder_logs_each_step_as_one_tensorboard_and_one_mlflow_run_grouped_under_the_ladder(tiny_ladder):
    """`--vis tensorboard mlflow`: OUT/tensorboard/<step key> and one MLflow experiment named after OUT, a run per
    step, each with the step's loss, lr and metric as its own local log has them (TensorBoard's reader, MLflow's
    client). The rerun below, without --vis, reuses these steps: a tracker is not part of a step's card."""
    _, out, _ = tiny_ladder
    data = json.loads((out / 'results.json').read_text())
    runs = mlflow_runs(out / 'mlflow.db', experiment=out.name)
    assert set(runs) == set(data['steps'])
    metric = {'cls': 'top1', 'det': 'pascal_voc/mAP', 'seg': 'mIoU'}
    for key in data['steps']:
        local = read_scalars(str(out / key))
        board = tensorboard_scalars(out / 'tensorboard' / key)
        assert runs[key]['status'] == 'FINISHED', key
        tags = [('loss', local['train']), ('lr', local['train']), (metric[key[:3]], local['val'])]
        if key.startswith('cls/'):  # time to accuracy: the seconds since the process started, at each validation
            tags.append(('seconds_since_start', local['val']))
        for tag, logged in tags:
            expected = [(e['step'], e[tag]) for e in logged]
            assert board[tag] == [(s, pytest.approx(v, rel=1e-6)) for s, v in expected], (key, tag)  # float32
            assert runs[key]['metrics'][tag] == [(s, pytest.approx(v, rel=1e-12)) for s, v in expected], (key, tag)


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


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, counts as dead)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except FileNotFoundError:
        return False


@pytest.mark.parametrize('signal_name', ['SIGKILL', 'SIGTERM'])
def test_a_ladder_killed_or_stopped_mid_step_resumes_that_step_from_its_last_checkpoint(signal_name, tmp_path):
    """A real SIGKILL or SIGTERM of the ladder alone (by its PID), in the middle of a cls step. Killed, the ladder
    takes the run it started with it (it used to go on writing); stopped, it passes the signal on, waits for the run
    to save after its step and exits 75 in one line. The same command then resumes that step from its last checkpoint
    and finishes the ladder."""
    import os
    import signal
    import time

    from backbones.checkpoint import latest_checkpoint
    from engine.preemption import PREEMPTED_EXIT

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
    log = tmp_path / 'ladder.log'
    with open(log, 'w') as log_file:
        ladder = subprocess.Popen(
            [sys.executable, 'tools/run_ladder.py', '--config', str(config), '--out', str(out)],
            cwd=ROOT,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )
    deadline = time.monotonic() + 240
    while not (step / 'epoch_1.pth').exists() and time.monotonic() < deadline and ladder.poll() is None:
        time.sleep(0.2)
    run_pid = int((step / '.train.lock').read_text())  # the step's train process holds its work dir
    os.kill(ladder.pid, getattr(signal, signal_name))
    ladder.wait(timeout=120)
    deadline = time.monotonic() + 20
    while alive(run_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    stray = alive(run_pid)
    try:
        os.killpg(ladder.pid, signal.SIGKILL)  # whatever is left of the group, so a failure here leaves nothing behind
    except ProcessLookupError:
        pass
    assert not stray, 'the step went on running after its ladder was killed'
    assert (step / 'epoch_1.pth').exists() and not (step / 'epoch_3.pth').exists(), sorted(os.listdir(step))
    assert not (step / 'ladder_step.json').exists()  # unfinished: no record
    if signal_name == 'SIGTERM':
        assert ladder.returncode == PREEMPTED_EXIT, log.read_text()[-3000:]
        assert log.read_text().strip().splitlines()[-1] == (
            'stopped: SIGTERM: 1 running step(s) saved where they were (cls/resnet18b_standard), 0 of 1 done; run the '
            'same command again to go on'
        )
        assert Path(latest_checkpoint(str(step))).name.startswith('preempted_iter_')  # after its step, not epoch 1

    stdout = run_ladder(config, out)
    assert 'resume cls/resnet18b_standard' in stdout and 'done   cls/resnet18b_standard' in stdout
    assert 'resumed epoch: 1' in (step / 'ladder_train.log').read_text()
    data = json.loads((out / 'results.json').read_text())
    assert data['steps']['cls/resnet18b_standard']['metrics']['top1'] > 0

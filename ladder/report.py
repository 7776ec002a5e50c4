"""The ladder's report: results.json (everything, machine-readable), results.md (one table per transfer task, e.g. the
paper's Tables 8 and 9, with our numbers, deltas to the previous row and the paper's numbers beside them) and PNG
plots, all from the runs' records. Tables, columns and the paper's figures are the tasks' specs (`engine.tasks`)."""

import os.path as osp

from backbones.checkpoint import atomic_write
from engine.tasks import TASKS, TRANSFER_TASKS, Task

from .cache import write_json
from .plan import Ladder
from .run import metrics_text, weak_teachers


def collect(ladder: Ladder, results: dict, wall_s: float, command: str) -> dict:
    """results.json: the rows as the tables show them, then every step with its card, metrics and curves."""
    rows = []
    for row in ladder.rows:
        entry = dict(name=row.name, paper=row.paper)
        for task, key in row.steps.items():
            result = results.get(key, dict(error='not run'))
            entry[task] = dict(step=key, **{k: result[k] for k in ('metrics', 'error', 'diverged_at') if k in result})
        rows.append(entry)
    steps = {
        key: dict(config=step.settings.config, work_dir=step.work_dir, **results.get(key, dict(error='not run')))
        for key, step in ladder.steps.items()
    }
    paper = {
        TASKS[t].table: {row: dict(zip(TASKS[t].paper_columns, figures)) for row, figures in TASKS[t].paper.items()}
        for t in TRANSFER_TASKS
    }
    return dict(
        ladder=ladder.source,
        command=command,
        out=ladder.out,
        wall_s=round(wall_s, 1),
        jobs=ladder.jobs,
        threads=ladder.threads,
        rows=rows,
        steps=steps,
        warnings=weak_teachers(ladder, results),
        paper=paper,
    )


def _cell(value, previous=None) -> tuple[str, str]:
    if value is None:
        return '—', ''
    delta = '' if previous is None else f'{value - previous:+.2f}'
    return f'{value:.2f}', delta


def _metric(row: dict, task: str, column: str):
    return (row.get(task) or {}).get('metrics', {}).get(column)


def table(data: dict, task: Task) -> list[str]:
    columns, paper, paper_columns = [m.column for m in task.metrics], task.paper, task.paper_columns
    head = ['backbone', 'top-1', 'Δ']
    for column in columns:
        head += [column, 'Δ']
    head += ['paper row', *(f'paper {c}' for c in paper_columns)]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    previous = None
    for row in data['rows']:
        if task.name not in row:
            continue
        if 'error' in row[task.name]:
            lines.append(f'| {row["name"]} | {row[task.name]["error"]} |' + ' |' * (len(head) - 2))
            continue
        cells = [row['name'], *_cell(_metric(row, 'cls', 'top1'), previous and previous[0])]
        values = [_metric(row, 'cls', 'top1')]
        for i, column in enumerate(columns):
            value = _metric(row, task.name, column)
            cells += _cell(value, previous and previous[i + 1])
            values.append(value)
        if 'diverged_at' in row[task.name]:
            cells[-2] += f' (loss not finite from iter {row[task.name]["diverged_at"]})'
        reference = paper.get(row['paper']) if row['paper'] else None
        cells += (
            [row['paper'] or '—', *(f'{v:.2f}' for v in reference)] if reference else ['—'] * (1 + len(paper_columns))
        )
        lines.append('| ' + ' | '.join(cells) + ' |')
        previous = values
    return lines


def _minutes(seconds: float) -> str:
    return f'{int(seconds // 60)} min {seconds % 60:.0f} s'


def markdown(data: dict, plots: list[str]) -> str:
    lines = [
        f'# Transfer ladder: `{data["ladder"]}`',
        '',
        f'`{data["command"]}`: {_minutes(data["wall_s"])} wall time, {data["jobs"]} run(s) at a time'
        + (f', {data["threads"]} thread(s) each' if data['threads'] else '')
        + '.',
        '',
        'Our numbers are the last validation of each run (top-1 of the cls run whose backbone the row transfers; '
        "random init has none). Δ: change from the row above. The paper's numbers are ImageNet / VOC07 / "
        'ADE20K at full scale, beside the row they stand for.',
        '',
    ]
    for name in TRANSFER_TASKS:
        lines += [f'## {TASKS[name].table}', '', *table(data, TASKS[name]), '']
    if data['warnings']:
        lines += ['## Warnings', '', *(f'- {line}' for line in data['warnings']), '']
    lines += ['## Steps', '', '| step | config | result | wall (s) | |', '|---|---|---|---|---|']
    for key, step in data['steps'].items():
        result = metrics_text(step) if 'metrics' in step else step.get('error', '')
        status = 'reused' if step.get('reused') else ''
        lines.append(f'| {key} | `{step["config"]}` | {result} | {step.get("wall_s", "")} | {status} |')
    lines += ['', *(f'![{osp.splitext(p)[0]}]({p})' for p in plots), '']
    return '\n'.join(lines)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:  # a panel with no finished run stays empty
        ax.legend(fontsize=7)


def plot(data: dict, out: str) -> list[str]:
    """lr_schedules.png, training_curves.png, ladder.png in `out`; returns their names."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    steps = {k: s for k, s in data['steps'].items() if 'curves' in s}
    by_task = {task: {k: s for k, s in steps.items() if k.startswith(task + '/')} for task in TASKS}

    fig, ax = plt.subplots(figsize=(7, 4))
    for key, step in by_task['cls'].items():
        train = step['curves']['train']
        ax.plot([e['iter'] for e in train], [e['lr'] for e in train], label=key.split('/', 1)[1])
    ax.set(xlabel='iteration', ylabel='learning rate', title='cls: learning-rate schedule of each recipe')
    _legend(ax)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'lr_schedules.png'), dpi=90)
    plt.close(fig)

    panels = [('cls', 'val', 'top1', 'cls: validation top-1 (%)')] + [
        (task, 'train', 'loss', f'{task}: training loss') for task in TASKS
    ]
    fig, axes = plt.subplots(2, (len(panels) + 1) // 2, figsize=(11, 7), squeeze=False)
    for ax, (task, split, metric, title) in zip(axes.flat, panels):
        for key, step in by_task[task].items():
            entries = [e for e in step['curves'][split] if metric in e]
            ax.plot([e['step'] for e in entries], [e[metric] for e in entries], label=key.split('/', 1)[1])
        ax.set(title=title, xlabel='epoch' if split == 'val' else 'iteration')
        if metric == 'loss':
            ax.set_yscale('log')
        _legend(ax)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'training_curves.png'), dpi=90)
    plt.close(fig)

    columns = [(name, metric.column) for name, task in TASKS.items() for metric in task.metrics]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(data['rows']))
    for i, row in enumerate(data['rows']):
        values = [_metric(row, task, column) or 0.0 for task, column in columns]
        ax.bar(
            [c + (i - (len(data['rows']) - 1) / 2) * width for c in range(len(columns))],
            values,
            width,
            label=row['name'],
        )
    ax.set_xticks(range(len(columns)), [column for _, column in columns])
    ax.set(ylabel='%', title="the ladder: each row's backbone in cls, det and seg")
    _legend(ax)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'ladder.png'), dpi=90)
    plt.close(fig)
    return ['lr_schedules.png', 'training_curves.png', 'ladder.png']


def write(ladder: Ladder, results: dict, wall_s: float, command: str) -> dict:
    data = collect(ladder, results, wall_s, command)
    plots = plot(data, ladder.out)
    write_json(osp.join(ladder.out, 'results.json'), data)
    text = markdown(data, plots)

    def write_text(tmp):
        with open(tmp, 'w') as f:
            f.write(text)

    atomic_write(osp.join(ladder.out, 'results.md'), write_text)
    return data

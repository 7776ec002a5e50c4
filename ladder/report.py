"""The ladder's report: results.json (everything, machine-readable), results.md (one table per transfer task, e.g. the
paper's Tables 8 and 9, with our numbers, deltas to the previous row and the paper's numbers beside them) and PNG
plots, all from the runs' records. Tables, columns and the paper's figures are the tasks' specs (`engine.tasks`)."""

import os.path as osp

from backbones.checkpoint import write_json, write_text
from cls.trick_card import machine
from engine.tasks import TASKS, TRANSFER_TASKS, Task

from . import noise
from .plan import Ladder
from .run import metrics_text, weak_teachers


def aggregate(keys: list[str], results: dict) -> dict:
    """A row's entry for one task from its steps (one per seed): the mean of each metric, its spread over seeds
    (`noise.summarize`), the first iteration any seed diverged at, the time each seed took to its accuracy target;
    or the first failure."""
    per_seed = [results.get(key, dict(error='not run')) for key in keys]
    entry = dict(steps=keys)
    failed = [(key, result['error']) for key, result in zip(keys, per_seed) if 'error' in result]
    if failed:
        entry['error'] = failed[0][1] if len(keys) == 1 else f'{failed[0][0]}: {failed[0][1]}'
        return entry
    spread = {
        column: noise.summarize([result['metrics'][column] for result in per_seed]) for column in per_seed[0]['metrics']
    }
    entry.update(metrics={column: s['mean'] for column, s in spread.items()}, spread=spread)
    diverged = [result['diverged_at'] for result in per_seed if 'diverged_at' in result]
    if diverged:
        entry['diverged_at'] = min(diverged)
    records = [result.get('time_to_accuracy') for result in per_seed]
    if all(record and record.get('target') is not None for record in records):
        reached = [record['reached']['seconds'] for record in records if record['reached']]
        entry['time_to_target'] = dict(
            target=records[0]['target'],
            reached=len(reached),
            n=len(records),
            seconds=noise.summarize(reached) if reached else None,
        )
    return entry


def collect(ladder: Ladder, results: dict, wall_s: float, command: str) -> dict:
    """results.json: the rows as the tables show them (over seeds), then every step with its card, metrics and
    curves."""
    rows = []
    for row in ladder.rows:
        entry = dict(name=row.name, paper=row.paper)
        for task, keys in row.steps.items():
            entry[task] = aggregate(keys, results)
        rows.append(entry)
    steps = {
        key: dict(
            config=step.settings.config,
            work_dir=step.work_dir,
            seed=step.seed,
            **results.get(key, dict(error='not run')),
        )
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
        machine=machine(),
        jobs=ladder.jobs,
        threads=ladder.threads,
        seeds=[seed for seed in ladder.seeds if seed is not None] or None,
        reference=ladder.reference,
        noise_test=ladder.noise_test,
        noise_rule=noise.rule(ladder.noise_test),
        rows=rows,
        steps=steps,
        warnings=weak_teachers(ladder, results),
        paper=paper,
    )


def _spread(row: dict, task: str, column: str) -> dict | None:
    return (row.get(task) or {}).get('spread', {}).get(column)


def _cell(summary: dict | None, previous: dict | None = None, test: str = 'welch') -> tuple[str, str]:
    """'mean ± std' (n > 1) or 'value', and the Δ to the row above with the test's p, marked ≈ when it is within
    noise (`noise.compare`; no verdict below its seed count)."""
    if summary is None:
        return '—', ''
    text = f'{summary["mean"]:.2f}' + (f' ± {summary["std"]:.2f}' if summary['std'] is not None else '')
    if previous is None:
        return text, ''
    delta = f'{summary["mean"] - previous["mean"]:+.2f}'
    verdict = noise.compare(summary, previous, test)
    return text, delta if verdict is None else f'{delta}{"" if verdict["real"] else " ≈"} (p {verdict["p"]:.3f})'


def _time_cell(entry: dict) -> str:
    time_to = entry.get('time_to_target')
    if not time_to:
        return '—'
    seconds = time_to['seconds']
    if seconds is None:
        return f'not reached ({time_to["n"]} seed(s))'
    text = f'{seconds["mean"]:.0f}' + (f' ± {seconds["std"]:.0f}' if seconds['std'] is not None else '')
    return text + (f' ({time_to["reached"]} of {time_to["n"]} seeds)' if time_to['reached'] < time_to['n'] else '')


def cls_table(data: dict) -> list[str]:
    """The rows' classification: top-1, Δ, the time to the recipe's accuracy target, and the reference figure a row
    names (`paper=<number>`: e.g. the CIFAR-10 page's)."""
    head = ['row', 'top-1 (%)', 'Δ', 'time to target (s)', 'reference top-1']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    previous = None
    for row in data['rows']:
        if 'cls' not in row:
            continue
        if 'error' in row['cls']:
            lines.append(f'| {row["name"]} | {row["cls"]["error"]} |' + ' |' * (len(head) - 2))
            continue
        summary = _spread(row, 'cls', 'top1')
        reference = row['paper']
        reference = f'{reference:.2f}' if isinstance(reference, int | float) else (reference or '—')
        lines.append(
            '| '
            + ' | '.join(
                [row['name'], *_cell(summary, previous, data['noise_test']), _time_cell(row['cls']), reference]
            )
            + ' |'
        )
        previous = summary
    return lines


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
        summaries = [_spread(row, 'cls', 'top1'), *(_spread(row, task.name, column) for column in columns)]
        cells = [row['name']]
        for i, summary in enumerate(summaries):
            cells += _cell(summary, previous and previous[i], data['noise_test'])
        if 'diverged_at' in row[task.name]:
            cells[-2] += f' (loss not finite from iter {row[task.name]["diverged_at"]})'
        reference = paper.get(row['paper']) if isinstance(row['paper'], str) else None
        cells += [row['paper'], *(f'{v:.2f}' for v in reference)] if reference else ['—'] * (1 + len(paper_columns))
        lines.append('| ' + ' | '.join(cells) + ' |')
        previous = summaries
    return lines


def _minutes(seconds: float) -> str:
    return f'{int(seconds // 60)} min {seconds % 60:.0f} s'


def machine_text(data: dict) -> str:
    """The host and the precision the runs trained in, per task (the exceptions named): what the digits depend on."""
    host = data['machine']
    gpu = f'GPU {host["gpu"]}; ' if host['gpu'] else ''
    native = 'native bf16' if host['cpu_native_bf16'] else 'no native bf16, so the AMP rule trains in fp32'
    by_task: dict[str, dict[str, list[str]]] = {}
    for key, step in data['steps'].items():
        if 'precision' in step:
            task, name = key.split('/')[:2]
            by_task.setdefault(task, {}).setdefault(step['precision'], []).append(name)
    parts = []
    for task, precisions in sorted(by_task.items(), key=lambda item: list(TASKS).index(item[0])):
        ordered = sorted(precisions, key=lambda p: -len(precisions[p]))
        exceptions = '; '.join(f'{p}: {", ".join(sorted(set(precisions[p])))}' for p in ordered[1:])
        parts.append(f'{task} {ordered[0]}' + (f' ({exceptions})' if exceptions else ''))
    return (
        f'Machine: {gpu}CPU {host["cpu"]}, ATen capability {host["cpu_capability"]} ({native}); torch '
        f'{host["torch"]}. Precision: {", ".join(parts) or "no run finished"}.'
    )


def markdown(data: dict, plots: list[str]) -> str:
    seeds = data['seeds']
    noise_text = (
        f'Each number is the mean ± sample std over {len(seeds)} seeds ({", ".join(map(str, seeds))}); '
        f'{data["noise_rule"]}.'
        if seeds
        else 'One seed per step: the run-to-run noise is unknown, so no Δ here is evidence (`--seeds N` measures it).'
    )
    lines = [
        f'# Ladder: `{data["ladder"]}`',
        '',
        f'`{data["command"]}`: {_minutes(data["wall_s"])} wall time, {data["jobs"]} run(s) at a time'
        + (f', {data["threads"]} thread(s) each' if data['threads'] else '')
        + '.',
        '',
        machine_text(data),
        '',
        'Our numbers are the last validation of each run (top-1 of the cls run whose backbone the row transfers; '
        "random init has none). Δ: change from the row above. The paper's numbers are ImageNet / VOC07 / "
        'ADE20K at full scale, beside the row they stand for. ' + noise_text,
        '',
    ]
    if any('cls' in row for row in data['rows']):
        lines += [f'## Classification{": " + data["reference"] if data["reference"] else ""}', '', *cls_table(data), '']
    for name in TRANSFER_TASKS:
        if any(name in row for row in data['rows']):
            lines += [f'## {TASKS[name].table}', '', *table(data, TASKS[name]), '']
    if data['warnings']:
        lines += ['## Warnings', '', *(f'- {line}' for line in data['warnings']), '']
    lines += ['## Steps', '', '| step | config | result | precision | wall (s) | |', '|---|---|---|---|---|---|']
    for key, step in data['steps'].items():
        result = metrics_text(step) if 'metrics' in step else step.get('error', '')
        status = 'reused' if step.get('reused') else ''
        precision = step.get('precision', '')
        lines.append(f'| {key} | `{step["config"]}` | {result} | {precision} | {step.get("wall_s", "")} | {status} |')
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

    present = [name for name in TASKS if any(name in row for row in data['rows'])]
    columns = [(name, metric.column) for name in present for metric in TASKS[name].metrics]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(data['rows']))
    for i, row in enumerate(data['rows']):
        offsets = [c + (i - (len(data['rows']) - 1) / 2) * width for c in range(len(columns))]
        spreads = [_spread(row, task, column) for task, column in columns]
        means = [s['mean'] if s else 0.0 for s in spreads]
        stds = [s['std'] or 0.0 if s else 0.0 for s in spreads]
        ax.bar(offsets, means, width, yerr=stds, capsize=2, label=row['name'])
        for x, s in zip(offsets, spreads):  # every seed's value, so the spread is seen, not only summarised
            if s and s['n'] > 1:
                ax.scatter([x] * s['n'], s['values'], s=6, color='black', zorder=3)
    ax.set_xticks(range(len(columns)), [column for _, column in columns])
    title = "the ladder: each row's backbone in cls, det and seg"
    ax.set(ylabel='%', title=title + (f' (mean ± std, dots: {len(data["seeds"])} seeds)' if data['seeds'] else ''))
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

    write_text(osp.join(ladder.out, 'results.md'), text)
    return data

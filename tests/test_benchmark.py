"""tools/benchmark.py --quick runs here and prints every figure as a ratio with its two sides (docs/benchmarks.md has
the full figures; no speed is asserted: these machines are too noisy for timed tests)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.demo_world import generate

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_prints_each_figure_as_a_ratio_of_two_measured_sides(tmp_path):
    report = tmp_path / 'bench.json'
    generate(tmp_path / 'world', seed=0, scenes_train=18, scenes_val=9)  # a small embedded world: det/seg batches
    done = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--quick', '--world', str(tmp_path / 'world'), '--cifar-root',
         str(tmp_path / 'no_cifar'), '--json', str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data['machine']['cpu'] and data['machine']['threads'] >= 1 and data['quick'] is True
    titles = [f['title'] for f in data['figures']]
    prefixes = ('1. cls step, resnet9', '1. cls step, resnet18d', '1. cls step, resnet50d', '1. cls model, resnet18d',
                '1. cls model, resnet50d', '2. data path, CIFAR-10', '2. data path, the same', '2. data pipeline',
                '3. det', '3. seg')  # fmt: skip
    for prefix in prefixes:
        assert sum(t.startswith(prefix) for t in titles) == 1, (prefix, titles)
    for figure in data['figures']:
        (a, rate_a), (b, rate_b) = figure['rates'].items()
        assert rate_a > 0 and rate_b > 0 and figure['ratio'] == rate_a / rate_b
        assert re.search(rf'{re.escape(figure["title"])}: {re.escape(a)} / {re.escape(b)} = \d+\.\d+×', done.stdout)
    assert set(data['peak_rss_mib']) == {'cls:resnet9/Runner', 'cls:resnet9/plain loop', 'det:ours', 'det:ResNetV1d',
                                         'seg:ours', 'seg:ResNetV1c'}  # fmt: skip
    assert all(peak > 100 for peak in data['peak_rss_mib'].values())  # torch alone takes more than 100 MiB
    assert '5. GPU: not measured' in done.stdout or any(t.startswith('5. GPU') for t in titles)


def test_profile_prints_both_sides_operator_by_operator(tmp_path):
    done = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--quick', '--profile', 'resnet9', '--world', str(tmp_path / 'none')],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert 'self CPU ms per step, 3 and 3 steps profiled' in done.stdout  # --quick: 1 warm-up, 2 repeats (+1 edge)
    assert not (tmp_path / 'none').exists()  # made-up images only: no world is made
    rows = {line.split()[0]: line.split()[-2:] for line in done.stdout.splitlines() if line.startswith('  aten::')}
    assert {'aten::convolution_backward', 'aten::native_batch_norm'} <= set(rows)
    total = next(line for line in done.stdout.splitlines() if line.strip().startswith('total '))
    assert all(float(value) > 0 for value in total.split()[-2:])

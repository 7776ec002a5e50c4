"""tools/gpu_check.sh --dry-run: the GPU check's own code path on CPU at tiny sizes, so that the first GPU minutes go
to figures, not to fixing the check. Every item must come back measured or with its reason, and docs/ stays as it is."""

import json
import subprocess
from pathlib import Path

from tool_env import tool_env

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ('resnet50d_step', 'resnet9_record', 'det_iteration', 'seg_iteration', 'rehearsal')


def docs_state() -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in (ROOT / 'docs').rglob('*')}


def test_dry_run_writes_every_item(tmp_path):
    before = docs_state()
    out = tmp_path / 'x.json'
    done = subprocess.run(
        ['bash', 'tools/gpu_check.sh', '--dry-run', '--out', str(out)],
        cwd=ROOT,
        env=tool_env(CUDA_VISIBLE_DEVICES=''),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report['dry_run'] is True and report['device'] == 'cpu'
    assert report['machine']['cuda_available'] is False and report['machine']['gpu'] is None
    assert report['machine']['torch'] and report['machine']['cpu']
    assert report['setup']['env_sh_s'] > 0
    assert 'cost_plan' not in report  # a dry run's figures are never planned with
    for name in ITEMS:
        item = report['items'][name]
        assert item['wall_s'] > 0, name
        assert 'error' not in item, f'{name}: {item["error"]}'
    modes = report['items']['resnet50d_step']['modes']
    assert set(modes) == {'tf32', 'amp_fp16', 'amp_bf16', 'amp_fp16_channels_last', 'amp_fp16_channels_last_compiled'}
    for name, mode in modes.items():
        if 'skipped' in mode:
            assert mode['skipped'], name
        else:
            assert mode['img_per_s'] > 0 and mode['wall_s'] > 0, name
    assert 'img_per_s' in modes['amp_fp16'] and 'img_per_s' in modes['amp_bf16']
    assert report['items']['resnet9_record']['returncode'] == 0
    for task in ('det_iteration', 'seg_iteration'):
        assert report['items'][task]['returncode'] == 0, task
    rehearsal = report['items']['rehearsal']
    assert rehearsal.get('skipped') or rehearsal.get('returncode') == 0
    assert docs_state() == before


def test_dry_run_refuses_docs():
    before = docs_state()
    done = subprocess.run(
        ['bash', 'tools/gpu_check.sh', '--dry-run', '--out', 'docs/gpu_check.json'],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and 'does not write into docs/' in done.stderr
    assert docs_state() == before

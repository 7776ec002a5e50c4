"""Both CPU kinds in one test command: on an AVX-512 machine the tests marked `cpu_kind` (kernels, tolerances,
precision, timing) run again in a fresh pytest with torch and oneDNN dispatching as on an AVX2-only CPU, where the
AMP rule trains in fp32. An AVX2 machine cannot emulate AVX-512: there the suite's own run is that kind's."""

import re
import subprocess
import sys

import pytest
from cpu_kind import EMULATE_AVX2, emulating_avx2, expected_capability
from tool_env import ROOT, tool_env

EMULATION_CHECK = """
import torch
assert torch.backends.cpu.get_cpu_capability() == 'AVX2', torch.backends.cpu.get_cpu_capability()
assert not torch.ops.mkldnn._is_mkldnn_bf16_supported()  # oneDNN capped at AVX2: no bf16 kernels
from cls.optim import probe_step_time
print(f'bf16/fp32 step time {probe_step_time(torch.bfloat16) / probe_step_time(torch.float32):.1f}')
"""


@pytest.mark.skipif(
    emulating_avx2() or expected_capability() != 'AVX512',
    reason='this CPU is not AVX-512 (or is already emulating AVX2): the run itself is the AVX2 kind',
)
def test_the_cpu_kind_tests_pass_as_on_an_avx2_only_cpu():
    env = tool_env(**EMULATE_AVX2)
    check = subprocess.run([sys.executable, '-c', EMULATION_CHECK], env=env, capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stderr[-2000:]
    # The emulation took: bf16 without its kernels is emulated, slower than fp32 (natively it is faster here).
    assert float(check.stdout.split()[-1]) > 1.0, check.stdout

    done = subprocess.run(
        [sys.executable, '-m', 'pytest', '-m', 'cpu_kind', '-n', '0', '-q', '-p', 'no:cacheprovider', 'tests'],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ''
    failed = [line for line in done.stdout.splitlines() if line.startswith(('FAILED', 'ERROR'))]
    assert done.returncode == 0, '\n'.join(failed) + '\n' + done.stdout[-6000:] + done.stderr[-2000:]
    assert re.search(r'\d+ passed', summary) and 'failed' not in summary, summary

"""engine/host.py: after `reuse_freed_memory`, a freed activation-sized buffer is served again from the heap with no
page faults; with glibc's own rule (TRICKS_MMAP_THRESHOLD=0) every new buffer is page-faulted in from the kernel."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, resource, torch
from engine.host import reuse_freed_memory
applied = reuse_freed_memory()
def faults_of_one_step():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = torch.ones(16 << 20)          # 64 MiB, as a step's activations
    b = torch.ones(8 << 20)           # a second buffer, freed with the first: the heap's top is free afterwards
    del a, b
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults = [faults_of_one_step() for _ in range(8)]
print(json.dumps(dict(applied=applied, faults=faults)))
"""


def probe(threshold: str) -> dict:
    env = {**os.environ, 'TRICKS_MMAP_THRESHOLD': threshold, 'PYTHONPATH': str(ROOT)}
    done = subprocess.run([sys.executable, '-c', PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_freed_buffers_are_reused_without_page_faults_and_glibcs_rule_faults_every_step():
    pages = (24 << 20) * 4 // os.sysconf('SC_PAGE_SIZE')  # the two buffers' pages: 24,576 of 4 KiB
    ours = probe(str(1 << 30))
    assert ours['applied'] is True
    assert ours['faults'][0] >= pages * 0.9  # the first step takes its pages from the kernel
    assert max(ours['faults'][-3:]) < pages * 0.05  # once the heap's layout settles, steps reuse them
    glibc = probe('0')
    assert glibc['applied'] is False
    assert min(glibc['faults'][-3:]) >= pages * 0.9  # mmap'd and unmapped each time: faulted in again every step

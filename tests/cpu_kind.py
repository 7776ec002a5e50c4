"""The two CPU kinds this project runs on, told apart from /proc/cpuinfo and the emulation variables, not from torch:
an oracle for tests of the AMP rule (`cls.optim.cpu_precision`), which asks torch."""

import os
from pathlib import Path

# What makes torch and oneDNN on an AVX-512 machine dispatch as on an AVX2-only CPU (tests/test_cpu_kinds.py runs the
# tests marked `cpu_kind` under them).
EMULATE_AVX2 = dict(ATEN_CPU_CAPABILITY='avx2', ONEDNN_MAX_CPU_ISA='AVX2')
AVX512 = {'avx512f', 'avx512cd', 'avx512vl', 'avx512bw', 'avx512dq'}  # what ATen's AVX512 kernels need


def cpu_flags() -> set[str]:
    lines = Path('/proc/cpuinfo').read_text().splitlines()
    return set(next(line for line in lines if line.startswith('flags')).split(':', 1)[1].split())


def emulating_avx2() -> bool:
    return any(os.environ.get(name, '').upper() == value.upper() for name, value in EMULATE_AVX2.items())


def expected_capability() -> str:
    return 'AVX512' if AVX512 <= cpu_flags() and not emulating_avx2() else 'AVX2'


def expected_native(dtype: str) -> bool:
    """bf16: bf16 dot products (AVX512_BF16 or AMX-BF16) behind AVX-512 kernels; fp16: AMX-FP16."""
    flags = cpu_flags()
    hardware = {'bfloat16': {'avx512_bf16', 'amx_bf16'}, 'float16': {'amx_fp16'}}[dtype]
    return expected_capability() == 'AVX512' and bool(hardware & flags)


AUTO_DTYPE = 'bfloat16' if expected_native('bfloat16') else 'float32'  # what dtype=None trains in on this CPU

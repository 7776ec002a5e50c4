"""What the host process needs set before a run, whatever the task.

`reuse_freed_memory`: a CPU training step allocates and frees activation buffers of tens of MB. glibc serves
allocations above its mmap threshold (dynamic, at most 32 MiB) with fresh mmap'd pages and returns them with munmap
on free, so every step page-faults its whole working set back in, zeroed by the kernel. Measured on a 2-core VM
(ResNet-9 at half width, batch 512, bf16 autocast, 30 steps): 0.97 → 0.59 s per step, system time 20 s → 1.6 s. The
usual cure for PyTorch on CPUs is to preload jemalloc or tcmalloc; raising glibc's threshold does the same with no
extra library, and the freed buffers are reused from the heap on the next step.
"""

import ctypes
import ctypes.util
import os

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
DEFAULT_MMAP_THRESHOLD = 1 << 30


def reuse_freed_memory() -> bool:
    """Serve allocations below `$TRICKS_MMAP_THRESHOLD` bytes (default 1 GiB; 0 leaves glibc's rule) from the heap.
    True if set; False where the C library is not glibc or refused the value."""
    threshold = int(os.environ.get('TRICKS_MMAP_THRESHOLD', DEFAULT_MMAP_THRESHOLD))
    name = ctypes.util.find_library('c')
    if threshold <= 0 or not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, ctypes.c_int(min(threshold, 2**31 - 1))))

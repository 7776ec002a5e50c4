"""Fixtures shared by the test modules."""

import os

if os.environ.get('PYTEST_XDIST_WORKER'):
    # The workers share the cores: one OpenMP thread each, in this process (set before torch is imported) and in the
    # tools it starts (see `one_thread` for why oversubscribed OpenMP threads are so costly here).
    os.environ.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope='module')
def one_thread():
    """Many small ops: one intra-op thread is as fast and does not collapse when the 2 cores are busy (two OpenMP
    threads on a shared 2-core machine made mmdet/mmseg steps up to ~15x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope='module')
def one_thread():
    """Many small ops: one intra-op thread is as fast and does not collapse when the 2 cores are busy (two OpenMP
    threads on a shared 2-core machine made mmdet/mmseg steps up to ~15x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

"""Test a segmentation (mmseg) model: `python tools/test_seg.py CONFIG CHECKPOINT [--work-dir DIR] [--amp] [...]`.

Our scope is registered too, so both our configs and the toolkit's own run through it."""

from engine.cli import tool

if __name__ == '__main__':
    tool('seg', 'test')

"""Test a detection (mmdet) model: `python tools/test_det.py CONFIG CHECKPOINT [--work-dir DIR] [--amp] [...]`.

Our scope is registered too, so both our configs and the toolkit's own run through it."""

from engine.cli import tool

if __name__ == '__main__':
    tool('det', 'test')

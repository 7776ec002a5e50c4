"""Train a segmentation (mmseg) model: `python tools/train_seg.py CONFIG [--work-dir DIR] [--amp] [...]`.

Our scope is registered too, so both our configs and the toolkit's own run through it."""

from engine.cli import tool

if __name__ == '__main__':
    tool('seg', 'train')

"""Train a classification model: `python tools/train_cls.py CONFIG [--work-dir DIR] [--amp] [...]`."""

from engine.cli import tool

if __name__ == '__main__':
    tool('cls', 'train')

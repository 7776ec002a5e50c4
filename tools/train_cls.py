"""Train a classification model: `python tools/train_cls.py CONFIG [--work-dir DIR] [--amp] [...]`."""

from engine.cli import main

if __name__ == '__main__':
    main('cls', 'train')

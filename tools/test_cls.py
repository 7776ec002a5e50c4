"""Test a classification model: `python tools/test_cls.py CONFIG CHECKPOINT [--work-dir DIR] [--amp] [...]`."""

from engine.cli import main

if __name__ == '__main__':
    main('cls', 'test')

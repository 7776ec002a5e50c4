"""Test a classification model: `python tools/test_cls.py CONFIG CHECKPOINT [--work-dir DIR] [--amp] [...]`."""

from engine.cli import tool

if __name__ == '__main__':
    tool('cls', 'test')

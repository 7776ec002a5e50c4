"""Running things, the same code for cls, det and seg: the task specs (tasks.py), the OpenMMLab-style train/test
entry behind tools/train_*.py and tools/test_*.py (cli.py), and the hooks every task shares (hooks.py)."""

"""Launching runs: the one train/test entry behind tools/train_*.py and tools/test_*.py (cli.py), and the transfer
ladder behind tools/run_ladder.py (ladder.py plans and runs it, report.py writes its tables and plots, paper.py holds
the paper's numbers)."""

"""The transfer ladder behind tools/run_ladder.py: a ladder config → steps (plan.py), each step's card, record, reuse
and resume (cache.py), the steps run as subprocesses of the train tools (run.py), and the report (report.py).
What differs between tasks is read from their specs (`engine.tasks`)."""

"""What the experiment trackers hold, read back with their own readers: TensorBoard's EventAccumulator and MLflow's
client (engine/visualize.py writes them)."""

from pathlib import Path


def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of one TensorBoard run folder: [(step, value)] in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={'scalars': 0})  # 0: keep every event, not a sample
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()['scalars']}


def mlflow_runs(store: Path, experiment: str) -> dict[str, dict]:
    """The runs of one experiment in a SQLite store, by run name: status and every metric's history [(step, value)]."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f'sqlite:///{store}')
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f'{store} has no experiment {experiment!r}'
    runs = {}
    for run in client.search_runs([found.experiment_id]):
        assert run.info.run_name not in runs, f'two MLflow runs named {run.info.run_name}'
        history = {
            name: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, name))
            for name in run.data.metrics
        }
        runs[run.info.run_name] = dict(status=run.info.status, metrics=history, artifact_uri=run.info.artifact_uri)
    return runs

"""Experiment trackers, one flag each: `--vis tensorboard`, `--vis mlflow` (or both), beside mmengine's local scalar
log, which every run keeps (the ladder reads it).

The backends are mmengine's (`TensorboardVisBackend`, and `MLflowVisBackend` through `tricks.MLflowVisBackend`
below), fed by its LoggerHook: the loss and its parts, lr, AGC's clipped fraction (`agc_clipped_fraction`), the
validation metrics (top-1, mAP, mIoU) and the seconds since the process started at each validation
(`seconds_since_start`, `engine.hooks.TimeToAccuracyHook`). Runs are grouped by folder: under DIR (`--vis-dir`,
default: the work dir) TensorBoard writes DIR/tensorboard/RUN and MLflow keeps the runs of experiment "basename of
DIR" in DIR/mlflow.db; RUN is `--vis-run` (default: the config's name). A ladder passes its own folder and each
step's key, so `tensorboard --logdir OUT/tensorboard` and one MLflow experiment show the whole ladder. A resumed run
writes on in the same TensorBoard folder and the same MLflow run.
"""

import contextlib
import fcntl
import importlib.util
import logging
import os
import os.path as osp

from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger
from mmengine.visualization import MLflowVisBackend as MMEngineMLflowVisBackend
from mmengine.visualization.vis_backend import force_init_env

from backbones.errors import UserError
from backbones.registry import VISBACKENDS

TRACKERS = ('local', 'tensorboard', 'mlflow')
# What each tracker imports, and the extra of pyproject.toml that installs it (tools/env.sh installs every extra).
PACKAGES = {'tensorboard': 'tensorboard', 'mlflow': 'mlflow'}


def use_trackers(cfg: Config, trackers, vis_dir: str | None, run: str | None, resume: bool, config: str) -> None:
    """Add the trackers' backends to the config's visualizer (mmengine's own when it names none)."""
    unknown = [t for t in trackers if t not in TRACKERS]
    if unknown:
        raise UserError(f'--vis {" ".join(unknown)}: the trackers are {", ".join(TRACKERS)}')
    vis_dir = osp.abspath(vis_dir or cfg.work_dir)
    run = run or osp.splitext(osp.basename(config))[0]
    visualizer = cfg.get('visualizer') or ConfigDict(type='Visualizer')
    backends = list(visualizer.get('vis_backends') or [])
    if not any(b.get('type') in ('LocalVisBackend', 'mmengine.LocalVisBackend') for b in backends):
        backends.insert(0, dict(type='LocalVisBackend'))  # scalars.json: the ladder's results are read from it
    for tracker in dict.fromkeys(t for t in trackers if t != 'local'):
        if importlib.util.find_spec(PACKAGES[tracker]) is None:
            raise UserError(
                f'--vis {tracker}: the {PACKAGES[tracker]} package is not installed '
                f"(pip install '.[{tracker}]'; tools/env.sh installs it)"
            )
        if tracker == 'tensorboard':
            backends.append(dict(type='TensorboardVisBackend', save_dir=osp.join(vis_dir, 'tensorboard', run)))
        else:
            backends.append(dict(type='tricks.MLflowVisBackend', save_dir=vis_dir, run_name=run, resume=resume))
    visualizer.vis_backends = backends
    cfg.visualizer = visualizer


@VISBACKENDS.register_module()
class MLflowVisBackend(MMEngineMLflowVisBackend):
    """mmengine's MLflow backend (same arguments), with a store that opens and runs that resume.

    - The store: `tracking_uri`, else $MLFLOW_TRACKING_URI (a team's server), else DIR/mlflow.db. mmengine's default,
      a file store under DIR, is refused by MLflow 3 (maintenance mode) unless MLFLOW_ALLOW_FILE_STORE=true; a SQLite
      file is the local store it recommends.
    - The experiment: `exp_name`, else $MLFLOW_EXPERIMENT_NAME, else the name of DIR (a ladder's folder); a new
      one keeps its artifacts in DIR/mlartifacts (MLflow's default is the current folder).
    - `resume=True` goes on in the latest run of that name, and logs no params again: MLflow refuses to change a
      logged param, and a resumed run's `resume` and `load_from` differ."""

    def __init__(self, save_dir: str, run_name: str | None = None, resume: bool = False, **kwargs):
        kwargs.setdefault('tracking_uri', os.environ.get('MLFLOW_TRACKING_URI'))
        kwargs.setdefault('exp_name', os.environ.get('MLFLOW_EXPERIMENT_NAME') or osp.basename(osp.abspath(save_dir)))
        super().__init__(save_dir, run_name=run_name, **kwargs)
        self._tracking_uri = self._tracking_uri or f'sqlite:///{osp.abspath(save_dir)}/mlflow.db'
        self._resume = resume

    def _init_env(self) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        os.makedirs(self._save_dir, exist_ok=True)
        self._mlflow = mlflow
        for handler in MMLogger.get_current_instance().handlers:  # importing mlflow closes them (as mmengine does)
            if getattr(handler, 'stream', 0) is None or getattr(handler.stream, 'closed', False):
                handler.stream = open(handler.baseFilename, 'a')
        logging.getLogger('alembic').setLevel(logging.WARNING)  # the store's schema set-up, at every start
        mlflow.set_tracking_uri(self._tracking_uri)
        with self._store_lock():
            if mlflow.get_experiment_by_name(self._exp_name) is None:  # its artifacts beside the store, not the cwd
                location = self._artifact_location or osp.join(osp.abspath(self._save_dir), 'mlartifacts')
                mlflow.create_experiment(self._exp_name, artifact_location=location)
            experiment = mlflow.set_experiment(self._exp_name)
            earlier = None
            if self._resume and self._run_name:
                runs = MlflowClient().search_runs(
                    [experiment.experiment_id],
                    filter_string=f"tags.`mlflow.runName` = '{self._run_name}'",
                    order_by=['attributes.start_time DESC'],
                    max_results=1,
                )
                earlier = runs[0].info.run_id if runs else None
            mlflow.start_run(run_id=earlier, run_name=None if earlier else self._run_name)
        if self._tags is not None:
            mlflow.set_tags(self._tags)
        if self._params is not None and not earlier:
            mlflow.log_params(self._params)
        self._resumed = earlier is not None

    @contextlib.contextmanager
    def _store_lock(self):
        """One process at a time sets up a SQLite store and its experiment: two that create its tables at once (a
        ladder's steps, `jobs` at a time) fail inside SQLAlchemy (CircularDependencyError). Other stores need none."""
        path = self._tracking_uri.removeprefix('sqlite:///')
        if path == self._tracking_uri:
            yield
            return
        with open(f'{path}.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @force_init_env
    def add_config(self, config: Config, **kwargs) -> None:
        if self._resumed:
            self.cfg = config  # close() reads its work dir
            self._mlflow.log_text(config.pretty_text, 'config.py')
        else:
            super().add_config(config, **kwargs)

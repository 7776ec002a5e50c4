"""The tasks, one spec each: which toolkit runs a task's configs, what its runs report, and the paper's table it is
set beside. The train/test CLI (`engine.cli`) and the ladder (`ladder/`: plan, cache, run, report) read only these;
a new task is one more entry here (and its thin tools/train_<task>.py).

The paper's figures: He et al. 2019, Tables 8 and 9 (shared/reference/paper.md); a ladder row names the paper's
row it stands for with `paper='...'`.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    column: str  # the report's column
    logged: str  # mmengine's scalar name (or its last '/' part, e.g. 'pascal_voc/mAP')
    factor: float = 1.0  # to percent


@dataclass(frozen=True)
class Task:
    name: str
    default_scope: str
    toolkit: str | None  # package whose `utils.register_all_modules` must run first
    metrics: tuple[Metric, ...]  # what the report shows of a run's last validation
    transfers: bool = False  # fine-tunes the backbone a cls step exported
    table: str | None = None  # the paper table this task's ladder rows reproduce
    paper_columns: tuple[str, ...] = ()
    paper: dict[str, tuple[float, ...]] = field(default_factory=dict)  # paper row → figures, in paper_columns order
    backbone_readers: tuple[str, ...] = ()  # model keys of the modules fed the backbone's maps (their in_channels)


TASKS = {
    task.name: task
    for task in (
        Task('cls', default_scope='tricks', toolkit=None, metrics=(Metric('top1', 'top1'),)),
        Task(
            'det',
            default_scope='mmdet',
            toolkit='mmdet',
            transfers=True,
            backbone_readers=('neck',),
            metrics=(Metric('mAP', 'mAP', 100),),  # mmdet reports mAP as a fraction; the paper and mmseg in percent
            table='Table 8: Faster R-CNN, VOC-format detection',
            paper_columns=('top-1', 'mAP'),
            paper={  # Faster R-CNN, VOC07+12 trainval → VOC07 test
                'B-standard': (76.14, 77.54),
                'D-ResNet': (77.16, 78.30),
                '+ cosine': (77.91, 79.23),
                '+ label smoothing': (78.34, 80.71),
                '+ distill w/o mixup': (78.67, 80.96),
                '+ mixup w/o distill': (79.16, 81.10),
                '+ distill w/ mixup': (79.29, 81.33),
            },
        ),
        Task(
            'seg',
            default_scope='mmseg',
            toolkit='mmseg',
            transfers=True,
            backbone_readers=('decode_head', 'auxiliary_head'),
            metrics=(Metric('pixAcc', 'aAcc'), Metric('mIoU', 'mIoU')),
            table='Table 9: FCN, ADE-format segmentation',
            paper_columns=('top-1', 'pixAcc', 'mIoU'),
            paper={  # FCN, ADE20K
                'B-standard': (76.14, 78.08, 37.05),
                'D-ResNet': (77.16, 78.88, 38.88),
                '+ cosine': (77.91, 79.25, 39.33),
                '+ label smoothing': (78.34, 78.64, 38.75),
                '+ distill w/o mixup': (78.67, 78.97, 38.90),
                '+ mixup w/o distill': (79.16, 78.47, 37.99),
                '+ distill w/ mixup': (79.29, 78.72, 38.40),
            },
        ),
    )
}
TRANSFER_TASKS = tuple(name for name, task in TASKS.items() if task.transfers)

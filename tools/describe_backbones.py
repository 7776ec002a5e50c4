"""Build every backbone preset and print its parameters, multiply-adds and output strides, measured at 224 px."""

import argparse
import fnmatch
import time

from backbones import PRESETS, build_backbone
from backbones.complexity import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--only', default='*', help='glob over preset names, e.g. "resnet50*"')
    parser.add_argument('--image-size', type=int, default=224)
    args = parser.parse_args()
    names = [n for n in PRESETS if fnmatch.fnmatch(n, args.only)]
    if not names:
        parser.error(f'--only {args.only!r} matches no preset')
    print(f'{"backbone":<14} {"params (M)":>10} {"GMACs":>7}  {"strides":<16} channels')
    for name in names:
        start = time.perf_counter()
        c = measure(build_backbone(name), args.image_size)
        print(
            f'{name:<14} {c.params / 1e6:>10.2f} {c.macs / 1e9:>7.2f}  {str(c.strides):<16} {c.channels}'
            f'  ({time.perf_counter() - start:.1f} s)',
            flush=True,
        )


if __name__ == '__main__':
    main()

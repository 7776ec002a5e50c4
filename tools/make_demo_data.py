"""Write the synthetic demo world (classification crops, Pascal VOC, ADE20K; same scenes) for the CPU ladder.

The generator lives in `datagen/demo_world.py`; this is its command line.
"""

import argparse
import time

from datagen.demo_world import VERSION, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--scenes-train', type=int, default=1500)
    parser.add_argument('--scenes-val', type=int, default=400)
    parser.add_argument('--image-size', type=int, default=96)
    parser.add_argument('--overwrite', action='store_true', help='replace an earlier generation in OUT_DIR')
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        meta = generate(args.out_dir, args.seed, args.scenes_train, args.scenes_val, args.image_size, args.overwrite)
    except FileExistsError as err:
        parser.error(str(err))
    train, val = meta['counts']['train'], meta['counts']['val']
    print(
        f'demo world v{VERSION} seed {args.seed} -> {args.out_dir}: train {train["scenes"]} scenes / '
        f'{train["objects"]} objects, val {val["scenes"]} scenes / {val["objects"]} objects, '
        f'{len(meta["thing_classes"])} thing + {len(meta["stuff_classes"])} stuff classes, '
        f'{args.image_size} px, {time.perf_counter() - start:.1f} s'
    )


if __name__ == '__main__':
    main()

"""Writes the web demo's example images: synthetic RefSegRS-style scenes the quickstart model
never saw (seed 7; the quickstart trains on seed 0) with one of their true expressions each.

`python demo/make_examples.py` -> demo/examples/synthetic_{0,1,2}.png and examples.json
"""
import json
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmcv  # noqa: E402

from mmrrsis.datasets.synthetic import make_refsegrs  # noqa: E402

OUT = osp.join(osp.dirname(osp.abspath(__file__)), 'examples')


def main(num: int = 3, seed: int = 7) -> None:
    with tempfile.TemporaryDirectory() as root:
        make_refsegrs(root, num_images=40, seed=seed, size=128)
        with open(osp.join(root, 'output_phrase_test.txt')) as f:
            lines = [line.strip().split(' ', 1) for line in f if line.strip()]
        examples, used = [], set()
        for image_id, expression in lines:
            if image_id in used:
                continue
            used.add(image_id)
            name = f'synthetic_{len(examples)}.png'
            img = mmcv.imread(osp.join(root, 'images', f'{image_id}.tif'))
            mmcv.imwrite(img, osp.join(OUT, name))
            examples.append(dict(image=name, expression=expression))
            if len(examples) == num:
                break
    with open(osp.join(OUT, 'examples.json'), 'w') as f:
        json.dump(examples, f, indent=1)
    print(f'wrote {len(examples)} examples to {OUT}')


if __name__ == '__main__':
    main()

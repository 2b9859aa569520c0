"""Segments what an expression refers to over a whole georeferenced scene (GeoTIFF...).

`python tools/large_scene_infer.py SCENE.tif "EXPRESSION" CONFIG CHECKPOINT --out mask.tif
[--tile 512] [--overlap 128] [--batch-size 4] [--geojson out.geojson] [--device cpu]`

Needs rasterio (`pip install "mmrrsis[geo]"`). The mask is a single-band uint8 GeoTIFF,
255 on the target and 0 elsewhere, with the scene's size, CRS and transform. See
`mmrrsis.apis.infer_large_scene` for how tiles are read, resized and blended.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

import mmrrsis  # noqa: E402,F401  (applies the compatibility layer first)
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from mmrrsis.apis import infer_large_scene, init_model  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Referring segmentation of a large scene')
    parser.add_argument('scene', help='raster file (GeoTIFF or any format rasterio reads)')
    parser.add_argument('expression', help='referring expression, applied to every tile')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='mask GeoTIFF to write')
    parser.add_argument('--tile', type=int, default=512, help='tile size in scene pixels')
    parser.add_argument('--overlap', type=int, default=128, help='overlap of neighbouring tiles')
    parser.add_argument('--batch-size', type=int, default=4, help='tiles per forward pass')
    parser.add_argument('--geojson', help='also write the target regions as GeoJSON polygons')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu',
                        help='device, e.g. cpu or cuda:0 (default: cuda:0 when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.data_preprocessor.tokenizer=...')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.scene):
        raise FileNotFoundError(f'scene {args.scene} does not exist')
    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=args.cfg_options)
    summary = infer_large_scene(model, args.scene, args.expression, args.out, tile=args.tile,
                                overlap=args.overlap, batch_size=args.batch_size,
                                geojson_file=args.geojson)
    rate = summary['num_tiles'] / summary['seconds']
    print(f'{summary["num_tiles"]} tiles in {summary["seconds"]:.1f} s ({rate:.2f} tiles/s); '
          f'{summary["target_pixels"]} target pixels; mask written to {args.out}')
    if summary['empty_tiles']:
        print(f'{summary["empty_tiles"]} tiles predicted empty by the existence head, skipped')
    if args.geojson:
        print(f'{summary["num_polygons"]} polygons written to {args.geojson}')


if __name__ == '__main__':
    main()

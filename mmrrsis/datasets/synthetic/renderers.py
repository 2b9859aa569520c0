"""Renderers of the synthetic object categories.

A renderer draws one object in its own frame (long axis along x, roughly inside
[-0.5, 0.5]^2; band renderers: x along the band, y across it) and returns the object's
parts, which make up its mask, and context parts (water under a ship, a river under a
bridge) that are drawn underneath every object and belong to no mask.
"""
import numpy as np

from .shapes import (GLASS, GRASS, PAINT, WATER, blob, ellipse, mirror_y, rect, shade,
                     stadium_shape)


def draw_car(rng, rgb):
    return [(rect(-.5, -.3, .5, .3), rgb), (rect(.12, -.24, .3, .24), GLASS),
            (rect(-.42, -.22, -.3, .22), GLASS),
            (rect(-.26, -.22, .08, .22), shade(rgb, 1.1))], []


def draw_van(rng, rgb):
    return [(rect(-.5, -.32, .5, .32), rgb), (rect(-.45, -.26, .26, .26), shade(rgb, 1.08)),
            (rect(.3, -.27, .42, .27), GLASS)], []


def draw_truck(rng, rgb):
    return [(rect(-.5, -.32, .18, .32), shade(rgb, 1.1)), (rect(.18, -.1, .22, .1), GLASS),
            (rect(.22, -.28, .5, .28), rgb), (rect(.4, -.22, .47, .22), GLASS)], []


def draw_trailer(rng, rgb):
    parts = [(rect(-.5, -.26, .44, .26), rgb), (rect(.44, -.05, .5, .05), GLASS)]
    parts += [(rect(x, -.26, x + .025, .26), shade(rgb, .75)) for x in np.arange(-.38, .4, .13)]
    return parts, []


def draw_bus(rng, rgb):
    return [(rect(-.5, -.28, .5, .28), rgb), (rect(.42, -.24, .48, .24), GLASS),
            (rect(-.25, -.12, -.05, .12), (215, 215, 215)),
            (rect(.08, -.12, .24, .12), (215, 215, 215))], []


def draw_any_vehicle(rng, rgb):
    return (draw_car, draw_van, draw_truck)[rng.integers(3)](rng, rgb)


def draw_building(rng, rgb):
    h = rng.uniform(.34, .46)
    return [(rect(-.5, -h, .5, 0), shade(rgb, 1.1)), (rect(-.5, 0, .5, h), shade(rgb, .8)),
            (rect(-.5, -.015, .5, .015), shade(rgb, .6))], []


def draw_road_marking(rng, rgb):
    return [(rect(-.5 + i * .27, -.45, -.32 + i * .27, .45), rgb) for i in range(4)], []


def draw_low_vegetation(rng, rgb):
    parts = [(blob(rng, 0, 0, .5, .42), rgb)]
    for _ in range(5):
        cx, cy = rng.uniform(-.25, .25, 2)
        r = rng.uniform(.05, .1)
        parts.append((blob(rng, cx, cy, r, r), shade(rgb, rng.choice([.8, 1.15]))))
    return parts, []


def draw_impervious(rng, rgb):
    parts = [(rect(-.5, -.4, .5, .4), rgb)]
    for _ in range(3):
        cx, cy = rng.uniform(-.3, .3), rng.uniform(-.2, .2)
        parts.append((blob(rng, cx, cy, .12, .08), shade(rgb, .88)))
    return parts, []


def draw_tree(rng, rgb):
    parts = [(ellipse(0, 0, .34, .34), rgb)]
    for a in np.linspace(0, 2 * np.pi, 5, endpoint=False) + rng.uniform(0, 1):
        lobe = ellipse(.3 * np.cos(a), .3 * np.sin(a), .17, .17, 18)
        parts.append((lobe, shade(rgb, rng.uniform(.9, 1.1))))
    parts.append((ellipse(-.1, -.1, .14, .14, 18), shade(rgb, 1.3)))
    return parts, []


def draw_road(rng, rgb):
    parts = [(rect(-.5, -.5, .5, .5), rgb), (rect(-.5, -.44, .5, -.38), PAINT),
             (rect(-.5, .38, .5, .44), PAINT)]
    parts += [(rect(x, -.04, x + .03, .04), PAINT) for x in np.arange(-.5, .5, .07)]
    return parts, []


def draw_bikeway(rng, rgb):
    parts = [(rect(-.5, -.5, .5, .5), rgb)]
    parts += [(rect(x, -.06, x + .02, .06), PAINT) for x in np.arange(-.5, .5, .05)]
    return parts, []


def draw_sidewalk(rng, rgb):
    parts = [(rect(-.5, -.5, .5, .5), rgb)]
    parts += [(rect(x, -.5, x + .006, .5), shade(rgb, .8)) for x in np.arange(-.5, .5, .04)]
    return parts, []


def draw_service_area(rng, rgb):
    parts = [(rect(-.5, -.38, .5, .38), rgb), (rect(.16, -.3, .46, .3), (200, 190, 170)),
             (rect(.16, 0, .46, .3), (170, 160, 142))]
    for x in np.arange(-.42, .1, .07):
        parts += [(rect(x, -.3, x + .015, -.1), PAINT), (rect(x, .1, x + .015, .3), PAINT)]
    return parts, []


def draw_toll_station(rng, rgb):
    parts = [(rect(-.5, -.35, .5, .35), rgb)]
    for y in (-.175, 0, .175):
        parts += [(rect(x, y - .012, x + .05, y + .012), PAINT) for x in np.arange(-.5, .45, .1)]
    parts += [(rect(-.12, -.42, .12, .42), (214, 214, 220)),
              (rect(-.12, -.42, .12, -.38), (150, 40, 40))]
    return parts, []


def draw_airplane(rng, rgb):
    fuselage = np.array([[-.5, -.07], [.38, -.09], [.5, 0], [.38, .09], [-.5, .07]])
    wing = np.array([[.22, -.08], [-.14, -.5], [-.32, -.5], [-.18, -.08]])
    tail = np.array([[-.34, -.06], [-.46, -.22], [-.54, -.22], [-.5, -.06]])
    engine = rect(-.02, -.3, .08, -.24)
    return [(wing, shade(rgb, .92)), (mirror_y(wing), shade(rgb, .92)), (tail, rgb),
            (mirror_y(tail), rgb), (fuselage, rgb), (engine, GLASS),
            (mirror_y(engine), GLASS)], []


def draw_airport(rng, rgb):
    parts = [(rect(-.5, -.36, .5, .36), rgb), (rect(-.5, -.12, .5, .08), (62, 62, 66)),
             (rect(-.32, .18, .22, .33), (205, 205, 210))]
    parts += [(rect(x, -.03, x + .05, -.01), PAINT) for x in np.arange(-.45, .45, .1)]
    return parts, []


def draw_baseball_field(rng, rgb):
    outfield = np.concatenate([[[0, 0]], ellipse(0, 0, 1, 1, 24, 0, np.pi / 2 + 1e-9)]) - .5
    return [(outfield, rgb), (rect(0, 0, .34, .34) - .5, (186, 136, 86)),
            (rect(.06, .06, .26, .26) - .5, shade(rgb, 1.1))], []


def _court(rng, rgb, tennis: bool):
    w = .025
    parts = [(rect(-.5, -.34, .5, .34), shade(rgb, .8)), (rect(-.42, -.26, .42, .26), rgb)]
    lines = [rect(-.42, -.26, .42, -.26 + w), rect(-.42, .26 - w, .42, .26),
             rect(-.42, -.26, -.42 + w, .26), rect(.42 - w, -.26, .42, .26),
             rect(-w / 2, -.26, w / 2, .26)]
    if tennis:
        lines += [rect(-.22, -.18, .22, -.18 + w), rect(-.22, .18 - w, .22, .18),
                  rect(-.22, -.18, -.22 + w, .18), rect(.22 - w, -.18, .22, .18)]
    else:
        lines += [ellipse(0, 0, .1, .1, 24), rect(-.42, -.08, -.28, .08),
                  rect(.28, -.08, .42, .08)]
    return parts + [(line, PAINT) for line in lines], []


def draw_basketball_court(rng, rgb):
    return _court(rng, rgb, tennis=False)


def draw_tennis_court(rng, rgb):
    return _court(rng, rgb, tennis=True)


def draw_bridge(rng, rgb):
    parts = [(rect(-.5, -.5, .5, .5), rgb), (rect(-.5, -.5, .5, -.38), shade(rgb, .7)),
             (rect(-.5, .38, .5, .5), shade(rgb, .7))]
    parts += [(rect(x, -.04, x + .03, .04), PAINT) for x in np.arange(-.5, .5, .07)]
    river = rect(-.16, -2.4, .16, 2.4)
    return parts, [(river, WATER)]


def draw_chimney(rng, rgb):
    return [(ellipse(0, 0, .5, .5), rgb), (ellipse(0, 0, .36, .36), (176, 62, 52)),
            (ellipse(0, 0, .24, .24), shade(rgb, 1.1)),
            (ellipse(0, 0, .14, .14), (28, 28, 30))], []


def draw_dam(rng, rgb):
    parts = [(rect(-.5, -.5, .5, .5), rgb)]
    parts += [(rect(x, -.5, x + .015, .5), shade(rgb, .75)) for x in np.arange(-.4, .4, .08)]
    return parts, [(rect(-.5, -1.5, .5, -.5), WATER)]


def draw_golf_field(rng, rgb):
    parts = [(blob(rng, 0, 0, .5, .45), rgb), (blob(rng, 0, 0, .34, .14), shade(rgb, 1.2)),
             (ellipse(.3, 0, .07, .07, 18), shade(rgb, 1.35))]
    for _ in range(2):
        cx, cy = rng.uniform(-.3, .2), rng.uniform(-.25, .25)
        parts.append((blob(rng, cx, cy, .07, .05), (222, 210, 160)))
    return parts, []


def draw_ground_track_field(rng, rgb):
    return [(stadium_shape(.5, .32), rgb), (stadium_shape(.4, .22), GRASS),
            (rect(-.005, -.22, .005, .22), PAINT)], []


def draw_harbor(rng, rgb):
    parts = [(rect(-.5, .3, .5, .5), rgb)]
    parts += [(rect(x - .09, -.45, x + .09, .3), rgb) for x in (-.39, -.13, .13, .39)]
    return parts, [(rect(-.56, -.56, .56, .5), WATER)]


def draw_overpass(rng, rgb):
    parts = [(rect(-.5, -.5, .5, .5), rgb), (rect(-.5, -.5, .5, -.42), shade(rgb, .75)),
             (rect(-.5, .42, .5, .5), shade(rgb, .75))]
    parts += [(rect(x, -.04, x + .03, .04), PAINT) for x in np.arange(-.5, .5, .07)]
    return parts, [(rect(-.5, .5, .5, .8), (58, 58, 60))]


def draw_ship(rng, rgb):
    hull = np.array([[-.5, -.24], [.24, -.24], [.5, 0], [.24, .24], [-.5, .24]])
    return [(hull, rgb), (rect(-.42, -.12, -.12, .12), shade(rgb, .75)),
            (rect(-.08, -.06, .2, .06), (210, 210, 210))], [(rect(-.62, -.5, .62, .5), WATER)]


def draw_stadium(rng, rgb):
    # A thick roof ring around dark stands and a rectangular pitch, unlike the oval
    # infield of a ground track field.
    return [(ellipse(0, 0, .5, .42), rgb), (ellipse(0, 0, .36, .28), (70, 66, 64)),
            (rect(-.22, -.14, .22, .14), GRASS), (rect(-.006, -.14, .006, .14), PAINT)], []


def draw_storage_tank(rng, rgb):
    return [(ellipse(0, 0, .5, .5, 40), shade(rgb, .82)), (ellipse(0, 0, .43, .43, 40), rgb),
            (ellipse(0, 0, .08, .08, 18), shade(rgb, .7))], []


def draw_train_station(rng, rgb):
    parts = [(rect(-.5, -.38, .5, .38), (72, 66, 60)), (rect(-.5, -.18, .5, .18), rgb),
             (rect(-.5, -.38, .5, -.28), (178, 176, 170)),
             (rect(-.5, .28, .5, .38), (178, 176, 170))]
    parts += [(rect(x, -.18, x + .01, .18), shade(rgb, .8)) for x in np.arange(-.45, .45, .09)]
    return parts, []


def draw_windmill(rng, rgb):
    blade = np.array([[.06, -.14], [.5, -.05], [.5, .05], [.06, .1]])
    parts = []
    for a in np.deg2rad([90, 210, 330]):
        c, s = np.cos(a), np.sin(a)
        parts.append((blade @ np.array([[c, s], [-s, c]]), rgb))
    return parts + [(ellipse(0, 0, .15, .15, 24), shade(rgb, .85))], []

"""The object categories the synthetic scenes draw, per dataset, and what each allows."""
from typing import Callable, NamedTuple, Optional, Tuple

from .renderers import (draw_airplane, draw_airport, draw_any_vehicle, draw_baseball_field,
                        draw_basketball_court, draw_bikeway, draw_bridge, draw_building, draw_bus,
                        draw_car, draw_chimney, draw_dam, draw_golf_field, draw_ground_track_field,
                        draw_harbor, draw_impervious, draw_low_vegetation, draw_overpass,
                        draw_road, draw_road_marking, draw_service_area, draw_ship, draw_sidewalk,
                        draw_stadium, draw_storage_tank, draw_tennis_court, draw_toll_station,
                        draw_trailer, draw_train_station, draw_tree, draw_truck, draw_van,
                        draw_windmill)
from .shapes import ALL_COLORS

# The dataset loaders' category lists (mmrrsis.datasets.REFSEGRS_CATEGORIES /
# RRSISD_CATEGORIES), copied so that the generator runs without mmseg.
REFSEGRS_CATEGORIES = ('road', 'vehicle', 'car', 'van', 'building', 'truck', 'trailer', 'bus',
                       'road marking', 'bikeway', 'sidewalk', 'low vegetation',
                       'impervious surface', 'tree')
RRSISD_CATEGORIES = ('Expressway-Service-area', 'Expressway-toll-station', 'airplane', 'airport',
                     'baseballfield', 'basketballcourt', 'bridge', 'chimney', 'dam', 'golffield',
                     'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium', 'storagetank',
                     'tenniscourt', 'trainstation', 'vehicle', 'windmill')


class Category(NamedTuple):
    """How one category looks and which expressions it allows.

    ``colors`` lists the palette names an object may take (then its colour can be named);
    otherwise ``rgb`` is its fixed natural colour. ``band`` objects span the whole image
    along one grid row or column. ``extent`` is the range of the object's longer bounding
    box side as a fraction of a grid cell, used when the expression is not size-based.
    """
    name: str
    draw: Callable
    rgb: Optional[Tuple[int, int, int]] = None
    colors: Tuple[str, ...] = ()
    sizeable: bool = False
    band: bool = False
    shadow: bool = False
    extent: Tuple[float, float] = (.76, .94)
    group: str = ''


LONG = (.84, .96)  # elongated shapes need the whole cell to keep a useful area
VEHICLE_GROUP = 'vehicle'  # categories that name the same kind of thing never share a scene

REFSEGRS_SPECS = (
    Category('road', draw_road, rgb=(70, 72, 76), sizeable=True, band=True),
    Category('vehicle', draw_any_vehicle, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    Category('car', draw_car, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    Category('van', draw_van, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    Category('building', draw_building, colors=ALL_COLORS, sizeable=True, shadow=True),
    Category('truck', draw_truck, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    Category('trailer', draw_trailer, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    Category('bus', draw_bus, colors=ALL_COLORS, extent=LONG, group=VEHICLE_GROUP),
    Category('road marking', draw_road_marking, colors=('white', 'yellow'), extent=LONG),
    Category('bikeway', draw_bikeway, colors=('red', 'green', 'blue'), sizeable=True, band=True),
    Category('sidewalk', draw_sidewalk, rgb=(180, 174, 162), sizeable=True, band=True),
    Category('low vegetation', draw_low_vegetation, rgb=(118, 168, 82), sizeable=True),
    Category('impervious surface', draw_impervious, rgb=(154, 154, 152), sizeable=True),
    Category('tree', draw_tree, rgb=(40, 96, 46), sizeable=True, shadow=True),
)
RRSISD_SPECS = (
    Category('expressway service area', draw_service_area, rgb=(118, 118, 122), sizeable=True),
    Category('expressway toll station', draw_toll_station, rgb=(84, 84, 90), sizeable=True),
    Category('airplane', draw_airplane, colors=ALL_COLORS, shadow=True, extent=LONG),
    Category('airport', draw_airport, rgb=(172, 170, 165), sizeable=True),
    Category('baseball field', draw_baseball_field, rgb=(84, 150, 70), sizeable=True),
    Category('basketball court', draw_basketball_court, colors=('blue', 'green', 'red', 'yellow'),
             extent=LONG),
    Category('bridge', draw_bridge, rgb=(168, 166, 160), sizeable=True, band=True),
    Category('chimney', draw_chimney, rgb=(150, 148, 145), sizeable=True, shadow=True),
    Category('dam', draw_dam, rgb=(190, 185, 174), sizeable=True, band=True),
    Category('golf field', draw_golf_field, rgb=(92, 172, 80), sizeable=True),
    Category('ground track field', draw_ground_track_field, colors=('red', 'blue'), extent=LONG),
    Category('harbor', draw_harbor, rgb=(164, 160, 152), sizeable=True),
    Category('overpass', draw_overpass, rgb=(134, 134, 140), sizeable=True, band=True),
    Category('ship', draw_ship, colors=('white', 'red', 'yellow', 'green', 'blue'), extent=LONG),
    Category('stadium', draw_stadium, colors=('red', 'blue', 'white'), sizeable=True, shadow=True),
    Category('storage tank', draw_storage_tank, colors=('white', 'blue', 'green', 'red', 'yellow'),
             sizeable=True, shadow=True),
    Category('tennis court', draw_tennis_court, colors=('green', 'blue', 'red'), extent=LONG),
    Category('train station', draw_train_station, rgb=(140, 140, 146), sizeable=True),
    Category('vehicle', draw_any_vehicle, colors=ALL_COLORS, extent=LONG),
    Category('windmill', draw_windmill, rgb=(228, 228, 225), shadow=True, extent=LONG),
)


def supports(spec: Category, attribute: str) -> bool:
    """Whether an expression about a ``spec`` object may be built on ``attribute``."""
    if attribute == 'color':
        return len(spec.colors) >= 2
    if attribute == 'size':
        return spec.sizeable
    return True

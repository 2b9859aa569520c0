import numpy as np
import pytest

from mmrrsis.datasets.transforms import RandomBlackBoxes


def test_subset_is_fixed_and_has_the_share():
    boxes = RandomBlackBoxes(ratio=0.2)
    chosen = [boxes.is_selected(i) for i in range(5000)]
    assert 0.18 < np.mean(chosen) < 0.22
    assert chosen == [RandomBlackBoxes(ratio=0.2).is_selected(i) for i in range(5000)]
    assert chosen != [RandomBlackBoxes(ratio=0.2, seed=1).is_selected(i) for i in range(5000)]


def test_selected_ref_gets_squares_inside_a_non_square_image():
    boxes = RandomBlackBoxes(ratio=1.0, num_boxes=(3, 3), box_size=4)
    img = np.full((10, 30, 3), 200, np.uint8)
    np.random.seed(0)
    covered = np.zeros((10, 30), bool)
    for _ in range(50):
        out = boxes(dict(img=img, ref_id=7))['img']
        black = (out == 0).all(-1)
        assert 16 <= black.sum() <= 3 * 16  # three 4x4 squares, possibly overlapping
        assert ((out == 0) | (out == 200)).all()
        covered |= black
    assert (img == 200).all()  # the input is not modified in place
    # squares reach every row and the far columns: each axis is bounded by its own side
    assert covered.any(1).all() and covered[:, 26:].any()


def test_unselected_ref_is_untouched_and_missing_id_is_named():
    img = np.full((40, 40, 3), 9, np.uint8)
    out = RandomBlackBoxes(ratio=0.0)(dict(img=img, ref_id=1))['img']
    assert out is img
    with pytest.raises(KeyError, match='a.png'):
        RandomBlackBoxes()(dict(img=img, img_path='a.png'))

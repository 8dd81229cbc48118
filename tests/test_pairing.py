"""Two models side by side: controls carried from one code space to another by rank and range."""
import numpy as np
import pytest

from explorer.pairing import CodeFrame, matched_code, matched_dim


def frame(order, low, high):
    return CodeFrame(np.array(order), np.array(low, float), np.array(high, float))


def test_a_frame_orders_dimensions_by_score_and_takes_the_codes_range():
    codes = np.random.default_rng(0).normal(size=(500, 3)) * [1.0, 5.0, 2.0]
    f = CodeFrame.of(codes.var(0), codes, gaussian=False)
    assert f.order.tolist() == [1, 2, 0] and f.size == 3 and f.rank(0) == 2
    low, high = np.percentile(codes, [1, 99], axis=0)
    assert np.all(f.low < low) and np.all(f.high > high)            # the 1st-99th percentile, widened


def test_dimensions_are_matched_by_rank_and_none_past_the_other_code():
    big, small = frame([2, 0, 1], [0, 0, 0], [1, 1, 1]), frame([1, 0], [0, 0], [1, 1])
    assert [matched_dim(d, big, small) for d in (2, 0, 1)] == [1, 0, None]
    assert matched_dim(None, big, small) is None
    assert [matched_dim(d, small, big) for d in (1, 0)] == [2, 0]


def test_a_moved_slider_moves_its_counterpart_to_the_same_place_in_its_range():
    current = frame([0, 1], [-2, -1], [2, 1])
    other = frame([1, 0, 2], [0, -10, 5], [4, 10, 6])
    start, other_start = np.zeros(2, np.float32), np.array([1.0, 2.0, 5.5], np.float32)
    same, unmatched = matched_code(start.copy(), start, current, other_start, other)
    assert unmatched == 0 and np.array_equal(same, other_start)          # nothing moved: the other's own start
    z = np.array([1.0, 0.0], np.float32)                                  # dim 0 (rank 0) at 3/4 of its range
    code, unmatched = matched_code(z, start, current, other_start, other)
    assert unmatched == 0
    assert code[1] == pytest.approx(-10 + 0.75 * 20)                     # the other's rank-0 dimension, at 3/4
    assert code[0] == other_start[0] and code[2] == other_start[2]       # the rest stay where they started


def test_a_move_without_a_counterpart_is_counted_not_invented():
    current = frame([0, 1, 2], [0, 0, 0], [1, 1, 1])
    other = frame([0], [0], [1])
    code, unmatched = matched_code(np.array([0.5, 0.9, 0.9], np.float32), np.full(3, 0.5, np.float32), current,
                                   np.array([0.2], np.float32), other)
    assert unmatched == 2 and np.allclose(code, [0.2])

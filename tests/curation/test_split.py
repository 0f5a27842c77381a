"""Split: groups never straddle train/eval, each cluster keeps its share, seeded."""

import numpy as np

from curation.split import group_split


def test_groups_stay_together_and_fraction_holds():
    strata = np.repeat(np.arange(4), [50, 30, 15, 5])
    groups = np.arange(100)
    groups[10:16] = 10  # a conflict/duplicate group of 6
    groups[60:63] = 60
    for seed in range(10):
        is_eval = group_split(strata, groups, 0.2, seed)
        assert len(set(is_eval[10:16])) == 1 and len(set(is_eval[60:63])) == 1
        assert 17 <= is_eval.sum() <= 23
        assert is_eval[strata == 0].sum() >= 7  # the big cluster is represented


def test_seeded_and_reproducible():
    strata, groups = np.zeros(50, int), np.arange(50)
    a, b = group_split(strata, groups, 0.1, 3), group_split(strata, groups, 0.1, 3)
    assert (a == b).all() and not (a == group_split(strata, groups, 0.1, 4)).all()


def test_zero_fraction_and_empty():
    assert not group_split(np.zeros(5, int), np.arange(5), 0.0).any()
    assert len(group_split([], [], 0.1)) == 0

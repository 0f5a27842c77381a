"""Train/eval split that never separates related examples and keeps every cluster's share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def group_split(strata: Sequence[int], groups: Sequence[int], eval_fraction: float, seed: int = 0) -> np.ndarray:
    """Boolean mask of eval items: whole groups only, about eval_fraction of each stratum, seeded.

    A group (duplicates, conflicting examples) goes to one side as a whole; it is counted in the stratum of
    its first member. Strata too small to give one eval item keep everything in train.
    """
    strata, groups = np.asarray(strata), np.asarray(groups)
    if not len(strata) or eval_fraction <= 0:
        return np.zeros(len(strata), dtype=bool)
    rng = np.random.default_rng(seed)
    group_ids, first, inverse, group_size = np.unique(groups, return_index=True, return_inverse=True, return_counts=True)
    group_stratum = strata[first]
    chosen = np.zeros(len(group_ids), dtype=bool)
    carry = 0.0
    for stratum in np.unique(group_stratum):
        in_stratum = np.flatnonzero(group_stratum == stratum)
        target = group_size[in_stratum].sum() * eval_fraction + carry
        taken = 0
        for pos in rng.permutation(in_stratum):
            if taken + group_size[pos] <= target + 0.5 and group_size[pos] < group_size[in_stratum].sum():
                chosen[pos] = True
                taken += group_size[pos]
        carry = target - taken  # rounding left over moves to the next stratum, so the total stays on target
    return chosen[inverse]

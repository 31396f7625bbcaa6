"""Connected components over integer node ids, vectorised in numpy.

Hook-and-compress union-find: each round hooks the larger root of every edge under the smaller
one, then compresses paths. The label of a component is its smallest node id, so the partition
and its labels depend only on the edge set, never on the order edges arrive in.
"""

from __future__ import annotations

import numpy as np


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member id) of each of ``n`` nodes joined by edges ``a[k]-b[k]``."""
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while a.size:
        pa, pb = parent[a], parent[b]
        lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        live = lo != hi
        if not live.any():
            break
        a, b, lo, hi = a[live], b[live], lo[live], hi[live]
        np.minimum.at(parent, hi, lo)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent

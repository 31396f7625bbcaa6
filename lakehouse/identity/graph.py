"""Connected components over integer node ids.

SciPy's compiled traversal (``scipy.sparse.csgraph``) finds the components; each is then
labelled by its smallest node id, so the partition and its labels depend only on the edge set,
never on the order edges arrive in. It replaced a vectorised hook-and-compress union-find in
numpy, whose scattered ``np.minimum.at`` cost 4.9 s of identity's 66 s at 10M events.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member id) of each of ``n`` nodes joined by edges ``a[k]-b[k]``."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    # int32 weights: repeated edges are summed, and must never sum to zero
    graph = coo_array((np.ones(a.size, dtype=np.int32), (a, b)), shape=(n, n)).tocsr()
    _, label = connected_components(graph, directed=True, connection="weak")
    _, smallest = np.unique(label, return_index=True)  # first index of a label: its smallest
    return smallest[label].astype(np.int64)

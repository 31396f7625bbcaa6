"""Connected components against a plain union-find, on random graphs."""

import numpy as np
import pytest

from lakehouse.identity.graph import components


def reference(n: int, a: list[int], b: list[int]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in zip(a, b, strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return [find(x) for x in range(n)]  # a root is its component's smallest member


@pytest.mark.parametrize("seed", range(5))
def test_components_equal_union_find(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    m = int(rng.integers(0, 2 * n))
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    assert components(n, a, b).tolist() == reference(n, a.tolist(), b.tolist())


def test_repeated_edges_self_loops_and_no_edges() -> None:
    # 256 copies of one edge: summed weights that wrapped to zero would drop it
    a = np.array([0] * 256 + [3, 4])
    b = np.array([1] * 256 + [3, 2])
    assert components(5, a, b).tolist() == [0, 0, 2, 3, 2]
    assert components(3, np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() \
        == [0, 1, 2]
    assert components(0, np.array([]), np.array([])).tolist() == []

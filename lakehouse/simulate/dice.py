"""Cheap scalar random draws from a seeded numpy Generator, for the per-record Python paths.

Calling numpy once per record costs more than the record itself; drawing blocks of 64k values
and handing them out one by one keeps per-record randomness cheap and still deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")
BLOCK = 1 << 16
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


class Dice:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._u: list[float] = rng.random(BLOCK).tolist()
        self._ui = 0
        self._h: list[int] = rng.integers(0, 2**63, BLOCK, dtype=np.int64).tolist()
        self._hi = 0
        self._x = rng.bytes(16 * 4096).hex()
        self._xi = 0

    def u(self) -> float:
        """Uniform in [0, 1)."""
        i = self._ui
        if i >= BLOCK:
            self._u = self.rng.random(BLOCK).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def bits(self) -> int:
        """A random non-negative 63-bit integer."""
        i = self._hi
        if i >= BLOCK:
            self._h = self.rng.integers(0, 2**63, BLOCK, dtype=np.int64).tolist()
            i = 0
        self._hi = i + 1
        return self._h[i]

    def below(self, n: int) -> int:
        return int(self.u() * n)

    def between(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi] inclusive."""
        return lo + int(self.u() * (hi - lo + 1))

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.u() * len(seq))]

    def chance(self, p: float) -> bool:
        return p > 0 and self.u() < p

    def uuid(self, upper: bool = False) -> str:
        """A version-4 style UUID from the stream (hex drawn in blocks: per-id formatting of
        integers was the single biggest cost of a clickstream event)."""
        i = self._xi
        if i + 32 > len(self._x):
            self._x = self.rng.bytes(16 * 4096).hex()
            i = 0
        self._xi = i + 32
        h = self._x[i:i + 32]
        s = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
        return s.upper() if upper else s

    def hex(self, n: int) -> str:
        return f"{self.bits():016x}{self.bits():016x}"[-n:]

    def digits(self, n: int) -> str:
        return str(self.bits() % (10**n)).zfill(n)

    def poisson_small(self, lam: float) -> int:
        """Poisson draw for small means (Knuth), on the block stream."""
        import math

        limit = math.exp(-lam)
        k, p = 0, self.u()
        while p > limit:
            k += 1
            p *= self.u()
        return k

"""Relevance models: how much each person may want each product, from weighted signals.

The person x product matrix weighs each signal by its kind (a purchase says more than a cart,
a cart more than a view: :data:`WEIGHTS`) and by its age (half-life :data:`HALF_LIFE_DAYS`
before ``as_of``), so last week's browsing outranks last quarter's. Candidates, compared on
held-out later purchases by ``lakehouse.recommend.offline`` (the default is the winner there,
see the package docstring for the figures):

- ``popularity``: decayed purchases per product, the same list for everyone (the baseline);
- ``cooccurrence``: the person's own row times a cosine item-item co-occurrence matrix (items
  bought or browsed by the same persons), self-similarity included, so a person's own recent
  interests score first and their neighbours next;
- ``als``, ``bpr``: implicit's matrix factorisation (latent factors);
- ``cosine``, ``bm25``: implicit's item-item nearest-neighbour models;
- ``hybrid``: popularity plus :data:`PERSONAL_WEIGHT` x co-occurrence (both scaled to a max
  of 1): the popular list, reordered where the person's own signals say so.

Every model returns dense relevance for a block of persons (rows) x every product; the
re-ranking (``rerank``) turns it into a stock-aware list.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

WEIGHTS = {"purchase": 4.0, "cart": 2.0, "view": 1.0}
HALF_LIFE_DAYS = 14.0
MODELS = ("hybrid", "cooccurrence", "als", "bpr", "cosine", "bm25", "popularity")
DEFAULT_MODEL = "hybrid"
PERSONAL_WEIGHT = 0.2
PERSONAL = 0.5  # an item is "for this person" at half their top personal relevance or more


@dataclass(frozen=True)
class Matrix:
    """A weighted person x product matrix and its row/column labels."""

    persons: list[str]
    products: list[str]
    values: sp.csr_matrix  # float32, persons x products

    def rows(self, persons: Sequence[str] | pl.Series) -> np.ndarray:
        """Row index of each person (-1 when the matrix has no signal of theirs)."""
        return positions(persons, self.persons)


def positions(values: Sequence[str] | pl.Series, labels: Sequence[str]) -> np.ndarray:
    """Index of each value in ``labels`` (unique), -1 where absent: one hash lookup per value
    in polars, not a Python dict built and probed per call (hundreds of thousands of persons
    per channel at 10M events)."""
    series = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return series.replace_strict(pl.Series(labels, dtype=pl.String),
                                 pl.Series(np.arange(len(labels), dtype=np.int64)),
                                 default=-1, return_dtype=pl.Int64).to_numpy()


def interaction_matrix(interactions: pl.DataFrame, as_of: datetime,
                       products: list[str] | None = None,
                       weights: dict[str, float] = WEIGHTS,
                       half_life_days: float = HALF_LIFE_DAYS) -> Matrix:
    """Decayed, kind-weighted signal sums before ``as_of`` (``products``: the columns, default
    every product with a signal)."""
    age = _age(interactions, as_of)
    w = (pl.col("kind").replace_strict(weights, default=0.0, return_dtype=pl.Float64)
         * (0.5 ** (age / half_life_days)))
    frame = (interactions.filter(pl.col("event_time") < as_of)
             .group_by("person_id", "product_id").agg(w.sum().alias("w"))
             .filter(pl.col("w") > 0))
    cols = sorted(frame["product_id"].unique()) if products is None else list(products)
    frame = frame.filter(pl.col("product_id").is_in(cols))
    persons = sorted(frame["person_id"].unique())
    values = sp.csr_matrix(
        (frame["w"].to_numpy().astype(np.float32),
         (positions(frame["person_id"], persons), positions(frame["product_id"], cols))),
        shape=(len(persons), len(cols)), dtype=np.float32)
    return Matrix(persons, cols, values)


def _age(interactions: pl.DataFrame, as_of: datetime) -> pl.Expr:
    """Days before the newest signal before ``as_of``: decay ranks only by relative age, so
    measuring from the newest signal (not from ``as_of``) keeps the ranking and keeps float32
    weights from underflowing when ``as_of`` is long after the data."""
    newest = interactions.filter(pl.col("event_time") < as_of)["event_time"].max()
    ref = pl.lit(newest if newest is not None else as_of, pl.Datetime("us", "UTC"))
    return ((ref - pl.col("event_time")).dt.total_seconds() / 86400.0).clip(lower_bound=0.0)


class Model(ABC):
    """A fitted relevance model: ``scores(rows)`` is persons (matrix rows) x products."""

    name = "model"

    def fit(self, matrix: Matrix, popularity: np.ndarray) -> Model:
        """``popularity``: decayed purchases per product, aligned with ``matrix.products``."""
        self.matrix, self.popularity = matrix, popularity.astype(np.float32)
        return self

    @abstractmethod
    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Relevance of every product for the persons at matrix ``rows``."""

    def parts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores, and where they come from the person's own signals (for the reason)."""
        scores = self.scores(rows)
        return scores, scale_rows(scores) >= PERSONAL

    def _user_rows(self, rows: np.ndarray) -> sp.csr_matrix:
        """Rows of the training matrix (an all-zero row for -1: no signal)."""
        safe = np.where(rows < 0, 0, rows)
        known = sp.diags((rows >= 0).astype(np.float32))
        return (known @ self.matrix.values[safe]).tocsr()


class Popularity(Model):
    """Decayed purchases per product: one list for everyone."""

    name = "popularity"

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(rows), len(self.popularity)))

    def parts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = self.scores(rows)
        return scores, np.zeros(scores.shape, dtype=bool)


class CoOccurrence(Model):
    """Own row x cosine item-item co-occurrence of binarised person rows."""

    name = "cooccurrence"

    def fit(self, matrix: Matrix, popularity: np.ndarray) -> CoOccurrence:
        super().fit(matrix, popularity)
        seen = matrix.values.copy()
        seen.data[:] = 1.0
        co = (seen.T @ seen).tocsr().astype(np.float32)
        norm = np.sqrt(np.maximum(co.diagonal(), 1.0)).astype(np.float32)
        inv = sp.diags(1.0 / norm)
        self.similarity = (inv @ co @ inv).tocsr()
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self._user_rows(rows) @ self.similarity).todense(), dtype=np.float32)


class Implicit(Model):
    """One of implicit's models (``als``, ``bpr``, ``cosine``, ``bm25``), CPU, deterministic."""

    def __init__(self, name: str, factors: int = 32, neighbours: int = 50, seed: int = 7):
        self.name, self.factors, self.neighbours, self.seed = name, factors, neighbours, seed

    def _new(self):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        if self.name == "als":
            return AlternatingLeastSquares(factors=self.factors, regularization=0.05,
                                           iterations=15, random_state=self.seed)
        if self.name == "bpr":
            return BayesianPersonalizedRanking(factors=self.factors, iterations=100,
                                               random_state=self.seed)
        if self.name == "cosine":
            return CosineRecommender(K=self.neighbours)
        return BM25Recommender(K=self.neighbours)

    def fit(self, matrix: Matrix, popularity: np.ndarray) -> Implicit:
        from implicit.utils import ParameterWarning

        super().fit(matrix, popularity)
        # implicit parallelises itself: BLAS threads on top would oversubscribe the cores
        # (implicit checks the BLAS pool when a model is built, so build it inside the limit)
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            # the item-item models re-weight our CSR matrix into COO and then warn about it
            warnings.filterwarnings("ignore", category=ParameterWarning)
            self.model = self._new()
            self.model.fit(matrix.values, show_progress=False)
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        if self.name in ("als", "bpr"):
            users = np.asarray(self.model.user_factors)[np.where(rows < 0, 0, rows)]
            out = users @ np.asarray(self.model.item_factors).T
            out[rows < 0] = 0.0
            return out.astype(np.float32)
        user = self._user_rows(rows)
        return np.asarray((user @ self.model.similarity).todense(), dtype=np.float32)


class Hybrid(CoOccurrence):
    """Popularity, reordered by the person's co-occurrence relevance."""

    name = "hybrid"

    def __init__(self, personal_weight: float = PERSONAL_WEIGHT):
        self.personal_weight = personal_weight

    def parts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        personal = scale_rows(super().scores(rows))
        top = float(self.popularity.max()) if self.popularity.size else 0.0
        popular = self.popularity / top if top > 0 else self.popularity
        return popular[None, :] + self.personal_weight * personal, personal >= PERSONAL

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.parts(rows)[0]


def scale_rows(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its maximum (rows without a positive score stay as they are)."""
    top = scores.max(axis=1, keepdims=True) if scores.size else scores
    return np.where(top > 0, scores / np.where(top > 0, top, 1.0), scores).astype(np.float32)


def make_model(name: str) -> Model:
    """A fresh, unfitted model by name (one of :data:`MODELS`)."""
    if name == "popularity":
        return Popularity()
    if name == "hybrid":
        return Hybrid()
    if name == "cooccurrence":
        return CoOccurrence()
    if name in ("als", "bpr", "cosine", "bm25"):
        return Implicit(name)
    raise ValueError(f"unknown model {name!r}: one of {', '.join(MODELS)}")


def purchase_popularity(interactions: pl.DataFrame, as_of: datetime, products: list[str],
                        half_life_days: float = HALF_LIFE_DAYS) -> np.ndarray:
    """Decayed purchased units per product (in ``products`` order): the popularity baseline."""
    age = _age(interactions, as_of)
    sold = (interactions.filter((pl.col("kind") == "purchase") & (pl.col("event_time") < as_of))
            .group_by("product_id")
            .agg((pl.col("quantity") * 0.5 ** (age / half_life_days))
                 .sum().alias("u")))
    units = dict(zip(sold["product_id"], sold["u"], strict=True))
    return np.array([units.get(p, 0.0) for p in products], dtype=np.float32)

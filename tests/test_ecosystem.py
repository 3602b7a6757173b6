"""Libraries that take a joblib Memory take a pkcache.Cache: scikit-learn, for real, in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pkcache
from tests.helpers import python_path

pytest.importorskip("sklearn", reason="scikit-learn is not installed")

STEPS = textwrap.dedent(
    """
    import os
    from sklearn.base import BaseEstimator, TransformerMixin


    class Counted(BaseEstimator, TransformerMixin):
        '''A transformer that notes every fit in a file: how a test sees that a fit was skipped.'''

        def __init__(self, scale=1.0, name="step"):
            self.scale = scale
            self.name = name

        def fit(self, X, y=None):
            with open(os.environ["FITS_FILE"], "a") as fits:
                fits.write(f"{self.name}\\n")
            self.mean_ = X.mean(axis=0)
            return self

        def transform(self, X):
            return (X - self.mean_) * self.scale
    """
)

PIPELINE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import pkcache
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from steps import Counted

    X = np.random.default_rng(0).normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    scale = float(sys.argv[2])
    pipe = Pipeline(
        [("first", Counted(name="first")), ("second", Counted(scale=scale, name="second")),
         ("model", LogisticRegression())],
        memory=pkcache.Cache(sys.argv[1]),
    )
    pipe.fit(X, y)
    print(json.dumps(pipe.predict(X).tolist()))
    """
)


def fits(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_pipeline_fitted_again_in_a_fresh_process_does_not_refit_its_transformers(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    script = tmp_path / "fit.py"
    script.write_text(PIPELINE)
    log = tmp_path / "fits.txt"
    env = {**os.environ, "PYTHONPATH": python_path(tmp_path), "FITS_FILE": str(log)}

    def fit(scale: str) -> list[int]:
        out = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "cache"), scale],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    first = fit("1.0")
    assert fits(log) == ["first", "second"]
    second = fit("1.0")
    assert fits(log) == ["first", "second"]  # both transformers came from the cache
    assert second == first
    fit("3.0")  # a hyperparameter of the second step changed: it alone is fitted again
    assert fits(log) == ["first", "second", "second"]


def test_agglomerative_clustering_takes_a_cache_as_its_memory(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    from sklearn.cluster import AgglomerativeClustering, FeatureAgglomeration

    X = np.random.default_rng(1).normal(size=(60, 5))
    cache = pkcache.Cache(tmp_path / "cache")
    labels = AgglomerativeClustering(n_clusters=3, memory=cache, compute_full_tree=True).fit(X).labels_
    stored = cache.stats().entries
    assert stored >= 1
    again = AgglomerativeClustering(n_clusters=4, memory=cache, compute_full_tree=True).fit(X).labels_
    assert cache.stats().entries == stored  # the tree came from the cache; only the cut differs
    assert len(set(labels)) == 3
    assert len(set(again)) == 4
    reduced = FeatureAgglomeration(n_clusters=2, memory=cache).fit_transform(X)
    assert reduced.shape == (60, 2)


def test_no_cache_is_memory_none_and_the_memory_surface_checks_its_options(tmp_path: Path) -> None:
    from sklearn.utils.validation import check_memory

    assert check_memory(pkcache.Cache(tmp_path / "cache")) is not None
    off = pkcache.NoCache()
    assert check_memory(off) is off
    assert off.location is None
    runs = []

    def body(x: int) -> int:
        runs.append(x)
        return x

    assert off.cache(body) is body
    assert [off.cache(body)(1), off.cache(body)(1)] == [1, 1]
    assert runs == [1, 1]
    with pytest.raises(pkcache.InvalidOptionError, match="store_if"):
        pkcache.Cache(tmp_path / "cache").cache(body, cache_validation_callback=lambda meta: True)
    with pytest.raises(pkcache.InvalidOptionError, match="mmap_mode"):
        pkcache.Cache(tmp_path / "cache").cache(body, mmap_mode="w+")
    cached = pkcache.Cache(tmp_path / "cache").cache(body, ignore=["x"], verbose=10)
    assert cached(1) == cached(2) == 1  # x ignored: one key

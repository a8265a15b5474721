from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import distillscope as ds

# CI profile: enough examples to find edge cases, bounded time on 2 cores.
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("DS_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile("ci")

ISAS = ds.capabilities()["available"]


@pytest.fixture(params=ISAS)
def isa(request):
    """Runs the test once per SIMD path this CPU supports."""
    with ds.force_isa(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)

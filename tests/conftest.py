from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import distillscope as ds

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

# Hypothesis: the "ci" profile (under CI=true) runs a fixed, printed seed so a
# failure replays exactly (DS_HYPOTHESIS_SEED overrides it); the "dev" profile
# draws new examples every run (hypothesis prints the seed of a failure).
# Neither derandomizes: the examples are not the same forever.
_COMMON = dict(
    max_examples=int(os.environ.get("DS_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", **_COMMON)
settings.register_profile("dev", **_COMMON)
settings.load_profile(os.environ.get("DS_HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))
CI_SEED = int(os.environ.get("DS_HYPOTHESIS_SEED", "20261130"))


def pytest_configure(config):
    if IN_CI and getattr(config.option, "hypothesis_seed", None) is None:
        config.option.hypothesis_seed = CI_SEED


def pytest_report_header(config):
    seed = getattr(config.option, "hypothesis_seed", None)
    return [
        f"hypothesis profile: {settings._current_profile}, seed: {seed if seed is not None else 'random per run'}",
        f"DISTILLSCOPE_HOME (isolated for the tests): {os.environ['DISTILLSCOPE_HOME']}",
    ]


def _isolated_home() -> Path:
    """Tests never touch the user's home: DISTILLSCOPE_HOME points at a fresh
    temporary folder for the whole session, whose models/ links the files of
    the models already downloaded (read only; anything a test builds or
    writes lands in the temporary folder)."""
    user_home = Path(os.environ.get("DISTILLSCOPE_HOME") or Path.home() / ".cache" / "distillscope").expanduser()
    tmp = Path(tempfile.mkdtemp(prefix="distillscope-test-home-"))
    src_models = user_home / "models"
    if src_models.is_dir():
        for model in src_models.iterdir():
            if not model.is_dir():
                continue
            for f in model.rglob("*"):
                dest = tmp / "models" / model.name / f.relative_to(model)
                if f.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.symlink_to(f)
    return tmp


_TEST_HOME = _isolated_home()
os.environ["DISTILLSCOPE_HOME"] = str(_TEST_HOME)


def pytest_unconfigure(config):
    shutil.rmtree(_TEST_HOME, ignore_errors=True)


ISAS = ds.capabilities()["available"]


@pytest.fixture(params=ISAS)
def isa(request):
    """Runs the test once per SIMD path this CPU supports."""
    with ds.force_isa(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


REPO = Path(__file__).resolve().parents[1]


def find_shared_data() -> Path | None:
    """``shared/data`` beside the repository (``../shared`` of a checkout, or
    ``../../shared`` of a worktree under ``wt/``), or $DISTILLSCOPE_SHARED_DATA."""
    env = os.environ.get("DISTILLSCOPE_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [
        REPO.parent / "shared" / "data",
        REPO.parent.parent / "shared" / "data",
    ]:
        if (cand / "alpaca_eval").is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data of ../shared/data. CI always has it, so there a missing
    folder fails the test loudly; elsewhere the test skips with the reason."""
    found = find_shared_data()
    if found is None:
        msg = (
            "shared/data not found beside the repository (expected ../shared/data, "
            "or set DISTILLSCOPE_SHARED_DATA=/path/to/shared/data)"
        )
        if IN_CI:
            pytest.fail(msg + "; CI always has it, so this is a broken checkout", pytrace=False)
        pytest.skip(msg)
    return found


# Peers that need PyTorch (bert-score, sentence-transformers). `.ci/run` installs
# them (the CPU build of torch), so under CI a missing peer is a broken set-up and
# fails loudly; elsewhere the parity test skips with the reason.
TORCH_PEERS = {
    "bert_score": "bert-score",
    "sentence_transformers": "sentence-transformers",
}


@pytest.fixture(scope="session")
def torch_peer():
    """``torch_peer("bert_score")`` imports a PyTorch-based peer package, or skips
    (fails under CI, where `.ci/run` installs it)."""
    import importlib

    def load(module: str):
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            msg = (
                f"{TORCH_PEERS.get(module, module)} not importable ({exc}); "
                f"pip install torch==2.13.0 {TORCH_PEERS.get(module, module)} to run this parity test"
            )
            if IN_CI:
                pytest.fail(msg + "; .ci/run installs it, so this is a broken CI set-up", pytrace=False)
            pytest.skip(msg)

    return load

"""Default precision (int8 where the CPU has int8 dot products and the guard holds) and providers."""

from __future__ import annotations

import json

import pytest

from distillscope.embed import onnx_builder as ob
from distillscope.embed import precision
from distillscope.embed.encoder import Encoder


@pytest.fixture(autouse=True)
def fresh_cpu_flags():
    precision.cpu_int8_dot.cache_clear()  # the env override is read once per process
    yield
    precision.cpu_int8_dot.cache_clear()


@pytest.fixture()
def tiny_int8(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home"))
    d = ob.build_tiny_model(tmp_path / "m", seed=5)
    ob.build_onnx_from_dir(d, "int8")
    return d


def _force(monkeypatch, value: str) -> None:
    monkeypatch.setenv("DISTILLSCOPE_INT8_DOT", value)
    precision.cpu_int8_dot.cache_clear()


def test_auto_picks_int8_only_with_int8_dot_products(tiny_int8, monkeypatch):
    _force(monkeypatch, "0")
    assert Encoder(tiny_int8, cache=None).precision == "fp32"
    _force(monkeypatch, "1")
    e = Encoder(tiny_int8, cache=None)
    assert e.int8_guard is not None and e.int8_guard["n"] == len(precision.guard_sentences())
    want = "int8" if e.int8_guard["mean_cosine"] >= precision.GUARD_MIN_MEAN else "fp32"
    assert e.precision == want
    stored = json.loads(precision.guard_path().read_text())
    assert next(iter(stored.values()))["mean_cosine"] == e.int8_guard["mean_cosine"]


def test_guard_failure_falls_back_to_fp32(tiny_int8, monkeypatch):
    _force(monkeypatch, "1")
    first = Encoder(tiny_int8, cache=None)  # computes and stores the verdict
    key = next(iter(json.loads(precision.guard_path().read_text())))
    precision.write_guard(key, {**first.int8_guard, "mean_cosine": 0.5})
    assert Encoder(tiny_int8, cache=None).precision == "fp32"


def test_no_int8_graph_means_fp32(tmp_path, monkeypatch):
    _force(monkeypatch, "1")
    d = ob.build_tiny_model(tmp_path / "m", seed=6)  # fused graph only: nothing is built implicitly
    assert Encoder(d, cache=None).precision == "fp32"
    assert not (d / "model.int8.onnx").exists()


def test_cpu_flags_are_read():
    got = precision.cpu_int8_dot()
    assert got is None or got in ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "forced")


def test_providers_pass_through_and_are_checked(tmp_path):
    d = ob.build_tiny_model(tmp_path / "m", seed=5)
    e = Encoder(d, precision="fp32", cache=None, providers=["CPUExecutionProvider"])
    assert e.providers == ("CPUExecutionProvider",)
    assert e._session.get_providers() == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="not in this onnxruntime build"):
        Encoder(d, cache=None, providers=["NoSuchExecutionProvider"])
    with pytest.raises(ValueError, match="providers is empty"):
        Encoder(d, cache=None, providers=[])

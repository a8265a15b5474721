"""``score-pairs --encoder``: the cosine column computed from the pair texts with a real ONNX encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from distillscope.cli import main  # noqa: E402
from distillscope.embed import onnx_builder as ob  # noqa: E402
from distillscope.embed.encoder import Encoder  # noqa: E402
from distillscope.scale.benchdata import write_pairs  # noqa: E402
from distillscope.scale.scoring import score_pairs  # noqa: E402

N = 90


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("enc_pairs")
    write_pairs(d / "p.parquet", N, min_words=3, max_words=40, seed=4, chunk=50)
    write_pairs(d / "p.jsonl", N, min_words=3, max_words=40, seed=4, chunk=50)
    model = ob.build_tiny_model(d / "tiny-model", seed=7)
    tbl = pq.read_table(d / "p.parquet")
    cands, refs = tbl.column("candidate").to_pylist(), tbl.column("reference").to_pylist()
    cands[5] = refs[5]  # an identical pair: cosine 1
    tbl = tbl.set_column(tbl.schema.get_field_index("candidate"), "candidate", pa.array(cands))
    pq.write_table(tbl, d / "p.parquet")
    with open(d / "p.jsonl", "w", encoding="utf-8") as f:
        for c, r in zip(cands, refs):
            f.write(json.dumps({"candidate": c, "reference": r}) + "\n")
    enc = Encoder(str(model), cache=None)
    a, b = enc.encode(cands), enc.encode(refs)
    expected = (a.astype(np.float64) * b.astype(np.float64)).sum(axis=1)  # dot of the normalized vectors
    return {"dir": d, "model": model, "expected": expected, "cands": cands}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_cosine_from_texts_equals_encoder_and_ignores_chunk_size(data, fmt, tmp_path):
    src = data["dir"] / f"p.{fmt}"
    cols = []
    for cs in (7, 40, 1000):
        out = tmp_path / f"o{cs}.parquet"
        s = score_pairs(src, out, "rougeL", encoder=str(data["model"]), chunk_size=cs, workers=2)
        assert s.rows == N and "cosine" in s.columns  # --encoder adds the cosine column
        t = pq.read_table(out)
        cols.append(t.column("cosine").to_numpy())
        meta = json.loads(pq.read_schema(out).metadata[b"distillscope"])
        assert meta["encoder"].startswith("encoder:") and meta["encoder"] in meta["cosine"]
    np.testing.assert_allclose(cols[0], data["expected"], rtol=0, atol=2e-6)
    assert cols[0][5] == pytest.approx(1.0, abs=1e-6)
    assert np.ptp(cols[0]) > 0.05  # real, varying similarities
    for c in cols[1:]:
        assert np.array_equal(c, cols[0])


def test_cli_encoder_flag_cache_and_errors(data, tmp_path, capsys):
    src = str(data["dir"] / "p.jsonl")
    out = tmp_path / "o.parquet"
    args = ["score-pairs", src, "--metrics", "rouge1,cosine", "--out", str(out), "--encoder", str(data["model"])]
    assert main([*args, "--format", "json", "--chunk-size", "25"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == N
    first = pq.read_table(out).column("cosine").to_numpy()
    np.testing.assert_allclose(first, data["expected"], rtol=0, atol=2e-6)
    # second run: the vectors come from the embedding cache, same numbers
    assert main([*args, "--overwrite", "--chunk-size", "60"]) == 0
    assert np.array_equal(pq.read_table(out).column("cosine").to_numpy(), first)
    capsys.readouterr()
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros((N, 4), np.float32))
    bad = ["score-pairs", src, "--out", str(tmp_path / "x.parquet"), "--encoder", str(data["model"])]
    assert main([*bad, "--emb-a", str(npy), "--emb-b", str(npy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--encoder" in err[0] and "--emb-a" in err[0]
    assert main([*bad[:-1], str(tmp_path / "no-such-model")]) == 2
    assert "no-such-model" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not both"):
        score_pairs(src, tmp_path / "y.parquet", encoder=str(data["model"]), emb_a=npy, emb_b=npy)

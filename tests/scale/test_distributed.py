"""Dask: the same kernels per partition on a real LocalCluster (2 worker processes); identical results."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("dask.dataframe", reason="Dask is the optional extra distillscope[dask]")
distributed = pytest.importorskip("distributed", reason="Dask is the optional extra distillscope[dask]")
pq = pytest.importorskip("pyarrow.parquet")

import dask.dataframe as dd  # noqa: E402

import distillscope as ds  # noqa: E402
from distillscope.cli import main  # noqa: E402
from distillscope.scale.benchdata import write_embeddings, write_pairs  # noqa: E402
from distillscope.scale.distributed import kernel_threads_per_worker, score_dataframe  # noqa: E402
from distillscope.scale.scoring import score_pairs  # noqa: E402

N = 300
METRICS = "rouge1,rouge2,rougeL,chrf,cosine"


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cl,
        distributed.Client(cl, set_as_default=False) as client,
    ):
        yield cl, client


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    rates = write_pairs(d / "p.parquet", N, min_words=5, max_words=40, seed=3, chunk=128)
    write_pairs(d / "p.jsonl", N, min_words=5, max_words=40, seed=3, chunk=128)
    write_embeddings(d / "a.npy", d / "b.npy", rates, dim=16, seed=4)
    local = d / "local.parquet"
    score_pairs(d / "p.parquet", local, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=N, keep=["id"])
    return d, pq.read_table(local)


def test_worker_processes_and_kernel_threads(cluster):
    _, client = cluster
    threads = kernel_threads_per_worker(client)
    assert len(threads) == 2
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    # two single-thread workers on one host share its cores: never more kernel threads than cores
    cores = os.cpu_count() or 1
    assert all(t == max(1, cores // 2) for t in threads.values())
    assert sum(threads.values()) <= max(2, cores)


@pytest.mark.parametrize("fmt,chunk", [("parquet", 37), ("jsonl", 64)])
def test_score_pairs_on_cluster_equals_local(cluster, data, tmp_path, fmt, chunk):
    _, client = cluster
    d, local = data
    out = tmp_path / "o.parquet"
    s = score_pairs(
        d / f"p.{fmt}",
        out,
        METRICS,
        emb_a=d / "a.npy",
        emb_b=d / "b.npy",
        chunk_size=chunk,
        keep=["id"],
        scheduler=client,
    )
    assert s.rows == N and s.chunks == -(-N // chunk)
    assert pq.read_table(out).equals(local)


def test_cluster_resumes_a_local_checkpoint(cluster, data, tmp_path):
    _, client = cluster
    d, local = data
    out = tmp_path / "o.parquet"

    def stop(done: int) -> None:
        if done >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_pairs(
            d / "p.jsonl", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=50, keep=["id"], on_chunk=stop
        )
    s = score_pairs(
        d / "p.jsonl", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=70, keep=["id"], scheduler=client
    )
    assert s.resumed_from == 100
    assert pq.read_table(out).equals(local)


def test_score_dataframe_equals_local(cluster, data):
    _, client = cluster
    d, local = data
    ddf = dd.read_parquet(d / "p.parquet").repartition(npartitions=4)
    ddf = ddf.assign(row=ddf["id"])
    scored = score_dataframe(ddf, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", row_column="row", client=client)
    assert scored.npartitions == 4
    df = client.compute(scored).result().sort_values("row")
    for k in ("rouge1", "rouge1_precision", "rougeL_recall", "chrf", "cosine"):
        assert np.array_equal(df[k].to_numpy(), local.column(k).to_numpy()), k
    assert df["cosine"].dtype == np.float32
    assert list(df["candidate"]) == pq.read_table(d / "p.parquet").column("candidate").to_pylist()


def test_score_dataframe_bad_input(data):
    d, _ = data
    ddf = dd.read_parquet(d / "p.parquet")
    with pytest.raises(ValueError, match="row_column"):
        score_dataframe(ddf, "cosine", emb_a=d / "a.npy", emb_b=d / "b.npy")
    with pytest.raises(ValueError, match="no column 'text'"):
        score_dataframe(ddf, "rouge1", candidate="text")
    with pytest.raises(ValueError, match="unknown metric"):
        score_dataframe(ddf, "rouge9x")


def test_cli_scheduler_address(cluster, data, tmp_path, capsys):
    cl, _ = cluster
    d, local = data
    out = tmp_path / "cli.parquet"
    rc = main(
        [
            "score-pairs",
            str(d / "p.parquet"),
            "--metrics",
            METRICS,
            "--emb-a",
            str(d / "a.npy"),
            "--emb-b",
            str(d / "b.npy"),
            "--out",
            str(out),
            "--chunk-size",
            "100",
            "--keep",
            "id",
            "--scheduler",
            cl.scheduler_address,
            "--format",
            "json",
        ]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["rows"] == N
    assert pq.read_table(out).equals(local)
    assert np.array_equal(
        pq.read_table(out).column("cosine").to_numpy(), ds.cosine_paired(np.load(d / "a.npy"), np.load(d / "b.npy"))
    )

"""The progress utility: TTY bar, periodic plain lines, silence when disabled or short."""

from __future__ import annotations

import io

import numpy as np

from distillscope.progress import Progress, format_duration


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_every_interval_with_count_rate_eta():
    out, clock = io.StringIO(), Clock()
    with Progress(100, "embedding", stream=out, tty=False, interval=5, clock=clock) as bar:
        for _ in range(100):
            clock.t += 0.2
            bar.update(1)
    lines = out.getvalue().splitlines()
    # 20 s of work: a line after 1 s, then every 5 s, then the final one
    assert 4 <= len(lines) <= 6, lines
    assert lines[0].startswith("embedding: 5/100 (  5%) 5.0/s, elapsed 0:01, ETA 0:19")
    assert lines[-1] == "embedding: 100/100 (100%) 5.0/s, elapsed 0:20, ETA 0:00 done"


def test_tty_bar_redraws_in_place():
    out, clock = io.StringIO(), Clock()
    with Progress(10, "pairs", stream=out, tty=True, clock=clock) as bar:
        for _ in range(10):
            clock.t += 0.5
            bar.update()
    text = out.getvalue()
    assert text.startswith("\r[") and text.endswith("\n") and text.count("\n") == 1
    assert "[########################] pairs: 10/10 (100%)" in text


def test_quiet_and_short_stages_print_nothing():
    out, clock = io.StringIO(), Clock()
    with Progress(10, "x", stream=out, tty=False, enabled=False, clock=clock) as bar:
        clock.t = 100
        bar.update(10)
    with Progress(10, "y", stream=out, tty=True, clock=clock) as bar:  # done within min_seconds
        clock.t += 0.5
        bar.update(10)
    assert out.getvalue() == ""


def test_unknown_total_and_durations():
    out, clock = io.StringIO(), Clock()
    with Progress(None, "rows", stream=out, tty=False, clock=clock) as bar:
        clock.t = 2
        bar.update(40)
    assert out.getvalue().splitlines()[0] == "rows: 40 20.0/s, elapsed 0:02"
    assert format_duration(75) == "1:15" and format_duration(3725) == "1:02:05"
    assert format_duration(float("nan")) == "?" and format_duration(float("inf")) == "?"


def test_encoder_show_progress_bar(tmp_path, capsys):
    from distillscope.embed import onnx_builder as ob
    from distillscope.embed.encoder import Encoder

    d = ob.build_tiny_model(tmp_path / "m", seed=2)
    e = Encoder(d, precision="fp32", cache=None, threads=1)
    words = ob.tiny_vocab()[120:]
    texts = [f"{words[i % len(words)]} {i}" for i in range(40)]
    quiet = e.encode(texts)
    assert capsys.readouterr().err == ""
    loud = e.encode(texts, show_progress_bar=True)
    assert (quiet == loud).all()
    # a 40-text batch finishes within the 1 s grace period: nothing extra is shown
    assert capsys.readouterr().err == ""


def test_eta_follows_the_work_not_the_count_when_costs_differ():
    # ten items, the first five cheap (1 unit, 1 s each), the last five dear
    # (9 units, 9 s each): after the cheap half the count says 5 s are left,
    # the work says 45 s, which is what the stage then takes
    out, clock = io.StringIO(), Clock()
    costs = [1.0] * 5 + [9.0] * 5
    with Progress(10, "windows", stream=out, tty=False, interval=0.5, clock=clock, work=sum(costs)) as bar:
        for c in costs[:5]:
            clock.t += c
            bar.update(1, work=c)
        assert bar.text() == "windows: 5/10 ( 50%) 1.0/s, elapsed 0:05, ETA 0:45"
        for c in costs[5:]:
            clock.t += c
            bar.update(1, work=c)
    assert out.getvalue().splitlines()[-1] == "windows: 10/10 (100%) 0.2/s, elapsed 0:50, ETA 0:00 done"
    # without work, the same run's ETA is the count's
    plain = Progress(10, "windows", stream=io.StringIO(), tty=False, clock=clock)
    plain.t0, clock.t = 0.0, 5.0
    plain.update(5)
    assert plain.text().endswith("ETA 0:05")


def test_encoder_reports_the_cost_of_every_batch(tmp_path, monkeypatch):
    """The encoders' ETA weights each batch by padded tokens × attention span: the
    work announced up front is exactly the work reported, batch by batch."""
    from distillscope import progress as progress_mod
    from distillscope.embed import onnx_builder as ob
    from distillscope.embed.encoder import Encoder
    from distillscope.text.segment import segment

    seen: list[Progress] = []

    class Recording(progress_mod.Progress):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            seen.append(self)

    monkeypatch.setattr(progress_mod, "Progress", Recording)
    enc = Encoder(ob.build_tiny_model(tmp_path / "m", seed=3), precision="fp32", cache=None, batch_size=2)
    texts = ["short.", "a bit longer than that one, with a clause.", "word " * 150 + "end.", "mid sized text here."]
    enc.encode(texts, show_progress_bar=True)
    enc.encode_with_segments(texts, segment(texts, "sentence"), show_progress_bar=True)
    assert len(seen) == 2
    for bar in seen:
        assert bar.work_total > 0 and abs(bar.work_done - bar.work_total) < 1e-9 * bar.work_total
    # the long text costs more per token than the short ones: more than its share of tokens
    lengths = np.array([len(e.ids) for e in enc._tokenize(texts)])
    one = enc._batches(lengths, 1)
    costs = {int(b.rows[0]): enc._cost(b) for b in one}
    lens = {int(b.rows[0]): b.length for b in one}
    assert costs[2] / costs[0] > lens[2] / lens[0]

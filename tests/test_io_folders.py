"""``_io.folders_undone_on_failure``: the one helper behind the undo of
``score-pairs`` (its checkpoint folders) and ``bench`` / ``demo`` (--out)."""

from __future__ import annotations

import shutil

import pytest

from distillscope._io import folders_undone_on_failure, missing_folders


class Boom(Exception):
    pass


def test_missing_folders_innermost_first(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert missing_folders(target) == [target, tmp_path / "a" / "b", tmp_path / "a"]
    assert missing_folders(tmp_path) == []


def test_nested_missing_parents_are_removed_innermost_first_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b" / "c"
    removed = []
    real_rmdir = type(tmp_path).rmdir

    def spy(self):
        real_rmdir(self)  # raises while not empty: only successful removals are recorded
        removed.append(self)

    monkeypatch.setattr(type(tmp_path), "rmdir", spy)
    with pytest.raises(Boom), folders_undone_on_failure(target) as made:
        assert target.is_dir()
        assert made == [target, tmp_path / "a" / "b", tmp_path / "a"]
        raise Boom
    assert removed == [target, tmp_path / "a" / "b", tmp_path / "a"]
    assert list(tmp_path.iterdir()) == []


def test_a_parent_that_gained_an_unrelated_file_is_kept(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    with pytest.raises(Boom), folders_undone_on_failure(target):
        (tmp_path / "a" / "someone-elses.txt").write_text("keep me")
        raise Boom
    # c and b were empty and are gone; a holds a file and stays, with the file
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/someone-elses.txt"]
    assert (tmp_path / "a" / "someone-elses.txt").read_text() == "keep me"


def test_a_folder_holding_what_the_run_wrote_stops_the_removal(tmp_path):
    target = tmp_path / "a" / "b"
    with pytest.raises(Boom), folders_undone_on_failure(target):
        (target / "progress.json").write_text("{}")
        raise Boom
    assert (target / "progress.json").is_file()


def test_success_keeps_everything(tmp_path):
    target = tmp_path / "a" / "b"
    with folders_undone_on_failure(target) as made:
        pass
    assert made == [target, tmp_path / "a"]
    assert target.is_dir()  # empty, but the run succeeded: kept


def test_keyboard_interrupt_also_undoes(tmp_path):
    target = tmp_path / "a" / "b"
    with pytest.raises(KeyboardInterrupt), folders_undone_on_failure(target):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_removed(tmp_path):
    with pytest.raises(Boom), folders_undone_on_failure(tmp_path) as made:
        assert made == []
        raise Boom
    assert tmp_path.is_dir()


def test_create_false_lets_the_block_create_it_and_skips_a_folder_already_gone(tmp_path):
    target = tmp_path / "a" / "b"
    with pytest.raises(Boom), folders_undone_on_failure(target, create=False) as made:
        assert not (tmp_path / "a").exists()
        target.mkdir(parents=True)
        (target / "out.json").write_text("{}")
        shutil.rmtree(made[0])  # what the caller does with its own folder before the helper runs
        raise Boom
    assert list(tmp_path.iterdir()) == []

"""``cpu.import_in_background``: the shell command imports scikit-learn while it reads the folder."""
import multiprocessing
import sys

import pytest

from course_lib import cpu


def _finished(name: str) -> bool:
    module = sys.modules.get(name)
    return bool(getattr(module, "DONE", False))


def test_the_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "course_bg_quick.py").write_text("DONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cpu.import_in_background("course_bg_quick").join(timeout=30)
    assert _finished("course_bg_quick")


def test_a_failing_import_is_left_to_the_main_thread(tmp_path, monkeypatch):
    (tmp_path / "course_bg_broken.py").write_text("raise ImportError('broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    thread = cpu.import_in_background("course_bg_broken", "course_bg_missing_xyz")
    thread.join(timeout=30)
    assert not thread.is_alive()
    with pytest.raises(ImportError, match="broken on purpose"):
        __import__("course_bg_broken")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_a_fork_waits_for_the_import(tmp_path, monkeypatch):
    # the module takes 0.5 s to import; a worker forked meanwhile would see it half imported
    (tmp_path / "course_bg_slow.py").write_text("import time\ntime.sleep(0.5)\nDONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    thread = cpu.import_in_background("course_bg_slow")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_finished, ("course_bg_slow",)) is True
    assert not thread.is_alive()

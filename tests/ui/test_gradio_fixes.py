"""The fix to Gradio's picture cache (explorer/ui/gradio_fixes.py): a picture returned again while a
page fetches it is never seen truncated, and the files are the ones Gradio would write."""

import threading

import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image

from explorer.ui import gradio_fixes

GRADIO_OWN = processing_utils.save_pil_to_cache  # read at collection, before any test builds the app


@pytest.fixture
def picture():
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))


def _short_reads(save, picture, cache_dir, saves=1000) -> list[int]:
    """One thread saves the same picture again and again, as answers to several visitors do; another
    reads the file back as the pages fetch it. The lengths of the reads that were not the whole file."""
    path = save(picture, str(cache_dir), format="png")
    whole = open(path, "rb").read()
    done, short = threading.Event(), []

    def fetch():
        while not done.is_set():
            got = open(path, "rb").read()
            if got != whole:
                short.append(len(got))

    reader = threading.Thread(target=fetch)
    reader.start()
    try:
        for _ in range(saves):
            assert save(picture, str(cache_dir), format="png") == path
    finally:
        done.set()
        reader.join()
    return short


def test_gradio_own_save_is_read_truncated_and_the_fix_is_not(picture, tmp_path):
    """Why the fix exists. Should a Gradio release write atomically itself, the second assertion
    fails, and the fix can go."""
    assert GRADIO_OWN is not gradio_fixes.save_pil_to_cache
    assert len(_short_reads(GRADIO_OWN, picture, tmp_path / "gradio")) > 0
    assert _short_reads(gradio_fixes.save_pil_to_cache, picture, tmp_path / "fixed") == []


def test_the_app_installs_it_and_writes_what_gradio_writes(picture, tmp_path, app_tiny_services):
    from explorer.ui.app import build_app

    build_app(app_tiny_services)
    assert processing_utils.save_pil_to_cache is gradio_fixes.save_pil_to_cache
    theirs = GRADIO_OWN(picture, str(tmp_path / "gradio"), format="png")
    ours = processing_utils.save_pil_to_cache(picture, str(tmp_path / "ours"), format="png")
    assert theirs.replace(str(tmp_path / "gradio"), "") == ours.replace(str(tmp_path / "ours"), "")
    assert open(theirs, "rb").read() == open(ours, "rb").read()
    # A file that was left truncated (by an older write) is written again, whole.
    path = processing_utils.save_pil_to_cache(picture, str(tmp_path / "again"), format="png")
    whole = open(path, "rb").read()
    open(path, "wb").close()
    assert processing_utils.save_pil_to_cache(picture, str(tmp_path / "again"), format="png") == path
    assert open(path, "rb").read() == whole

"""Shared pytest fixtures, over the builders in tests/helpers/ (nothing here is trained or downloaded
except app_faces_dirs' one real 1 kimg run). Each layer of tests has its own folder:

    tests/unit/  the engine: models, training, data, edits, metrics, importers, inspection, the playground
    tests/ui/    the tabs' handlers called directly, and the app's endpoints (fuzzed, over HTTP)
    tests/app/   the launched app: in a real browser, as a subprocess (`python app.py`), soaked, first run
    tests/docs/  the README, its pictures, and the layout of the package

Markers (pyproject.toml): `browser` (drives Chromium), `server` (launches the app), `slow` (a minute or
more of training or installing). `python -m pytest -q -m "not slow and not browser and not server"` is
the quick loop while editing; CI runs everything.

- `app_tiny_dirs`      session: AppDirs(weights, runs) holding one shipped checkpoint, "tiny".
- `app_empty_dirs`     session: AppDirs(weights, runs), both empty.
- `app_tiny_services`  session: Services over `app_tiny_dirs` on the CPU (for handler calls).
- `app_tiny_server`    session: the real app (app.create_app) over `app_tiny_dirs`, launched on a
                       free port; a LaunchedApp with `.url` and `.demo`.
- `app_empty_server`   session: the same over `app_empty_dirs`.
- `app_progan_dirs`    session: AppDirs holding "tiny" (DCGAN) and "tiny-progan" (trained to stage 3).
- `app_progan_services`, `app_progan_server`: Services / the launched app over `app_progan_dirs`.
- `app_stylegan_dirs`  session: AppDirs holding "tiny" (DCGAN), "tiny-stylegan2" and "tiny-stylegan".
- `app_stylegan_services`, `app_stylegan_server`: Services / the launched app over `app_stylegan_dirs`.
- `app_faces_dirs`     session: AppDirs whose runs/ holds "stylegan2-faces", a 64 px StyleGAN2 really
                       trained on the procedural faces for 1 kimg (about 15-25 s on one CPU thread).
- `app_faces_server`   session: the launched app over `app_faces_dirs`.

The session fixtures are shared by every test: tests that add files must use their own
folders (tmp_path), never these.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no version check call home

# Gradio caches every returned image at /tmp/gradio/<hash of its bytes>/image.png, rewritten in
# place (not atomically) and cleaned up by delete_cache, and that folder is shared by every
# Gradio process on the machine. Our test models are deterministic, so two test runs at once write
# the very same paths: give this process its own cache folder (it is read when gradio is imported).
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="gradio-tests-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], ignore_errors=True)
# Rendered faces and metric features are cached under GAN_EXPLORER_CACHE: the tests use their own folder,
# never the user's ~/.cache.
if "GAN_EXPLORER_CACHE" not in os.environ:
    os.environ["GAN_EXPLORER_CACHE"] = tempfile.mkdtemp(prefix="gan-explorer-cache-tests-")
    atexit.register(shutil.rmtree, os.environ["GAN_EXPLORER_CACHE"], ignore_errors=True)

import pytest  # noqa: E402
import torch  # noqa: E402

# One torch thread: on a loaded 2-core box it is several times faster than two for tiny models.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # app.py lives at the repo root, outside the package
    sys.path.insert(0, str(REPO))

from helpers import (FACES_RUN, TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN1_NAME, TINY_STYLEGAN_NAME, AppDirs,  # noqa: E402
                     launch_app, make_dirs, make_tiny_checkpoint, make_tiny_progan_checkpoint, make_tiny_stylegan_checkpoint,
                     train_tiny_stylegan)
from helpers.browser import CHROMIUM_ARGS, TIMEOUT_MS  # noqa: E402
from helpers import CHROMIUM  # noqa: E402


@pytest.fixture(scope="session")
def app_tiny_dirs(tmp_path_factory) -> AppDirs:
    dirs = make_dirs(tmp_path_factory.mktemp("app-tiny"))
    make_tiny_checkpoint(dirs.weights / TINY_NAME)
    return dirs


@pytest.fixture(scope="session")
def app_empty_dirs(tmp_path_factory) -> AppDirs:
    return make_dirs(tmp_path_factory.mktemp("app-empty"))


@pytest.fixture(scope="session")
def app_progan_dirs(tmp_path_factory) -> AppDirs:
    dirs = make_dirs(tmp_path_factory.mktemp("app-progan"))
    make_tiny_checkpoint(dirs.weights / TINY_NAME)
    make_tiny_progan_checkpoint(dirs.weights / TINY_PROGAN_NAME)
    return dirs


@pytest.fixture(scope="session")
def app_progan_services(app_progan_dirs):
    from explorer.ui.services import Services

    return Services(app_progan_dirs.weights, app_progan_dirs.runs, torch.device("cpu"))


@pytest.fixture(scope="session")
def app_tiny_services(app_tiny_dirs):
    from explorer.ui.services import Services

    return Services(app_tiny_dirs.weights, app_tiny_dirs.runs, torch.device("cpu"))


@pytest.fixture(scope="session")
def app_stylegan_dirs(tmp_path_factory) -> AppDirs:
    dirs = make_dirs(tmp_path_factory.mktemp("app-stylegan"))
    make_tiny_checkpoint(dirs.weights / TINY_NAME)
    make_tiny_stylegan_checkpoint(dirs.weights / TINY_STYLEGAN_NAME, "modulated")
    make_tiny_stylegan_checkpoint(dirs.weights / TINY_STYLEGAN1_NAME, "adain", seed=1)
    return dirs


@pytest.fixture(scope="session")
def app_stylegan_services(app_stylegan_dirs):
    from explorer.ui.services import Services

    return Services(app_stylegan_dirs.weights, app_stylegan_dirs.runs, torch.device("cpu"))


@pytest.fixture(scope="session")
def app_faces_dirs(tmp_path_factory) -> AppDirs:
    dirs = make_dirs(tmp_path_factory.mktemp("app-faces"))
    train_tiny_stylegan(dirs.runs / FACES_RUN)
    return dirs


@pytest.fixture(scope="session")
def app_tiny_server(app_tiny_dirs):
    yield from launch_app(app_tiny_dirs)


@pytest.fixture(scope="session")
def app_empty_server(app_empty_dirs):
    yield from launch_app(app_empty_dirs)


@pytest.fixture(scope="session")
def app_progan_server(app_progan_dirs):
    yield from launch_app(app_progan_dirs)


@pytest.fixture(scope="session")
def app_stylegan_server(app_stylegan_dirs):
    yield from launch_app(app_stylegan_dirs)


@pytest.fixture(scope="session")
def app_faces_server(app_faces_dirs):
    yield from launch_app(app_faces_dirs)


# --- the browser tests' Chromium (Debian's, driven by playwright): one per module, a fresh page per test ---


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


# --- markers: browser (drives Chromium), server (launches the app), slow (trains or installs for a minute) ---

SLOW_MODULES = {"test_first_run", "test_soak", "test_ddp", "test_faults", "test_train_tab", "test_jobs",
                "test_playground", "test_readme_assets", "test_shipped_directions"}
SLOW_FIXTURES = {"app_faces_dirs", "app_faces_server"}   # a real 1 kimg training run
BROWSER_FIXTURES = {"page", "browser"}
SERVER_WORDS = ("launch_app(", "launch_training_app(", "Client(", "App(")
SLOW_WORDS = ("sys.executable", "subprocess.")           # a test that starts a training process of its own


def pytest_collection_modifyitems(config, items):
    import inspect

    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        names = set(getattr(item, "fixturenames", ()))
        try:
            body = inspect.getsource(item.function)
        except (OSError, TypeError):
            body = ""
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if names & BROWSER_FIXTURES or any(n.endswith(("server", "_app")) for n in names) \
                or any(w in body for w in SERVER_WORDS) or "/app/" in str(item.fspath):
            item.add_marker(pytest.mark.server)
        if module in SLOW_MODULES or names & SLOW_FIXTURES or any(w in body for w in SLOW_WORDS):
            item.add_marker(pytest.mark.slow)

"""The README's first command as a newcomer runs it, and a Space's build: a copy of the project's files
(what a clone holds), a fresh venv from requirements.txt alone (no dev or data requirements, nothing
installed by hand), `python app.py`, then every tab's first action with its defaults untouched,
through the launched app: Generate, ProGAN, StyleGAN, Edit (a drag of the first strength),
Interpolate (the frame slider, then Export GIF), Train (Start, the live grid within 30 s), Metrics
(Measure, under a minute). The Space test launches the same venv as a Space does and trains on every
data set the Train tab offers.

The venv shares pip's cache (CI's own install fills it first); building it is most of the time."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
INSTALL_TIMEOUT_S = 600
TRAIN_GRID_S = 30.0      # Start with the defaults shows its first live grid within this, on 2 cores
METRICS_S = 60.0         # Measure with the defaults answers within this

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def readme_app_command() -> str:
    """The first bash block of the README's Quick start: the command a newcomer copies."""
    text = README.read_text()
    block = re.search(r"```bash\n(.+?)\n```", text[text.index("## Quick start"):], flags=re.S)
    assert block, "README.md's Quick start has no ```bash block"
    return block.group(1).strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra) -> dict:
    """The machine's environment without this test run's venv, as a new terminal has it."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = str(Path(os.environ["VIRTUAL_ENV"]) / "bin") if os.environ.get("VIRTUAL_ENV") else None
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    return {**env, **extra}


def _copy_checkout(dest: Path) -> None:
    """The files a clone would have: tracked ones plus new ones git does not ignore (a work in progress)."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


class Launched:
    """`bash -c COMMAND` in its own process group, its output in a log; stop() ends the whole group."""

    def __init__(self, command: str, cwd: Path, log: Path, **env):
        self.port, self.log = _free_port(), log
        self.url = f"http://127.0.0.1:{self.port}/"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=_clean_env(GRADIO_SERVER_PORT=str(self.port), **env))

    def wait_until_served(self, timeout: float) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                pytest.fail(f"the command ended with {self.proc.returncode} before serving:\n{self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return time.monotonic() - t0
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"nothing served on port {self.port} after {timeout:.0f} s:\n{self.tail()}")

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """The README's app command run as written in a fresh copy: (checkout, Launched, seconds to serve)."""
    command = readme_app_command()
    assert command == ("python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt "
                       "&& python app.py"), f"the README's app command changed; check this test still runs it: {command}"
    checkout = tmp_path_factory.mktemp("newcomer")
    _copy_checkout(checkout)
    app = Launched(command, checkout, checkout / "first-run.log",
                   GAN_EXPLORER_CACHE=str(checkout / ".cache"))  # a fresh machine's empty metrics cache
    try:
        served = app.wait_until_served(INSTALL_TIMEOUT_S)
        yield checkout, app, served
    finally:
        app.stop()


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def _defaults(client, api_name: str) -> tuple[list, list[str]]:
    """(the endpoint's inputs as the page first shows them, their labels)."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]["parameters"]
    return [p["parameter_default"] if p["parameter_has_default"] else None for p in params], \
        [p["label"] for p in params]


def _picture(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def _drawn(path) -> np.ndarray:
    """A picture that shows something: not one flat colour."""
    a = _picture(path)
    assert a.std() > 8, f"{path} is (nearly) one flat colour"
    return a


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def _wait(fn, what: str, timeout: float, interval: float = 0.5):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = fn()
        if value:
            return value, time.monotonic() - t0
        time.sleep(interval)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s")


def _start_default_training(client, data: str | None = None) -> tuple[str, dict, float]:
    """Train tab: Start with the form's defaults (or another data set); (run, status, seconds to the grid)."""
    form, labels = _defaults(client, "/train_start")
    if data is not None:
        form[labels.index("Dataset")] = data
    t0 = time.monotonic()
    notice, picker = client.predict(*form, api_name="/train_start")
    run = picker["value"] if isinstance(picker, dict) else picker
    assert "Started" in notice and run, notice
    status, _ = _wait(lambda: (s := client.predict(run, api_name="/train_status"))["grid_kimg"] is not None
                      and s, f"the live grid of {run}", TRAIN_GRID_S + 30)
    assert status["state"] == "running", status
    return run, status, time.monotonic() - t0


def _stop(client, run: str) -> None:
    client.predict(run, api_name="/train_stop")
    _wait(lambda: client.predict(run, api_name="/train_status")["state"] == "stopped", f"{run} to stop", 60)


def test_the_readme_app_command_works_and_every_tab_s_first_action_with_its_defaults(newcomer):
    checkout, app, served = newcomer
    venv = checkout / ".venv"
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                               capture_output=True, text=True, check=True).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert "pytest" not in names and "mlxtend" not in names  # requirements.txt alone
    client = _client(app.url)
    took = {"serve": served}

    # Generate: the grid of the default seeds.
    grid, took["generate"] = _timed(client.predict, *_defaults(client, "/generate")[0], api_name="/generate")
    _drawn(grid[0] if isinstance(grid, (list, tuple)) else grid)

    # ProGAN: the stage/alpha render.
    out, took["progan"] = _timed(client.predict, *_defaults(client, "/progan_render")[0], api_name="/progan_render")
    _drawn(out[0])

    # StyleGAN: seed A, the mix and seed B.
    out, took["stylegan"] = _timed(client.predict, *_defaults(client, "/style_render")[0], api_name="/style_render")
    a, mix, b = (_drawn(p) for p in out[:3])
    assert not np.array_equal(a, b)

    # Edit: a direction is chosen in the first slot, so the first drag of its strength moves the picture.
    form, labels = _defaults(client, "/edit_render")
    slot = labels.index("Direction 1")
    assert form[slot] not in (None, "(none)"), "the Edit tab opens with no direction in its first slot"
    original, edited = client.predict(*form, api_name="/edit_render")[:2]
    form[slot + 1] = 2.0
    moved, took["edit"] = _timed(client.predict, *form, api_name="/edit_render")
    assert np.abs(_drawn(moved[1]) - _drawn(original)).mean() > 2, "dragging the first strength changed nothing"

    # Interpolate: the frame slider previews another frame; Export GIF writes the whole path.
    form, labels = _defaults(client, "/interp_preview")
    first = _drawn(client.predict(*form, api_name="/interp_preview")[0])
    frame = labels.index("Preview frame")
    form[frame] = int(form[labels.index("Frames")]) // 2
    later, took["interpolate"] = _timed(client.predict, *form, api_name="/interp_preview")
    assert not np.array_equal(_drawn(later[0]), first)
    gif, took["export_gif"] = _timed(client.predict, *_defaults(client, "/interp_gif")[0], api_name="/interp_gif")
    gif_path = gif[0] if isinstance(gif, (list, tuple)) else gif
    gif_path = gif_path.get("value", gif_path) if isinstance(gif_path, dict) else gif_path
    with Image.open(gif_path) as im:
        assert im.format == "GIF" and im.n_frames > 8

    # Project: a picture uploaded, projected with the defaults and saved; then it stands in for Edit's seed.
    from gradio_client import handle_file

    from explorer.train.datasets.faces import make_faces

    photo = checkout / "my-face.png"
    Image.fromarray(make_faces(1, 200, seed=777)[0][0]).save(photo)
    form, labels = _defaults(client, "/project_start")
    form[labels.index("Your picture (PNG, JPEG, WebP)")] = handle_file(str(photo))
    model = form[labels.index("Model")]
    t0 = time.perf_counter()
    status, _ = client.predict(*form, api_name="/project_start")
    assert "Projecting into" in status and "@my-face" in status, status

    def saved() -> bool:  # Refresh list: the newest saved projection is picked once there is one
        picked = client.predict(model, None, api_name="/project_refresh")[2]  # an update: {"choices", "value"}
        return (picked.get("value") if isinstance(picked, dict) else picked) == "@my-face"

    _wait(saved, "the projection to be saved", 180)
    assert "@my-face" in client.predict(model, "@my-face", api_name="/project_show")[2]
    took["project"] = time.perf_counter() - t0
    form, labels = _defaults(client, "/edit_render")
    fresh = _client(app.url)  # a page of its own: this session's Edit pictures were sent already (Shown skips them)
    seed_only = _drawn(fresh.predict(*form, api_name="/edit_render")[0])
    form[labels.index("From")] = "@my-face"
    projected = _drawn(fresh.predict(*form, api_name="/edit_render")[0])
    assert np.abs(projected - seed_only).mean() > 2, "Edit drew the seed, not the projected picture"

    # Inspect: the layer's channels draw, and the first drag of the part edit's strength removes the mouth.
    form, labels = _defaults(client, "/inspect_render")
    before = _drawn(client.predict(*form, api_name="/inspect_render")[0])
    form[labels.index("Strength (0 = no edit)")] = 1.0
    out, took["inspect"] = _timed(client.predict, *form, api_name="/inspect_render")
    assert np.abs(_drawn(out[0]) - before).mean() > 1, "dragging the Inspect strength changed nothing"
    assert "the segmenter sees mouth" in out[3], out[3]

    # Train: Start with the defaults trains and shows its live grid within 30 s.
    run, status, took["train_grid"] = _start_default_training(client)
    assert took["train_grid"] < TRAIN_GRID_S, f"the first live grid took {took['train_grid']:.0f} s"
    assert (checkout / "runs" / run / "samples").is_dir()
    _stop(client, run)

    # Metrics: Measure with the defaults measures something real in under a minute, and says so first.
    form = _defaults(client, "/metrics_measure")[0]
    estimate = client.predict(*form, api_name="/metrics_estimate")
    assert estimate.startswith("About **"), estimate
    (summary, result, *_), took["metrics"] = _timed(client.predict, *form, api_name="/metrics_measure")
    assert "appended to its card" in summary and took["metrics"] < METRICS_S
    value = float(result["data"][0][3])
    assert np.isfinite(value) and value != 0
    print("first-run seconds:", json.dumps({k: round(v, 1) for k, v in took.items()}))
    assert "Traceback" not in app.log.read_text(errors="replace"), app.tail()


def test_a_space_built_from_its_files_alone_trains_on_every_offered_dataset(newcomer):
    """A Space installs pre-requirements.txt, then requirements.txt, then the Debian packages packages.txt
    names, and runs app.py with SPACE_ID set. pre-requirements.txt only points pip at PyTorch's CPU build of
    the same torch pin (tests/app/test_space.py), so the newcomer's venv is the Space's; nothing apt-level is
    needed, so no packages.txt is shipped."""
    checkout, _, _ = newcomer
    pre = [line for line in (ROOT / "pre-requirements.txt").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    torch_pin = next(line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch=="))
    assert [line for line in pre if not line.startswith("--index-url")] == [torch_pin]
    assert not (ROOT / "packages.txt").exists() or not (ROOT / "packages.txt").read_text().strip()
    space = Launched(f"{checkout / '.venv' / 'bin' / 'python'} app.py", checkout, checkout / "space.log",
                     SPACE_ID="someone/gan-explorer", GAN_EXPLORER_CACHE=str(checkout / ".cache"))
    try:
        space.wait_until_served(120)
        client = _client(space.url)
        config = client.config
        radio = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "tr-data")
        offered = [value for label, value in radio["props"]["choices"]]
        labels = [label for label, value in radio["props"]["choices"]]
        assert not [label for label in labels if "unavailable" in label], labels
        assert "folder on this server" not in offered  # a Space reads no server folders
        for data in [v for v in offered if v in ("mnist", "faces", "emoji")]:
            run, status, seconds = _start_default_training(client, data)
            assert status["grid_kimg"] is not None, (data, status)
            _stop(client, run)
        assert {"mnist", "faces", "emoji"} <= set(offered)
    finally:
        space.stop()

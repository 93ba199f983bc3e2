"""Hostile input: every public endpoint of the app fuzzed with hypothesis, in two layers.

(a) In process: each event's own function (what the server calls after Gradio's preprocessing) gets
    values of the kinds its input components can deliver, within and beyond their declared ranges:
    NaN and ±inf, huge and negative numbers, seed texts like 1-100000000, very long strings, unknown
    and path-like names (../../etc/passwd, NUL bytes), lists and objects where a custom-valued dropdown
    takes any JSON. Each call must return or raise gr.Error with a sentence, within CALL_TIMEOUT_S.
(b) A real `python app.py` in a subprocess, driven with gradio_client with fewer examples per endpoint,
    plus wrong types (Gradio's own checks answer those). The server's log must hold no traceback but
    those of gr.Error and of Gradio refusing an input's type, and a normal render must still work.

Both layers watch a folder holding weights/, runs/ and a canary file: files change only under weights/
and runs/, shipped weights never change, and the canary is neither written nor read (its atime).
Training would be a real job: a stand-in process holds the job slot, so a valid start is answered
"busy" instead of launching one. Valid requests that are merely long (a 20,000-sample measurement,
a 600-frame export) are capped in COSTLY: they are the limits' business (tests at the end), not hostile.

CI runs a fixed, derandomized set of examples; FUZZ_SCALE=10 runs ten times as many (still reproducible).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import httpx
import numpy as np
import pytest
from helpers import (REPO, TINY_CLASSES, TINY_CONDITIONAL_NAME, TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN_NAME,
                     make_tiny_checkpoint, make_tiny_progan_checkpoint, make_tiny_stylegan_checkpoint)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

# Every public endpoint, by api_name. A new one makes test_every_public_endpoint_is_fuzzed fail until it
# is added here (and, if the generic strategies do not fit its inputs, given an entry in COSTLY).
ENDPOINTS = (
    "import_checkpoint", "generate", "generate_psi", "generate_class", "refresh_models", "generate_recipe_save",
    "generate_recipe_load", "progan_render", "progan_strip", "progan_interp", "progan_select", "progan_refresh",
    "progan_recipe_save", "progan_recipe_load", "style_render", "style_preset", "style_random_a", "style_random_b",
    "style_variation", "style_matrix", "style_select", "style_refresh", "style_recipe_save", "style_recipe_load",
    "edit_render", "edit_select", "edit_refresh", "edit_find", "edit_recipe_save", "edit_recipe_load",
    "interp_preview", "interp_select", "interp_refresh", "interp_gif", "interp_mp4", "interp_recipe_save",
    "interp_recipe_load", "train_status", "train_recipe", "train_start", "train_stop", "train_resume",
    "train_runs", "train_poll", "train_snapshot", "metrics_measure", "metrics_history", "metrics_refresh",
    "metrics_estimate",
    "train_open",
    "inspect_select", "inspect_layer", "inspect_render", "inspect_dissect", "inspect_refresh",
    "playground_preset", "playground_apply", "playground_settings", "playground_play", "playground_pause",
    "playground_d", "playground_g", "playground_both", "playground_reset", "playground_speed", "playground_slow",
    "playground_csv", "playground_clear", "playground_save", "playground_load",
    "project_select", "project_refresh", "project_preview", "project_start", "project_stop", "project_show",
    "project_delete", "project_open_stylegan", "project_open_edit", "project_open_interpolate",
)
# Valid but long: inputs (by elem_id) whose values above the cap are fuzzed at the cap instead.
COSTLY = {"mt-n": 6, "ip-frames": 12, "in-samples": 16, "pj-steps": 20, "pj-pti-steps": 10}
SLOW = {"metrics_measure": 0.3, "interp_gif": 0.4, "interp_mp4": 0.3, "edit_find": 0.6, "train_start": 0.6, "inspect_dissect": 0.3}
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
IN_PROCESS_EXAMPLES = 25
SERVER_EXAMPLES = 3
CALL_TIMEOUT_S = 60.0

# --- hostile values ---------------------------------------------------------------------------

NAMES = ("../../etc/passwd", "/etc/passwd", "..", "../", "../canary.txt", "../../canary.txt", "tiny/../../canary.txt",
         "tiny\x00", "tiny\x00/../../etc/passwd", "run: ..", "run: ../canary.txt", "~/.bashrc", "..\\..\\canary.txt",
         "%2e%2e%2fcanary.txt", "/dev/zero", "/proc/self/environ", "tiny\n", " tiny ", "", " ", "💥", "NUL",
         "x" * 300)
SEED_TEXTS = ("1-100000000", "0-4294967296", "4294967295", "4294967296", "-5", "3-1", "1e9", "0x10", "NaN", "inf",
              "9" * 5000, "1," * 5000, "0-63", "0-64", "0 - 15", "1-8, 42", "٣", "1;2;;3", "-", ",", "0-0-0")
HUGE_TEXT = ("x" * 100_000, "0," * 50_000, "[" * 499, "[" * 5000)
NUMBERS = (0, 1, -1, 2, 0.5, -0.0, 1e-300, 2**31, 2**32 - 1, 2**32, 2**53 + 1, 2**63, 10**30, -10**30, 1e308,
           -1e308, 64, 65, 600, 601, 20000, 20001)
NON_FINITE = (math.nan, math.inf, -math.inf)


def texts() -> st.SearchStrategy:
    return st.one_of(st.sampled_from(NAMES + SEED_TEXTS), st.text(max_size=24),
                     st.text(alphabet="0123456789-,; ", max_size=24), st.sampled_from(HUGE_TEXT))


def numbers(finite_only: bool) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(NUMBERS + (() if finite_only else NON_FINITE)),
                     st.integers(-2**70, 2**70), st.floats(allow_nan=not finite_only, allow_infinity=not finite_only))


def any_json(finite_only: bool) -> st.SearchStrategy:
    scalar = st.one_of(st.none(), st.booleans(), numbers(finite_only), texts())
    return st.one_of(scalar, st.lists(scalar, max_size=3), st.dictionaries(st.text(max_size=4), scalar, max_size=2))


def _choices(block) -> list:
    return [v for _, v in (getattr(block, "choices", None) or [])]


def component_values(block, ctx: "Fuzz", server: bool) -> st.SearchStrategy:
    """What `block` can hand its event function (server=False), or what a client can send it (server=True)."""
    default = st.just(block.value) if not callable(getattr(block, "value", None)) else st.none()
    if isinstance(block, gr.State):
        return default  # server-side state: never sent by a client
    if isinstance(block, (gr.File, gr.UploadButton)):
        files = st.sampled_from(ctx.files)
        if not server:
            return st.one_of(st.none(), files)
        from gradio_client import handle_file

        # Plain paths go as they are. (A FileData dict naming a local file would make the client upload
        # it, reading it here: test_file_paths_that_were_not_uploaded_are_refused sends those raw.)
        outside = st.sampled_from([str(ctx.canary), "/etc/passwd", "../canary.txt"])
        return st.one_of(st.none(), files.map(handle_file), outside)
    if isinstance(block, (gr.Number, gr.Slider)):
        lo = block.minimum if block.minimum is not None else -1e6
        hi = block.maximum if block.maximum is not None else 1e6
        inside = st.integers(int(math.ceil(lo)), int(hi)) if getattr(block, "precision", None) == 0 or \
            getattr(block, "step", 0.5) == 1 else st.floats(lo, hi)
        values = st.one_of(default, inside, numbers(finite_only=server))
        if isinstance(block, gr.Number):
            values = st.one_of(values, st.none())
        if server:
            values = st.one_of(values, st.sampled_from(["1", "x", [], {}, True]))
        cap = COSTLY.get(block.elem_id)
        if cap is not None:
            values = values.map(lambda v: cap if isinstance(v, (int, float)) and not isinstance(v, bool)
                                and cap < v <= hi else v)
        return values
    names = st.sampled_from(_choices(block) + ctx.names) if _choices(block) or ctx.names else texts()
    one = st.one_of(default, names, texts(), st.none())
    if getattr(block, "allow_custom_value", False) or server:
        one = st.one_of(one, any_json(finite_only=server))
    if isinstance(block, gr.CheckboxGroup) or getattr(block, "multiselect", False):
        lists = st.lists(st.one_of(names, texts()), max_size=4)
        return st.one_of(default, lists, one) if server else st.one_of(default, lists)
    return one


# --- the watched folder ------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, tuple]:
    """{relative path: (size, sha256)} of every file; the canary and outside/ by (size, mtime) instead,
    so that taking a snapshot does not read them."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            rel, st_ = p.relative_to(root).as_posix(), p.stat()
            unread = rel == "canary.txt" or rel.startswith("outside/")
            out[rel] = (st_.st_size, st_.st_mtime_ns if unread else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@dataclass
class Fuzz:
    root: Path            # weights/, runs/, canary.txt, outside/ (the server's cwd too)
    tmp: Path             # temp, Gradio cache, metric caches: outside the watched folder
    names: list           # valid model and run names
    files: list           # upload candidates: recipes saved by the app, damaged files, a zip
    stand_in: subprocess.Popen  # holds the job slot
    before: dict          # _tree(root) at the start

    @property
    def canary(self) -> Path:
        return self.root / "canary.txt"

    def check_folder(self) -> None:
        """Nothing outside weights/ and runs/ changed; shipped weights unchanged; the canary unread."""
        now = _tree(self.root)
        for rel, sig in self.before.items():
            inside = rel.startswith(("weights/", "runs/"))
            if not inside or rel.endswith(".safetensors"):
                assert now.get(rel) == sig, f"{rel} was changed or removed"
        new = [rel for rel in now if rel not in self.before and not rel.startswith(("weights/", "runs/"))]
        assert not new, f"files appeared outside weights/ and runs/: {new}"
        st_ = self.canary.stat()
        assert st_.st_atime == 1_000_000_000, "the canary outside weights/ and runs/ was read"
        from explorer.weights import read_meta

        for rel in self.before:  # the cards may have gained metrics, but each still opens as a checkpoint
            if rel.startswith("weights/") and rel.count("/") == 1 and rel.endswith(".json"):
                read_meta(self.root / rel)


def _stand_in_trainer() -> subprocess.Popen:
    """A process the job manager takes for a running trainer (its command line names explorer.train)
    that ignores the Stop button's SIGINT, so the job slot stays taken for the whole module."""
    code = ("import os, signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nparent = os.getppid()\n"
            "while os.getppid() == parent:\n    time.sleep(0.5)\n")  # and it ends with the test process
    return subprocess.Popen([sys.executable, "-c", code, "explorer.train"], start_new_session=True)


def make_root(root: Path, tmp: Path) -> Fuzz:
    weights, runs = root / "weights", root / "runs"
    for d in (weights, runs, root / "outside", tmp):
        d.mkdir(parents=True, exist_ok=True)
    make_tiny_checkpoint(weights / TINY_NAME)
    make_tiny_progan_checkpoint(weights / TINY_PROGAN_NAME)
    make_tiny_stylegan_checkpoint(weights / TINY_STYLEGAN_NAME)
    make_tiny_stylegan_checkpoint(weights / TINY_CONDITIONAL_NAME, classes=TINY_CLASSES)  # its class pickers too
    done = runs / "done"
    (done / "snapshots").mkdir(parents=True)
    make_tiny_checkpoint(done / "snapshots" / "snapshot-000001", train={"kimg": 1.0, "data": "faces",
                                                                          "recipe": "dcgan"})
    (done / "config.json").write_text(json.dumps({"recipe": "dcgan", "kimg": 1.0}))
    (done / "status.json").write_text(json.dumps({"state": "finished"}))
    stand_in = _stand_in_trainer()
    busy = runs / "busy"
    busy.mkdir()
    (busy / "config.json").write_text(json.dumps({"recipe": "dcgan", "kimg": 5.0}))
    (busy / "status.json").write_text(json.dumps({"state": "running", "pid": stand_in.pid}))
    secret = root / "outside" / "secret.recipe.json"  # a file a client might try to name as an upload
    secret.write_text(json.dumps({"format": 1}))
    os.utime(secret, (1_000_000_000, time.time()))
    files = _upload_files(tmp / "uploads")
    canary = root / "canary.txt"
    canary.write_text("canary: nothing may read or write this file")
    os.utime(canary, (1_000_000_000, time.time()))  # atime < mtime: the next read moves atime (relatime)
    names = [TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN_NAME, TINY_CONDITIONAL_NAME, "run: done", "done", "busy"]
    return Fuzz(root, tmp, names, files, stand_in, _tree(root))


def _upload_files(folder: Path) -> list[str]:
    """Damaged and hostile uploads; the recipes the app saves are added by the fixtures."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    recipe = {"format": 1, "tab": "generate", "model": "../../canary.txt", "sha256": "0" * 64, "seeds": [0]}
    files = {"empty.json": b"", "garbage.png": os.urandom(2048), "not-json.json": b"{\"format\": 1, ",
             "traversal.recipe.json": json.dumps(recipe).encode(),
             "nan.recipe.json": json.dumps(dict(recipe, model=TINY_NAME, truncation_psi=math.nan)).encode(),
             "seeds.recipe.json": json.dumps(dict(recipe, model=TINY_NAME, seeds=list(range(100_000)))).encode(),
             "deep.recipe.json": b"[" * 100_000 + b"]" * 100_000,
             "fake.pt": b"PK\x03\x04" + os.urandom(512), "pickle.pkl": b"\x80\x04cos\nsystem\n."}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with zipfile.ZipFile(folder / "images.zip", "w") as z:
        z.writestr("../../escape.png", b"not an image")
        z.writestr("a.png", b"")
    return sorted(str(p) for p in folder.iterdir())


def _atime_detects_reads(folder: Path) -> bool:
    probe = folder / "atime-probe"
    probe.write_text("x")
    os.utime(probe, (1_000_000_000, time.time()))
    probe.read_text()
    return probe.stat().st_atime != 1_000_000_000


# --- layer (a): in process -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The app built over its own watched folder, its event functions by api_name."""
    import torch

    import app

    base = tmp_path_factory.mktemp("fuzz-local")
    ctx = make_root(base / "root", base / "tmp")
    if not _atime_detects_reads(ctx.tmp):
        pytest.skip("this file system does not record reads (noatime); the canary cannot tell")
    old_cache = os.environ.get("GAN_EXPLORER_CACHE")
    os.environ["GAN_EXPLORER_CACHE"] = str(ctx.tmp / "cache")
    threads = torch.get_num_threads()
    demo = app.create_app(app.parse_args(["--weights", str(ctx.root / "weights"), "--runs", str(ctx.root / "runs"),
                                          "--device", "cpu"]))
    torch.set_num_threads(threads)
    fns = {f.api_name: f for f in demo.fns.values() if f.fn is not None}
    # The recipes the app saves, with each control at its default, are valid uploads.
    for save in ("generate_recipe_save", "progan_recipe_save", "style_recipe_save", "edit_recipe_save",
                 "interp_recipe_save"):
        paths, _ = fns[save].fn(*_with(fns[save]))
        ctx.files += paths
    ctx.before = _tree(ctx.root)
    try:
        yield ctx, demo, fns
    finally:
        ctx.stand_in.kill()
        ctx.stand_in.wait()
        if old_cache is None:
            os.environ.pop("GAN_EXPLORER_CACHE", None)
        else:
            os.environ["GAN_EXPLORER_CACHE"] = old_cache


def _call(fn, args, timeout_s: float = CALL_TIMEOUT_S):
    """fn(*args) in a daemon thread: (result, exception); a call still running after timeout_s fails."""
    box = {}

    def target():
        try:
            box["result"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported to the test
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout_s)
    assert not t.is_alive(), f"the call hung (over {timeout_s:g} s)"
    return box.get("result"), box.get("error")


def _check_outcome(result, error, allowed_dirs: list[Path]):
    if error is not None:
        assert isinstance(error, gr.Error), f"{type(error).__name__}: {str(error)[:300]}"  # not a sentence for the user
        msg = str(error.message)
        assert msg.strip() and "Traceback" not in msg and len(msg) < 2000, msg[:300]
        return
    for value in result if isinstance(result, (tuple, list)) else [result]:
        if isinstance(value, np.ndarray):
            assert value.dtype == np.uint8, value.dtype
        if isinstance(value, str) and value.startswith("/") and "\n" not in value and len(value) < 500:
            p = Path(value).resolve()
            if p.is_file():  # a returned file lies under the temp folders, never under weights/ or runs/
                assert any(p.is_relative_to(d) for d in allowed_dirs), p


def _examples(name: str, n: int) -> int:
    return max(2, int(n * SLOW.get(name, 1.0) * SCALE))


def _fuzz_in_process(ctx: Fuzz, fns: dict, name: str, n: int):
    import tempfile

    fn = fns[name]
    allowed = [Path(tempfile.gettempdir()).resolve(), ctx.tmp.resolve()]
    strategy = st.tuples(*(component_values(b, ctx, server=False) for b in fn.inputs))

    @settings(max_examples=_examples(name, n), derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(args):
        _check_outcome(*_call(fn.fn, args), allowed)

    run()
    ctx.check_folder()
    grid, _ = fns["generate"].fn(TINY_NAME, "0-3", 1.0)  # and it still renders
    assert grid.shape[0] > 0 and grid.std() > 0


@pytest.mark.parametrize("name", ENDPOINTS)
def test_handler_answers_hostile_input(local, name):
    ctx, _, fns = local
    _fuzz_in_process(ctx, fns, name, IN_PROCESS_EXAMPLES)


def test_private_handlers_answer_hostile_input(local):
    """Events without a public name (page load, chained steps) are still reachable by fn_index."""
    ctx, _, fns = local
    private = [n for n, f in fns.items() if f.api_visibility == "private"]
    assert private
    for name in private:
        _fuzz_in_process(ctx, fns, name, 6)


def test_every_public_endpoint_is_fuzzed(local):
    _, demo, _ = local
    public = {name.lstrip("/") for name in demo.get_api_info()["named_endpoints"]}
    assert public == set(ENDPOINTS), (f"new: {sorted(public - set(ENDPOINTS))}, gone: {sorted(set(ENDPOINTS) - public)}; "
                                      "list every public endpoint in ENDPOINTS in tests/ui/test_fuzz.py")


# --- layer (b): a launched server ------------------------------------------------------------------


@dataclass
class Server:
    url: str
    ctx: Fuzz
    proc: subprocess.Popen
    log: Path
    offset: int = 0

    def new_log(self) -> str:
        """The server's output since the last call."""
        data = self.log.read_bytes()
        text, self.offset = data[self.offset:].decode(errors="replace"), len(data)
        return text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def final_exceptions(log: str) -> list[str]:
    """The exception line that ends each traceback in `log`; causes of a later exception are left out."""
    out = []
    for chunk in log.split("Traceback (most recent call last):")[1:]:
        lines = chunk.splitlines()
        exc = next((ln for ln in lines[1:] if ln and not ln[0].isspace()), "")
        rest = chunk[chunk.find(exc) + len(exc):]
        if "The above exception was the direct cause" in rest or "During handling of the above exception" in rest:
            continue
        out.append(exc)
    return out


# What the server may raise: our gr.Error, or Gradio refusing an input before our function runs (a value
# of the wrong type, a file path that was not uploaded, a malformed file description).
ALLOWED_EXCEPTIONS = ("gradio.exceptions.Error: ", "gradio.exceptions.ComponentProcessingError: Could not preprocess",
                      "gradio.exceptions.InvalidPathError: ")


def _allowed(exc: str) -> bool:
    return exc.startswith(ALLOWED_EXCEPTIONS) or (
        exc.startswith("pydantic_core._pydantic_core.ValidationError: ") and exc.endswith(" for FileData"))


def _boot(base: Path) -> tuple[Fuzz, subprocess.Popen, Path, str]:
    ctx = make_root(base / "root", base / "tmp")
    for d in ("gradio", "tmp", "cache"):
        (ctx.tmp / d).mkdir()
    env = dict(os.environ, GRADIO_TEMP_DIR=str(ctx.tmp / "gradio"), TMPDIR=str(ctx.tmp / "tmp"),
               GAN_EXPLORER_CACHE=str(ctx.tmp / "cache"), OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONPATH=str(REPO))
    port, log = _free_port(), base / "server.log"
    with open(log, "wb") as out:  # the app's cwd is the watched folder, as a checkout's is for `python app.py`
        proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--weights", str(ctx.root / "weights"),
                                 "--runs", str(ctx.root / "runs"), "--port", str(port), "--device", "cpu"],
                                cwd=ctx.root, env=env, stdout=out, stderr=subprocess.STDOUT)
    return ctx, proc, log, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(local, tmp_path_factory):
    ctx, proc, log, url = _boot(tmp_path_factory.mktemp("fuzz-server"))
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"the app exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the app did not answer in 180 s: {log.read_text()[-3000:]}"
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        ctx.before = _tree(ctx.root)
        yield Server(url, ctx, proc, log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ctx.stand_in.kill()
        ctx.stand_in.wait()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=str(server.ctx.tmp / "downloads"))


def _predict(client, name: str, args, timeout_s: float = CALL_TIMEOUT_S):
    """(result, AppError or None); a hang or any other failure fails the test."""
    from gradio_client.exceptions import AppError

    job = client.submit(*args, api_name="/" + name)
    try:
        return job.result(timeout=timeout_s), None
    except AppError as e:
        return None, e
    except TimeoutError:
        pytest.fail(f"/{name} did not answer in {timeout_s:g} s")


def _check_server(server: Server, error) -> None:
    if error is not None:
        assert str(error).strip(), "an error without a message"
    log = server.new_log()
    bad = [e for e in final_exceptions(log) if not _allowed(e)]
    assert not bad, f"the server raised {bad[:3]}:\n{log[-3000:]}"
    assert server.proc.poll() is None, "the server died"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_server_answers_hostile_input(local, server, client, name):
    _, _, fns = local
    blocks = [b for b in fns[name].inputs if not b.skip_api]
    strategy = st.tuples(*(component_values(b, server.ctx, server=True) for b in blocks))
    server.new_log()

    @settings(max_examples=_examples(name, SERVER_EXAMPLES), derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(args):
        _check_server(server, _predict(client, name, args)[1])

    run()
    server.ctx.check_folder()
    grid, error = _predict(client, "generate", (TINY_NAME, "0-3", 1.0))  # and it still renders
    assert error is None and Path(grid[0] if isinstance(grid, tuple) else grid).is_file()


# --- the API is safe to expose ---------------------------------------------------------------------


def _fn_index(server: Server, api_name: str) -> int:
    deps = httpx.get(server.url + "config", timeout=10).json()["dependencies"]
    return next(d["id"] for d in deps if d.get("api_name") == api_name)


def _raw_call(server: Server, api_name: str, data: list, timeout_s: float = CALL_TIMEOUT_S) -> dict:
    """Join the queue by hand (as any HTTP client can, with values gradio_client would not send, such
    as NaN or a file path that was never uploaded); the process_completed message."""
    session = os.urandom(6).hex()
    body = json.dumps({"data": data, "fn_index": _fn_index(server, api_name), "session_hash": session,
                       "event_data": None, "trigger_id": None})  # json.dumps writes NaN as NaN
    r = httpx.post(server.url + "gradio_api/queue/join", content=body,
                   headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    with httpx.stream("GET", server.url + "gradio_api/queue/data", params={"session_hash": session},
                      timeout=timeout_s) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    pytest.fail(f"/{api_name} never completed")


def test_the_queue_cannot_be_bypassed(server, client):
    """queue(api_open=False): a direct POST to the run/predict routes is refused, so no request skips
    the queue's size and concurrency limits; queued calls through gradio_client still work."""
    for route in ("gradio_api/run/generate", "gradio_api/api/generate", "gradio_api/run/metrics_measure"):
        r = httpx.post(server.url + route, json={"data": [TINY_NAME, "0-3", 1.0]}, timeout=10)
        assert r.status_code == 404 and "join the queue" in r.json()["detail"], (route, r.status_code, r.text)
    grid, error = _predict(client, "generate", (TINY_NAME, "0-3", 1.0))
    assert error is None and Path(grid[0]).is_file()
    _check_server(server, None)


def test_uploads_over_the_limit_are_refused(server):
    """max_file_size (ui/app.py LAUNCH_OPTIONS) is enforced by the server: 413 before any handler runs."""
    from explorer.ui.import_panel import UPLOAD_MAX_BYTES

    big = server.ctx.tmp / "big.pt"
    with open(big, "wb") as f:
        f.truncate(UPLOAD_MAX_BYTES + 1)  # sparse: costs no disk
    with open(big, "rb") as f:
        r = httpx.post(server.url + "gradio_api/upload", files={"files": ("big.pt", f)}, timeout=60)
    assert r.status_code == 413, (r.status_code, r.text[:200])
    r = httpx.post(server.url + "gradio_api/upload", files={"files": ("small.pt", b"x" * 1000)}, timeout=10)
    assert r.status_code == 200 and len(r.json()) == 1
    _check_server(server, None)


def test_file_paths_that_were_not_uploaded_are_refused(server):
    """A file input names a path: only files uploaded through the server are accepted, never one
    elsewhere on its disk (the canary, a file in its cwd, /etc/passwd), by absolute or ../ path."""
    secret = server.ctx.root / "outside" / "secret.recipe.json"
    for api, path, extra in (("generate_recipe_load", str(secret), []), ("generate_recipe_load", "outside/secret.recipe.json", []),
                             ("edit_recipe_load", "../root/outside/secret.recipe.json", []),
                             ("import_checkpoint", "/etc/passwd", ["x"]), ("generate_recipe_load", str(server.ctx.canary), [])):
        msg = _raw_call(server, api, [{"path": path, "meta": {"_type": "gradio.FileData"}}, *extra])
        assert msg["success"] is False and msg["output"]["error"], msg
    assert secret.stat().st_atime == 1_000_000_000, "a file outside the uploads was read"
    _check_server(server, None)
    server.ctx.check_folder()


def test_nan_from_a_raw_client_is_refused(server):
    """JSON from a raw client may carry NaN (gradio_client refuses to send it; Gradio's slider range
    check lets it through): the handlers answer with a sentence, never a NaN picture."""
    for api, data in (("generate", [TINY_NAME, "0-3", math.nan, 0]),  # 0: the (hidden) class picker ("progan_render", [TINY_PROGAN_NAME, "0", 1, math.nan]),
                      # "seed": the From picker; the last None: the session's record of the pictures shown (a
                      # gr.State; the page sends null)
                      ("edit_render", [TINY_NAME, 0, math.nan] + ["(none)", 0.0, None] * 8 + ["seed", 0, None]),
                      ("interp_preview", [TINY_NAME, "Keyframes", "0, 1", "w", "linear", 4, math.nan, "(none)", 0.0, 0,
                                          0]),
                      ("metrics_measure", [TINY_NAME, ["kid"], math.nan, ["lite0"]]),
                      ("train_snapshot", ["done", math.nan])):
        msg = _raw_call(server, api, data)
        assert msg["success"] is False and "nan" in msg["output"]["error"].lower(), (api, msg)
    _check_server(server, None)


def test_names_from_the_browser_never_become_paths(server, client):
    """Model, run, direction and import names and recipe files with ../ in them, through the real server:
    refused or looked up as plain names; nothing outside weights/ and runs/ is touched."""
    from gradio_client import handle_file

    calls = [("generate", (NAMES[0], "0-3", 1.0), "no longer there"),
             ("progan_render", ("../weights/tiny-progan", "0", 1, 1.0), "no longer there"),
             ("train_status", ("../runs/done",), "not a run name"),
             ("train_snapshot", ("../../canary.txt", 0), "not a run name"),
             ("train_stop", ("..",), "not a run name"),
             ("train_resume", ("../done", 2, "cpu"), "not a run name"),
             ("metrics_history", ("run: ../../canary.txt",), None),
             ("edit_render", (TINY_NAME, 0, 1.0, "../../../canary", 1.0, "All (w0–w0)", *["(none)", 0.0, None] * 7),
              "is not saved"),
             ("interp_preview", (TINY_NAME, "Keyframes", "0, 1", "w", "linear", 4, 1.0, "../../x", 1.0, 0), "is not saved"),
             ("import_checkpoint", (handle_file(next(f for f in server.ctx.files if f.endswith(".pt"))), "../../canary"),
              "cannot be a model name"),
             ("generate_recipe_load", (handle_file(next(f for f in server.ctx.files if "traversal" in f)),),
              "not installed here")]
    for api, args, words in calls:
        result, error = _predict(client, api, args)
        if words is not None:
            assert error is not None and words in str(error), (api, result, error)
        _check_server(server, error)
    # A direction saved under a hostile name stays beside its model, under a flat key.
    table, *_ = _predict(client, "edit_find", (TINY_NAME, "Difference of means", 1, None, None, [], "0-3", "4-7",
                                               "../../../canary.txt"))[0]
    assert "../../../canary.txt" in table
    saved = sorted(p.relative_to(server.ctx.root).as_posix() for p in (server.ctx.root / "weights").rglob("*.json")
                   if "directions" in p.parent.name)
    assert "weights/tiny.directions/canary-txt.json" in saved, saved
    server.ctx.check_folder()


# --- request-cost limits (explorer/limits.py) -------------------------------------------------------


def _with(fn, **by_elem_id):
    """fn's arguments: each input's default value, or the value given for its elem_id (- for _)."""
    given = {k.replace("_", "-"): v for k, v in by_elem_id.items()}
    assert set(given) <= {b.elem_id for b in fn.inputs}, set(given) - {b.elem_id for b in fn.inputs}
    return [given.get(b.elem_id, b.value) for b in fn.inputs]


LIMITS = [  # (endpoint, inputs by elem_id, the words of the refusal)
    ("generate", dict(gen_seeds="1-100000000"), "Too many images per grid: at most 64 at once; you asked for 100000000."),
    ("generate", dict(gen_seeds="0-63, 100-199"), "at most 64 at once; you asked for 164."),
    ("generate", dict(gen_seeds="1," * 5000), "The seed list is 10000 characters long; at most 2000."),
    ("generate", dict(gen_model="m" * 10_000), "Model is 10000 characters long; at most 200."),
    ("progan_render", dict(pg_seeds="0-99"), "Too many images per view: at most 16 at once; you asked for 100."),
    ("style_matrix", dict(sg_rows="0-1000"), "Too many A seeds (rows): at most 8 at once; you asked for 1001."),
    ("style_matrix", dict(sg_cols="5-50"), "Too many B seeds (columns): at most 8 at once; you asked for 46."),
    ("style_variation", dict(sg_k=10_000), "Number of renders must be a whole number from 2 to 16; you asked for 10000."),
    ("interp_preview", dict(ip_frames=10_000), "Frames must be a whole number from 2 to 600; you asked for 10000."),
    ("interp_gif", dict(ip_frames=10_000), "Frames must be a whole number from 2 to 600; you asked for 10000."),
    ("interp_mp4", dict(ip_keys="0-99"), "Too many keyframe seeds: at most 16 at once; you asked for 100."),
    ("edit_find", dict(ed_method="Difference of means", ed_seeds_a="0-100000"),
     "Too many seeds in group A: at most 64 at once; you asked for 100001."),
    ("edit_find", dict(ed_k=1000), "Number of directions must be a whole number from 1 to 32; you asked for 1000."),
    ("metrics_measure", dict(mt_n=10**9), "Samples must be a whole number from 2 to 20000; you asked for 1000000000."),
]


@pytest.mark.parametrize("name, given, words", LIMITS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LIMITS)])
def test_costly_requests_are_refused_naming_the_limit(local, name, given, words):
    _, _, fns = local
    t0 = time.perf_counter()
    with pytest.raises(gr.Error) as e:
        fns[name].fn(*_with(fns[name], **given))
    assert words in str(e.value.message), e.value.message
    assert time.perf_counter() - t0 < 5.0, "refused only after doing the work"


def test_the_controls_offer_what_the_limits_allow(local):
    from explorer import limits

    _, demo, _ = local
    blocks = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert blocks["sg-k"].maximum == limits.VARIATIONS and blocks["ip-frames"].maximum == limits.FRAMES
    assert blocks["mt-n"].maximum == limits.METRIC_SAMPLES and blocks["ed-k"].maximum == limits.DIRECTIONS_FOUND
    from explorer.ui import generate_tab, progan_tab

    assert (generate_tab.MAX_SEEDS, progan_tab.MAX_SEEDS) == (limits.GRID_IMAGES, limits.PROGAN_IMAGES)


def test_an_export_of_a_large_model_is_capped_by_its_pixels(tmp_path):
    """A GIF/MP4 holds every frame in memory: 600 frames of 256 px are allowed, of 1024 px only as many
    as fit in the same pixel budget, refused before any frame is rendered."""
    import torch

    from explorer.models import build_generator
    from explorer.ui import interp_tab
    from explorer.ui.services import Services
    from explorer.weights import save_generator

    (tmp_path / "weights").mkdir()
    config = {"res": 1024, "channels": 3, "z_dim": 8, "fmap_base": 16, "fmap_max": 4, "fmap_min": 4}
    save_generator(tmp_path / "weights" / "big", build_generator("progan", config), "progan", config,
                   {"kimg": 1, "data": "faces", "recipe": "progan"})
    services = Services(tmp_path / "weights", tmp_path / "runs", torch.device("cpu"))
    t0 = time.perf_counter()
    with pytest.raises(gr.Error, match=r"At most 37 frames of 1024×1024 px per export; you asked for 600\."):
        interp_tab.export(services, "gif", "big", "Keyframes", "0, 1", "z", "linear", 600, 1.0, "(none)", 0.0, 24)
    assert time.perf_counter() - t0 < 5.0


def test_a_server_folder_name_too_long_for_the_disk_is_a_sentence(local):
    """Found by FUZZ_SCALE=10: a folder path with a 300-character part made is_dir() raise ENAMETOOLONG."""
    from explorer.ui.train_tab import FOLDER

    _, _, fns = local
    with pytest.raises(gr.Error, match="File name too long"):
        fns["train_start"].fn(*_with(fns["train_start"], tr_data=FOLDER, tr_folder="/tmp/" + "x" * 300))

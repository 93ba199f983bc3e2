"""Soak the launched app: N simulated users dragging sliders on the explorer tabs while a job trains.

    python bench/load_app.py                          # 8 users, 120 s, the shipped weights/
    python bench/load_app.py --users 2 --seconds 10 --weights DIR --no-train

What it does, as a user would:
1. Copies --weights (default: the shipped weights/) into a temp folder, so that the directions the
   Edit tab finds are saved there and not beside the shipped checkpoints, and launches
   `python app.py --host 127.0.0.1 --port <free> --weights <copy> --runs <temp runs>` as a
   subprocess; waits until it serves.
2. Starts a tiny training job through the Train tab's API endpoint (/train_start: a DCGAN on MNIST
   at 16 px, as the Train tab's form sends it) and waits until it trains. --no-train skips it.
3. Finds SeFa directions on the first StyleGAN model through the Edit tab's /edit_find, so that the
   Edit tab's strength slider has a direction to move along.
4. Runs N processes for T seconds (one per user, so they share no GIL; --client-nice lowers their
   priority), each with its own gradio_client.Client; it fetches each new picture an answer names
   over one kept-alive connection, as the page does. A user visits the tabs in
   turn (each user starting at a different one) and drags one of its sliders: a burst of --burst renders with random values, sent with
   sequential `predict` calls. That is what the page sends during a drag: every live render event
   is trigger_mode="always_last", so the browser keeps at most one render of a slider in flight and
   sends the latest value when it returns. Between bursts a user pauses (--think seconds, random).
   Endpoints: /generate_psi (Generate tab, truncation slider, 4 seeds), /progan_render (stage and
   alpha sliders, seeds 0-3), /style_render (a style-mixing slider or truncation) and /edit_render
   (a direction's strength). The total is bounded by --seconds and --max-requests.
5. Reads the run's log.jsonl for the kimg trained before and after the soak, stops the job through
   /train_stop, waits for it to stop, and ends the app (SIGINT, then SIGTERM/SIGKILL if it hangs).

Prints one JSON object: requests and errors (with their messages) per endpoint, p50/p95/p99
latency per endpoint in seconds (the client's wall time: queueing, render and fetching the new pictures),
the job's kimg at the soak's start and end, and the settings. Everything listens on and talks to
127.0.0.1 only."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout, no install needed
    sys.path.insert(0, str(ROOT))
ENDPOINTS = ("generate_psi", "progan_render", "style_render", "edit_render", "inspect_render", "playground_settings")
EDIT_SLOTS = 8       # explorer.ui.edit_tab.SLOTS
STYLE_WS = 18        # explorer.ui.stylegan_tab.MAX_WS
STYLE_LAYERS = 18    # explorer.ui.stylegan_tab.MAX_LAYERS
JOB = "soak"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks; None for no values."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _layers(meta: dict) -> list[str]:
    """The Inspect tab's layer keys of a checkpoint that run at the stage it was trained to (built on the
    meta device: no weights read)."""
    import torch

    from explorer.models import build_generator

    try:
        with torch.device("meta"):
            G = build_generator(meta["arch"], meta["config"])
    except (TypeError, ValueError, KeyError):
        return []
    keys = [k for k, _ in G.feature_layers()]
    stage = meta.get("train", {}).get("stage")
    if G.capabilities.progressive and stage is not None:  # 4x4 is one layer, each later stage two
        keys = keys[:1 + 2 * int(stage)]
    return keys


def shipped_models(weights: Path) -> dict[str, list[dict]]:
    """{"all": [...], "progan": [...], "stylegan": [...]} from the checkpoints' .json files:
    each {"name", "res", "stage"}; the name is the file stem, as the model pickers list it."""
    out: dict[str, list[dict]] = {"all": [], "progan": [], "stylegan": []}
    for meta in sorted(weights.glob("*.json")):
        try:
            d = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        if "arch" not in d or not meta.with_suffix(".safetensors").exists():
            continue
        cfg, train = d.get("config", {}), d.get("train", {})
        m = {"name": meta.stem, "res": cfg.get("res"), "stage": train.get("stage"), "layers": _layers(d),
             "classes": int(cfg.get("c_dim", 0) or 0)}
        out["all"].append(m)
        if d["arch"] in out:
            out[d["arch"]].append(m)
    return out


# --- the app and the job ----------------------------------------------------------------------


class App:
    """`python app.py` in a subprocess over `weights` and `runs`, on 127.0.0.1:<free port>."""

    def __init__(self, weights: Path, runs: Path, workdir: Path, threads: int = 1, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = workdir / "app.log"
        self.cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(self.port),
                    "--weights", str(weights), "--runs", str(runs), "--device", "cpu", "--threads", str(threads)]
        self.env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(workdir / "gradio"),
                        **(env or {}))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> "App":
        import httpx

        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=str(ROOT), env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "config", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the app did not serve {self.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGINT (as Ctrl-C), then SIGTERM and SIGKILL if it hangs; the exit status."""
        if self.proc is None:
            return None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        self._log.close()
        return self.proc.returncode


def train_form(name: str, kimg: float = 10_000) -> list:
    """The Train tab's inputs in order: a tiny DCGAN on MNIST at 16 px, a log line every 0.25 kimg."""
    from explorer.train.jobs import all_option_names, recipe_options

    own = {o.name: o.default for o in recipe_options("dcgan")}
    own.update({"tick_kimg": 0.25, "snapshot_ticks": 1000, "sample_ticks": 1000, "num_samples": 16})
    boxes = ["" if own.get(n) is None else str(own[n]) for n in all_option_names()]
    return ["dcgan", "mnist", None, "", 16, 16, 2e-4, 2e-4, kimg, 0, "cpu", name, "ngf=8, ndf=8, z_dim=16", *boxes]


def wait_for(fn, what: str, timeout: float):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.25)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def log_kimg(runs: Path, name: str) -> tuple[float | None, int]:
    """(the last kimg in the run's log.jsonl, its number of records)."""
    last, n = None, 0
    try:
        lines = (runs / name / "log.jsonl").read_text().splitlines()
    except OSError:
        return None, 0
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line being written
        if "kimg" in rec:
            last, n = float(rec["kimg"]), n + 1
    return last, n


def end_job(runs: Path) -> None:
    """Should the soak fail before /train_stop, end the job it started (the job outlives the app)."""
    try:
        st = json.loads((runs / JOB / "status.json").read_text())
    except (OSError, ValueError):
        return
    if st.get("state") == "running" and st.get("pid"):
        try:
            os.kill(int(st["pid"]), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass


# --- simulated users ---------------------------------------------------------------------------


class Stats:
    def __init__(self, max_requests: int):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.max_requests = max_requests
        self.sent = 0

    def claim(self) -> bool:
        """One more request may be sent (the --max-requests bound)."""
        with self.lock:
            if self.sent >= self.max_requests:
                return False
            self.sent += 1
            return True

    def record(self, endpoint: str, seconds: float, error: str | None):
        with self.lock:
            if error is None:
                self.latency[endpoint].append(seconds)
            else:
                self.errors[endpoint][error[:300]] += 1


class Drags:
    """Random slider values for each endpoint, as one user's drags send them."""

    def __init__(self, models: dict, edit: dict | None, rng: random.Random):
        self.models, self.edit, self.rng = models, edit, rng

    def burst(self, endpoint: str, n: int) -> list[list]:
        r, out = self.rng, []
        if endpoint == "generate_psi":              # the truncation slider, the model, seeds and class fixed
            m = r.choice(self.models["all"])
            s, c = r.randrange(0, 1000), r.randrange(0, max(1, m["classes"]))
            return [[m["name"], f"{s}-{s + 3}", round(r.uniform(0.0, 1.5), 2), c] for _ in range(n)]
        if endpoint == "progan_render":             # stage or alpha
            m = r.choice(self.models["progan"])
            top = m["stage"] if m["stage"] is not None else 0
            stage = r.randint(0, top)
            drag_alpha = r.random() < 0.5
            return [[m["name"], "0-3", stage if drag_alpha else r.randint(0, top),
                     round(r.random(), 2) if drag_alpha else 1.0] for _ in range(n)]
        if endpoint == "style_render":              # one style-mixing slider, truncation, or StyleGAN3's transform
            m = r.choice(self.models["stylegan"])
            classes = [r.randrange(0, max(1, m["classes"])) for _ in range(2)]  # a conditional model's A and B
            m = m["name"]
            a, b = r.randrange(0, 1000), r.randrange(0, 1000)
            which = r.randrange(0, 10)
            for _ in range(n):
                mix = [0.0] * STYLE_WS
                psi, shift = 1.0, [0.0, 0.0, 0.0]   # translate x, y (image widths), rotate (degrees)
                if which < 6:
                    mix[which] = round(r.random(), 2)
                elif which < 8:
                    psi = round(r.uniform(-1.0, 1.5), 2)
                elif which == 8:                     # only a StyleGAN3 moves; the others ignore it
                    shift[0] = round(r.uniform(-0.5, 0.5), 2)
                else:
                    shift[2] = float(r.randint(-180, 180))
                out.append([m, a, b, *mix, psi, STYLE_WS, "const", 0, *([1.0] * STYLE_LAYERS), "seed", "seed", *shift,
                            *classes])
            return out
        if endpoint == "edit_render":               # a direction's strength
            e = self.edit
            seed = r.randrange(0, 1000)
            for _ in range(n):
                slots = [e["direction"], round(r.uniform(-3.0, 3.0), 1), e["span"]]
                slots += ["(none)", 0.0, e["span"]] * (EDIT_SLOTS - 1)
                out.append([e["model"], seed, 1.0, *slots, "seed"])
            return out
        if endpoint == "inspect_render":            # a part edit's strength, or a channel, on one layer
            m = r.choice([m for m in self.models["all"] if m["layers"]])
            layer = r.choice(m["layers"])
            seed, drag_channel = r.randrange(0, 1000), r.random() < 0.5
            for _ in range(n):
                view = "One channel" if drag_channel else r.choice(("All channels", "Spectrum of the layer"))
                out.append([m["name"], seed, 1.0, layer, view, r.randrange(0, 8) if drag_channel else 0, 1, 0.0, 1.0,
                            m["stage"] or 0, 1.0, "mouth", 8, "Switch off (zero)",
                            0.0 if drag_channel else round(r.random(), 2), 1.0, [0.5, 0.5]])
            return out
        if endpoint == "playground_settings":       # D steps per G step or label smoothing, dragged on the ring
            drag_steps = r.random() < 0.5
            for _ in range(n):
                out.append(["ring", 512, "bce", "non-saturating", 1e-3, 1e-3, r.randint(1, 5) if drag_steps else 1,
                            0.0 if drag_steps else round(r.uniform(0, 0.4), 2), 10.0, 0.0, 32, 2, 2,
                            0.0, 0.0, 0.0, 0.5, 0.9, 64, 3])
            return out
        raise ValueError(endpoint)


def fetch_pictures(http, out) -> int:
    """GET every file an answer names, as the page fetches each new picture (a picture the page
    already shows comes back as a value-less update and is not fetched). The number fetched; an
    error for a status other than 200 or a file that is not a PNG."""
    n = 0
    for o in out if isinstance(out, (tuple, list)) else [out]:
        if isinstance(o, dict) and o.get("url"):
            r = http.get(o["url"])
            if r.status_code != 200 or not r.content.startswith(b"\x89PNG"):
                raise RuntimeError(f"GET {o['url']} gave {r.status_code}, {len(r.content)} bytes")
            n += 1
    return n


def user(url: str, drags: Drags, endpoints: list[str], stats: Stats, deadline: float, burst: int,
         think: tuple[float, float], first: int = 0):
    import httpx
    from gradio_client import Client

    try:
        # The pictures are fetched over one kept-alive connection, as a browser does, not through
        # gradio_client's downloads: those cost it ~24 ms of CPU per file (hashing, copying into its
        # cache), on the same 2 cores as the app (118 ms per /style_render against 57 ms).
        client = Client(url, verbose=False, download_files=False)
        http = httpx.Client(timeout=60.0)
    except Exception as e:  # noqa: BLE001 - a user that cannot connect is an error to report
        stats.record("connect", 0.0, f"{type(e).__name__}: {e}")
        return
    r = drags.rng
    turn = first
    while time.monotonic() < deadline:
        # Tabs in turn, each user starting at its own: every endpoint is driven even in a short soak.
        endpoint = endpoints[turn % len(endpoints)]
        turn += 1
        for args in drags.burst(endpoint, r.randint(max(1, burst - 2), burst + 2)):
            if time.monotonic() >= deadline or not stats.claim():
                return
            t0 = time.perf_counter()
            try:
                fetch_pictures(http, client.predict(*args, api_name=f"/{endpoint}"))
                stats.record(endpoint, time.perf_counter() - t0, None)
            except Exception as e:  # noqa: BLE001 - every failure is counted, with its message
                stats.record(endpoint, time.perf_counter() - t0, f"{type(e).__name__}: {e}")
        time.sleep(r.uniform(*think))
    http.close()
    if hasattr(client, "close"):
        client.close()


def user_process(out, budget: int, nice: int, client_cpu, url: str, drags: Drags, *args):
    """One simulated user in a process of its own: eight users in threads of one process shared
    one GIL, and each request costs gradio_client ~85 ms of Python, so the users queued for the GIL
    and their latency grew with it. nice > 0 lets the app come first on shared cores, as it would
    where the users' browsers are on other machines. Sends (latency, errors) back through `out`."""
    if nice:
        os.nice(nice)
    stats = Stats(budget)
    try:
        user(url, drags, *args[:1], stats, *args[1:])
    finally:
        with client_cpu.get_lock():
            client_cpu.value += time.process_time()
        out.put((dict(stats.latency), {k: dict(v) for k, v in stats.errors.items()}))


def prepare_edit(client, models: dict) -> dict | None:
    """Open the first StyleGAN model in the Edit tab and find SeFa directions on it."""
    if not models["stylegan"]:
        return None
    model = models["stylegan"][0]["name"]
    out = client.predict(model, 0, 1.0, api_name="/edit_select")
    span = out[2]["value"] if isinstance(out[2], dict) else out[2]   # slot 1's layer range: "All (w0-wN)"
    client.predict(model, "SeFa (closed form)", 4, span, None, [], "0-7", "8-15", "", api_name="/edit_find")
    return {"model": model, "direction": "sefa #0", "span": span}


def app_settings(weights: Path, runs: Path) -> dict:
    """The queue settings the app is built with (explorer.ui.app.build_app over the same folders,
    not launched): the queue's size and default limit, and each driven endpoint's own limit."""
    import torch

    from explorer.ui.app import build_app
    from explorer.ui.services import Services

    demo = build_app(Services(str(weights), str(runs), torch.device("cpu")))
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    limits = {fn.api_name: fn.concurrency_limit for fn in fns if fn.api_name in (*ENDPOINTS, "train_poll")}
    return {"queue_max_size": demo._queue.max_size,
            "default_concurrency_limit": demo._queue.default_concurrency_limit, "concurrency_limit": limits,
            "concurrency_id": {fn.api_name: fn.concurrency_id for fn in fns if fn.api_name in ENDPOINTS}}


def soak(users: int, seconds: float, max_requests: int, weights: Path, train: bool = True, burst: int = 5,
         think: tuple[float, float] = (0.3, 1.0), threads: int = 1, seed: int = 0, read_settings: bool = True,
         client_nice: int = 0) -> dict:
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix="gan-explorer-soak-"))
    try:
        wcopy, runs = work / "weights", work / "runs"
        shutil.copytree(weights, wcopy)
        runs.mkdir()
        models = shipped_models(wcopy)
        endpoints = ["generate_psi"] + (["progan_render"] if models["progan"] else []) + \
            (["style_render", "edit_render"] if models["stylegan"] else []) + ["inspect_render", "playground_settings"]
        t_settings = time.monotonic()
        settings = app_settings(wcopy, runs) if read_settings else {}
        settings["read_s"] = round(time.monotonic() - t_settings, 1)
        app = App(wcopy, runs, work, threads=threads)
        t_launch = time.monotonic()
        app.start()
        launch_s = time.monotonic() - t_launch
        result: dict = {}
        admin = None
        try:
            admin = Client(app.url, verbose=False, download_files=str(work / "admin"))
            job: dict = {"started": False}
            if train:
                notice, _ = admin.predict(*train_form(JOB), api_name="/train_start")
                job["notice"] = notice
                wait_for(lambda: log_kimg(runs, JOB)[1] > 0, "the job's first log line", 120)
                job["started"] = True
                job["start_s"] = round(time.monotonic() - t_launch - launch_s, 1)
            t_edit = time.monotonic()
            edit = prepare_edit(admin, models)
            edit_s = time.monotonic() - t_edit
            stats = Stats(max_requests)
            kimg0, n0 = log_kimg(runs, JOB)
            app_cpu0, load0 = cpu_seconds(app.proc.pid), os.getloadavg()[0]
            ctx = multiprocessing.get_context("fork")
            results, client_cpu_total = ctx.Queue(), ctx.Value("d", 0.0)
            t0 = time.monotonic()
            deadline = t0 + seconds
            rng = random.Random(seed)
            procs = [ctx.Process(target=user_process, daemon=True,
                                 args=(results, -(-max_requests // users), client_nice, client_cpu_total, app.url,
                                       Drags(models, edit, random.Random(rng.random())), endpoints, deadline, burst,
                                       think, i * len(endpoints) // users))
                     for i in range(users)]
            for p in procs:
                p.start()
            for _ in procs:
                try:
                    latency, errors = results.get(timeout=seconds + 120)
                except queue.Empty:
                    break
                for e, v in latency.items():
                    stats.latency[e].extend(v)
                for e, v in errors.items():
                    stats.errors[e].update(v)
            for p in procs:
                p.join(timeout=10)
            hung = sum(p.is_alive() for p in procs)
            for p in procs:
                if p.is_alive():
                    p.kill()
            elapsed = time.monotonic() - t0
            app_cpu, client_cpu = cpu_seconds(app.proc.pid) - app_cpu0, client_cpu_total.value
            kimg1, n1 = log_kimg(runs, JOB)
            if train:
                job.update(kimg_start=kimg0, kimg_end=kimg1, kimg_during_soak=None if kimg0 is None or kimg1 is None
                           else round(kimg1 - kimg0, 3), log_records_during_soak=n1 - n0,
                           kimg_per_min=None if kimg0 is None or kimg1 is None
                           else round((kimg1 - kimg0) * 60 / elapsed, 3))
                t_stop = time.monotonic()
                admin.predict(JOB, api_name="/train_stop")
                wait_for(lambda: admin.predict(JOB, api_name="/train_status")["state"] != "running", "the job to stop",
                         120)
                job["state_after_stop"] = admin.predict(JOB, api_name="/train_status")["state"]
                job["stop_s"] = round(time.monotonic() - t_stop, 1)
            per = {}
            for e in sorted(set(stats.latency) | set(stats.errors)):
                lat = stats.latency.get(e, [])
                errs = stats.errors.get(e, Counter())
                per[e] = {"requests": len(lat) + sum(errs.values()), "ok": len(lat), "errors": sum(errs.values()),
                          "p50_s": _r(percentile(lat, 50)), "p95_s": _r(percentile(lat, 95)),
                          "p99_s": _r(percentile(lat, 99)), "max_s": _r(max(lat) if lat else None),
                          "error_messages": dict(errs)}
            result = {"requests": sum(p["requests"] for p in per.values()),
                      "errors": sum(p["errors"] for p in per.values()),
                      "hung_users": hung, "elapsed_s": round(elapsed, 1),
                      "requests_per_s": round(sum(p["requests"] for p in per.values()) / elapsed, 2),
                      # CPU the server spent per answered request (all its threads; the training job
                      # is its own process, not counted), and what the simulated users themselves
                      # took from the same cores: latency depends on load, CPU per request much less.
                      "cpu": {"app_cpu_s": round(app_cpu, 1),
                              "app_cpu_ms_per_request": round(1000 * app_cpu / max(1, sum(p["ok"] for p in per.values())), 1),
                              "client_cpu_s": round(client_cpu, 1), "load_at_start": round(load0, 2),
                              "load_at_end": round(os.getloadavg()[0], 2)},
                      "endpoints": per, "training": job,
                      "settings": {"users": users, "seconds": seconds, "max_requests": max_requests,
                                   "burst": burst, "think_s": list(think), "app_threads": threads,
                                   "client_nice": client_nice, "user_processes": users,
                                   "train_threads": int(os.environ.get("GAN_EXPLORER_TRAIN_THREADS", "1")),
                                   "cpus": os.cpu_count(), "weights": str(weights),
                                   "models": {k: [m["name"] for m in v] for k, v in models.items()},
                                   "edit": edit, "app_launch_s": round(launch_s, 1),
                                   "edit_find_s": round(edit_s, 1), "app": settings}}
        finally:
            end_job(runs)
            if admin is not None:  # its heartbeat stream is an open request the server would wait for on shutdown
                admin.close()
            t_exit = time.monotonic()
            result["app_exit"] = app.stop()
            result["app_exit_s"] = round(time.monotonic() - t_exit, 1)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--max-requests", type=int, default=50_000, help="stop once this many requests were sent")
    p.add_argument("--weights", type=Path, default=ROOT / "weights", help="checkpoints to serve (copied first)")
    p.add_argument("--burst", type=int, default=5, help="renders per drag (each burst is this +-2)")
    p.add_argument("--think", type=float, nargs=2, default=(0.3, 1.0), metavar=("MIN", "MAX"),
                   help="seconds a user pauses between drags")
    p.add_argument("--threads", type=int, default=1, help="the app's --threads")
    p.add_argument("--no-train", action="store_true", help="no training job during the soak")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--client-nice", type=int, default=0,
                   help="niceness of the simulated users' processes (e.g. 5: the app comes first on shared cores, "
                        "as where the browsers are other machines)")
    a = p.parse_args(argv)
    out = soak(a.users, a.seconds, a.max_requests, a.weights.resolve(), train=not a.no_train, burst=a.burst,
               think=tuple(a.think), threads=a.threads, seed=a.seed, client_nice=a.client_nice)
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0 if out.get("errors") == 0 and not out.get("hung_users") else 1


if __name__ == "__main__":
    sys.exit(main())

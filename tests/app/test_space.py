"""Hugging Face Space readiness: the front matter, the CPU torch, and where the app listens."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n"), "README.md must open with the Space's YAML front matter"
    block = text[4:text.index("\n---\n", 4)]
    return {k.strip(): v.strip().strip('"') for k, v in (line.split(":", 1) for line in block.splitlines())}


def _pin(file: str, package: str) -> str:
    for line in (ROOT / file).read_text().splitlines():
        m = re.fullmatch(rf"{package}==([\w.+]+)", line.strip())
        if m:
            return m.group(1)
    raise AssertionError(f"{file} does not pin {package}")


def test_front_matter_names_the_sdk_the_requirements_pin():
    fm = _front_matter()
    assert fm["sdk"] == "gradio"
    assert fm["sdk_version"] == _pin("requirements.txt", "gradio")
    assert fm["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (ROOT / fm["app_file"]).is_file()
    assert fm["suggested_hardware"] == "cpu-basic"  # the free 2-vCPU Space


def test_a_space_installs_the_cpu_build_of_the_pinned_torch_first():
    pre = (ROOT / "pre-requirements.txt").read_text().splitlines()
    assert "--index-url https://download.pytorch.org/whl/cpu" in pre
    assert _pin("pre-requirements.txt", "torch") == _pin("requirements.txt", "torch")
    # requirements.txt itself names no other index: a PyPI-only machine installs it without retries.
    assert not [line for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.strip().startswith("--")]


def test_the_app_listens_on_localhost_unless_it_runs_on_a_space(monkeypatch):
    import app

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert app.parse_args([]).host == "127.0.0.1"
    monkeypatch.setenv("SPACE_ID", "someone/gan-explorer")
    assert app.parse_args([]).host == "0.0.0.0"
    assert app.parse_args(["--host", "127.0.0.1"]).host == "127.0.0.1"


def _outward_address() -> str | None:
    """This machine's address on its first non-loopback interface (nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


@pytest.mark.parametrize("space", [True, False], ids=["SPACE_ID set", "no SPACE_ID"])
def test_launched_app_binds_as_a_space_does(space, tmp_path):
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no non-loopback address to test the binding with")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SPACE_ID", "GRADIO_SERVER_NAME")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", OMP_NUM_THREADS="1")
    if space:
        env["SPACE_ID"] = "someone/gan-explorer"
    (tmp_path / "weights").mkdir()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--weights",
                             str(tmp_path / "weights"), "--runs", str(tmp_path / "runs")],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _reachable("127.0.0.1", port):
            assert proc.poll() is None, "the app exited before it served"
            assert time.monotonic() < deadline, "the app did not serve within 60 s"
            time.sleep(0.3)
        assert _reachable(outward, port) == space
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("host,allowed", [("127.0.0.1", True), ("0.0.0.0", False)])
def test_server_folders_are_offered_for_training_only_when_the_app_is_local(host, allowed, monkeypatch, tmp_path):
    """Listening beyond this machine, the Train tab must not train on (and show) any folder the
    server can read; uploads and the built-in data stay."""
    import app
    from explorer.train.jobs import JobError, JobSpec

    for var in ("GAN_EXPLORER_SERVER_PATHS", "SPACE_ID", "GRADIO_SERVER_NAME"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "weights").mkdir()
    args = app.parse_args(["--host", host, "--weights", str(tmp_path / "weights"), "--runs", str(tmp_path / "runs")])
    jobs = app.create_services(args).jobs
    assert jobs.allow_server_paths is allowed
    assert "GAN_EXPLORER_SERVER_PATHS" not in os.environ  # the setting reaches the job manager, not the environment
    if not allowed:
        with pytest.raises(JobError, match="does not read folders on its disk"):
            jobs.validate(JobSpec(recipe="dcgan", data=str(tmp_path), res=16, kimg=1))

"""The job manager (explorer.train.jobs) and the checks on uploaded zips (explorer.train.datasets).

The lifecycle tests launch real `python -m explorer.train` processes on a tiny DCGAN (MNIST at
16 px, a few seconds each); the browser-facing side is in test_train_tab.py."""

from __future__ import annotations

import os
import signal

import pytest

from helpers.jobs import bad_uploads, make_zip, png_bytes, tiny_spec, wait_for

from explorer.train import recipes
from explorer.train.datasets import DatasetError, extract_upload
from explorer.train.jobs import BusyError, JobError, JobManager, JobSpec, Option, all_option_names, \
    parse_option, recipe_options


# --- png and zip makers (shared with test_train_tab.py) ------------------------------------------


# --- options -----------------------------------------------------------------------------------


def test_each_recipe_offers_its_own_options():
    names = {r: {o.name for o in recipe_options(r)} for r in recipes.TRAINING_RECIPES}
    assert {"n_critic", "gp_lambda"} <= names["wgan-gp"]
    assert {"fade_kimg", "stable_kimg", "drift"} <= names["progan"] and "r1_gamma" not in names["progan"]
    assert {"r1_gamma", "style_mixing"} <= names["stylegan"] and "pl_weight" not in names["stylegan"]
    assert {"pl_weight", "r1_gamma", "style_mixing"} <= names["stylegan2"]
    for r, opts in names.items():
        assert {"lr_g", "batch", "kimg", "arch", "model"}.isdisjoint(opts), r  # the form has those
        assert set(opts) <= set(all_option_names())
    gp = next(o for o in recipe_options("wgan-gp") if o.name == "gp_lambda")
    assert gp.default == 10.0 and gp.kind == "float" and "penalty" in gp.help  # help is the field's comment


@pytest.mark.parametrize("recipe", list(recipes.TRAINING_RECIPES))
def test_every_recipe_is_launchable_with_its_defaults(tmp_path, recipe):
    """The form filled with a recipe's own defaults (as the tab shows them) makes a valid config."""
    options = {o.name: parse_option(o, "" if o.default is None else str(o.default)) for o in recipe_options(recipe)}
    cfg = JobManager(tmp_path).validate(JobSpec(recipe, "faces", 32, 1.0, options=options))
    assert cfg.recipe == recipe and cfg.arch == recipes.TRAINING_RECIPES[recipe]["arch"]


def test_a_recipe_added_later_brings_its_options(monkeypatch):
    monkeypatch.setitem(recipes.TRAINING_RECIPES, "toy", dict(arch="dcgan", loss="bce", r1_gamma=3.0, label_flip=0.1,
                                                     model={}))
    opts = {o.name: o.default for o in recipe_options("toy")}
    assert opts["r1_gamma"] == 3.0 and opts["label_flip"] == 0.1
    assert "label_flip" in all_option_names()


@pytest.mark.parametrize("change, words", [
    (dict(res=12), "power of two"),
    (dict(res=8), "DCGAN res must be a power of two between 16 and 256"),
    (dict(kimg=-1), "must be positive"),
    (dict(batch=0), "must be positive"),
    (dict(options={"n_critic": 0}), "n_critic must be at least 1"),
    (dict(device="tpu"), "Unknown device 'tpu'"),
    (dict(model={"ngf": 8, "colour": 2}), "unknown fields ['colour']"),
    (dict(data="/no/such/folder"), "is not a folder or .zip"),
    (dict(name="../escape"), "Run name '../escape'"),
    (dict(recipe="nope"), "Unknown recipe 'nope'"),
])
def test_invalid_values_are_refused_with_what_is_allowed(tmp_path, change, words):
    spec = tiny_spec("x")
    for k, v in change.items():
        setattr(spec, k, v)
    with pytest.raises(JobError, match=None) as e:
        JobManager(tmp_path / "runs").start(spec)
    assert words in str(e.value)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_parse_option_says_what_is_allowed():
    n_critic = next(o for o in recipe_options("wgan-gp") if o.name == "n_critic")
    assert parse_option(n_critic, "3") == 3
    for bad, words in (("three", "must be a number"), ("2.5", "whole number"), ("", "needs a value"),
                       ("nan", "finite")):
        with pytest.raises(JobError, match=words):
            parse_option(n_critic, bad)
    flag = Option("augment_shared", "bool", False, False, "")
    assert parse_option(flag, "true") is True and parse_option(flag, "False") is False
    with pytest.raises(JobError, match="true or false"):
        parse_option(flag, "maybe")
    ema = next(o for o in recipe_options("progan") if o.name == "ema_kimg")
    assert parse_option(ema, "") is None  # optional: empty = None (no G_ema)


# --- uploads -----------------------------------------------------------------------------------


def test_upload_writes_flat_names_and_skips_unreadable_images(tmp_path):
    zp = make_zip(tmp_path / "ok.zip", {"a/b/one.png": png_bytes(seed=1), "two.PNG": png_bytes(seed=2),
                                        "broken.png": b"not a png", "__MACOSX/._one.png": b"junk", "notes.txt": b"x"})
    report = extract_upload(zp, tmp_path / "data")
    assert report.images == 2 and report.skipped == 1 and "broken.png" in report.skipped_examples[0]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["000000.png", "000001.png"]
    assert (tmp_path / "data" / "000000.png").read_bytes() == png_bytes(seed=1)


@pytest.mark.parametrize("case", ["not a zip", "no images", "traversal", "symlink", "zip bomb", "huge image",
                                  "corrupt image"])
def test_bad_uploads_are_refused_and_leave_nothing(tmp_path, case):
    path, words = bad_uploads(tmp_path / "uploads")[case]
    with pytest.raises(DatasetError) as e:
        extract_upload(path, tmp_path / "out" / "data")
    assert words in str(e.value)
    assert not (tmp_path / "out" / "data").exists()
    assert not (tmp_path / "evil.png").exists() and not (tmp_path.parent / "evil.png").exists()


def test_upload_total_size_is_capped(tmp_path):
    members = {f"{i}.png": png_bytes(64, seed=i) for i in range(4)}  # ~12 KiB each, incompressible
    with pytest.raises(DatasetError, match="decompresses to more than"):
        extract_upload(make_zip(tmp_path / "big.zip", members), tmp_path / "data", max_total_bytes=30_000)
    assert not (tmp_path / "data").exists()


def test_a_refused_upload_leaves_no_run(tmp_path):
    jobs = JobManager(tmp_path / "runs")
    path, _ = bad_uploads(tmp_path / "uploads")["traversal"]
    with pytest.raises(DatasetError, match="unsafe path"):
        jobs.start(tiny_spec("up", data="upload", upload=str(path)))
    assert list((tmp_path / "runs").iterdir()) == []


# --- the lifecycle, with real training processes ----------------------------------------------------


def test_an_app_restart_reattaches_and_one_job_runs_at_a_time(tmp_path):
    jobs = JobManager(tmp_path / "runs", sample_sec=0.5)
    name = jobs.start(tiny_spec("first"))
    try:
        wait_for(lambda: jobs.status(name).state == "running" and jobs.status(name).kimg > 0, "the first tick")
        # The process was given the validated config's argv: its config.json is that config.
        assert jobs.run_dir(name).read_config() == jobs.validate(tiny_spec("first"))
        with pytest.raises(BusyError, match="already running: first") as e:
            jobs.start(tiny_spec("second"))
        assert e.value.run == "first" and not (tmp_path / "runs" / "second").exists()
        # A new manager (an app restart) knows the job only from its run directory.
        again = JobManager(tmp_path / "runs")
        st = again.status(name)
        assert st.state == "running" and st.pid == jobs.status(name).pid and again.active() == [name]
        again.stop(name)
        wait_for(lambda: jobs.status(name).state == "stopped", "the stop")
        assert (tmp_path / "runs" / name / "samples" / "latest.png").is_file()
    finally:
        _kill(jobs, name)


def test_a_folder_with_no_usable_image_is_refused_before_the_job_starts(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.png").write_bytes(b"not a picture")
    jobs = JobManager(tmp_path / "runs")
    with pytest.raises(JobError, match=r"No usable image.*x.png: not a readable image"):
        jobs.start(tiny_spec("bad", data=str(empty)))
    assert jobs.runs() == [] and not (tmp_path / "runs" / "bad").exists()


def test_a_builtin_dataset_that_is_missing_is_refused_with_the_command_that_fixes_it(tmp_path, monkeypatch):
    from explorer.train.datasets import mnist

    monkeypatch.setattr(mnist, "MNIST_FILE", tmp_path / "gone.npz")
    with pytest.raises(JobError, match="git checkout -- explorer/train/datasets/builtin"):
        JobManager(tmp_path / "runs").start(tiny_spec("nodata", data="mnist"))
    assert not (tmp_path / "runs" / "nodata").exists()


def test_a_start_that_fails_leaves_no_run(tmp_path, monkeypatch):
    """A folder that passed the check and then lost its images (the check is skipped here to stand in
    for that): the process fails, and no run is left behind."""
    import explorer.train.jobs as jobs_module

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.png").write_bytes(b"not a picture")
    monkeypatch.setattr(jobs_module, "check_readable", lambda path: None)
    jobs = JobManager(tmp_path / "runs")
    name = jobs.start(tiny_spec("bad", data=str(empty)))
    st = wait_for(lambda: (s := jobs.status(name)).state == "crashed" and s, "the failed start")
    assert "No usable image" in st.error
    assert not (tmp_path / "runs" / name).exists()


def _kill(jobs: JobManager, name: str) -> None:
    """Clean-up: end the test's own job if it still runs."""
    st = jobs.status(name)
    if st.pid and st.state in ("starting", "running"):
        os.kill(st.pid, signal.SIGKILL)


def test_a_job_longer_or_wider_than_the_limits_is_refused_with_them_named(tmp_path):
    from explorer import limits

    jobs = JobManager(tmp_path / "runs")
    with pytest.raises(JobError, match=f"at most {limits.TRAIN_KIMG:,} kimg.*you asked for 1e\\+09 kimg"):
        jobs.validate(JobSpec(recipe="dcgan", data="faces", res=16, kimg=1e9))
    with pytest.raises(JobError, match="batch 100000"):
        jobs.validate(JobSpec(recipe="dcgan", data="faces", res=16, kimg=1, batch=100_000))
    jobs.validate(JobSpec(recipe="dcgan", data="faces", res=16, kimg=1, batch=64))


def test_a_run_name_with_a_trailing_newline_is_refused(tmp_path):
    jobs = JobManager(tmp_path / "runs")
    with pytest.raises(JobError, match="Run name"):
        jobs.validate(JobSpec(recipe="dcgan", data="faces", res=16, kimg=1, name="run\n"))

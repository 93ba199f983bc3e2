"""Conditional StyleGAN2 training on tiny configs: StyleGAN2-ADA's projection D (c_dim = 0 unchanged), classes
from the data (MNIST digits, emoji categories, a folder's sub-folders), the Trainer passing them through every
phase, snapshots that name their classes, exact resume, the refusals, and the torchrun path."""

from __future__ import annotations

import copy
import json
import os

import pytest
import torch
from helpers import spawn_ranks
from helpers.jobs import make_zip, png_bytes

from explorer.models import build_discriminator, build_generator
from explorer.models import stylegan, stylegan3
from explorer.train.__main__ import main as train_main
from explorer.train.datasets import DatasetError, ImageDataset, class_names_of, extract_upload, load_dataset
from explorer.train.jobs import JobError, JobManager, JobSpec
from explorer.train.loop import Trainer
from explorer.train.options import config_argv
from explorer.train.recipes import make_train_config
from explorer.train.run import RunDir
from explorer.weights import load_generator

# A small StyleGAN2 at 16 px: builds and steps in milliseconds.
TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}
TINY_FLAGS = ["--z-dim", "16", "--model-opt", "w_dim=16", "--model-opt", "mapping_layers=2",
              "--model-opt", "channel_base=128", "--model-opt", "channel_max=16"]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist", 16, size=200)


def cond_cfg(**kw):
    kw.setdefault("batch", 8)
    return make_train_config("stylegan2", res=16, channels=1, model={**TINY, **kw.pop("model", {})}, data="mnist",
                             data_size=200, conditional=True, **kw)


# --------------------------------------------------------------------------- the discriminator
# Today's unconditional D (seed 0, stylegan.TINY) on randn(4, 3, 16, 16) from seed 1, before conditioning
# existed: an unconditional D must keep these keys and logits, so its checkpoints and runs resume.
D_KEYS = ["from_rgb.weight", "from_rgb.bias", "blocks.0.conv0.weight", "blocks.0.conv0.bias", "blocks.0.conv1.weight",
          "blocks.0.conv1.bias", "blocks.0.skip.weight", "blocks.1.conv0.weight", "blocks.1.conv0.bias",
          "blocks.1.conv1.weight", "blocks.1.conv1.bias", "blocks.1.skip.weight", "conv.weight", "conv.bias",
          "fc.weight", "fc.bias", "out.weight", "out.bias"]
D_LOGITS = [-0.6865497827529907, -0.3586427569389343, -0.4016798734664917, -0.13137218356132507]


def _d(config: dict, seed: int = 0):
    torch.manual_seed(seed)
    return build_discriminator("stylegan", config)


def test_an_unconditional_d_keeps_its_keys_parameters_and_outputs():
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    D = _d(stylegan.TINY)
    assert list(D.state_dict()) == D_KEYS and sum(p.numel() for p in D.parameters()) == 13401
    assert torch.allclose(D(x), torch.tensor(D_LOGITS), atol=1e-5, rtol=0)
    explicit = _d({**stylegan.TINY, "c_dim": 0})  # c_dim = 0 given is the same build, bit for bit
    for (k, a), (k2, b) in zip(D.state_dict().items(), explicit.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert torch.equal(D(x), explicit(x))
    # A conditional D from the same seed draws the same shared weights; only its head and class mapping differ.
    cond = _d({**stylegan.TINY, "c_dim": 3}).state_dict()
    assert set(cond) - set(D_KEYS) == {f"mapping.{n}" for n in ("embed.weight", "embed.bias", "fcs.0.weight",
                                                                 "fcs.0.bias", "fcs.1.weight", "fcs.1.bias")}
    for k in D_KEYS:
        if not k.startswith("out."):
            assert torch.equal(cond[k], D.state_dict()[k]), k
    with pytest.raises(ValueError, match="unconditional: it takes no classes"):
        D(x, torch.zeros(4, dtype=torch.long))


def test_a_conditional_d_projects_on_the_class():
    D = _d({**stylegan.TINY, "c_dim": 3})
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    by_class = torch.stack([D(x, torch.full((4,), k)) for k in range(3)])  # [3, 4]
    assert by_class.shape == (3, 4) and torch.isfinite(by_class).all()
    assert (by_class[0] - by_class[1]).abs().min() > 1e-4 and (by_class[1] - by_class[2]).abs().min() > 1e-4
    c = torch.tensor([2, 0, 1, 2])
    assert torch.allclose(D(x, c), D(x, torch.nn.functional.one_hot(c, 3).float()))  # indices = one-hot rows
    # The head is the projection: logit = (features . cmap) / sqrt(cmap_dim).
    feats = {}
    D.out.register_forward_hook(lambda m, i, o: feats.setdefault("h", o))
    logits = D(x, c)
    cmap = D.mapping(c, 4)
    assert D.cmap_dim == stylegan.StyleGANConfig(**stylegan.TINY).width(4)
    assert torch.allclose(logits, (feats["h"] * cmap).sum(1) / D.cmap_dim ** 0.5)
    with pytest.raises(ValueError, match="conditional on 3 classes"):
        D(x)


def test_stylegan3_models_get_the_same_conditional_d():
    cfg = {**stylegan3.TINY, "c_dim": 2}
    torch.manual_seed(0)
    D = build_discriminator("stylegan3", cfg)
    G = build_generator("stylegan3", cfg)
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        img = G.synthesis(G.mapping(z, torch.tensor([0, 1])))
        assert D(img, torch.tensor([0, 1])).shape == (2,)
    assert list(build_discriminator("stylegan3", stylegan3.TINY).state_dict())[-2:] == ["out.weight", "out.bias"]


# --------------------------------------------------------------------------- classes from the data
def test_mnist_and_emoji_carry_named_classes():
    ds = load_dataset("mnist", 16, size=300)
    assert ds.class_names == tuple("0123456789") and ds.classes.dtype == torch.int64
    assert torch.equal(ds.classes, ds.labels[:, 0].long())  # the digit, as the subset reorders it
    emoji = load_dataset("emoji", 16)
    assert emoji.class_names == ("face", "animal", "food") and torch.equal(emoji.classes, emoji.labels.argmax(1))
    assert set(emoji.classes.tolist()) == {0, 1, 2}
    assert class_names_of("mnist") == list("0123456789") and class_names_of("emoji") == ["face", "animal", "food"]


def _class_folder(root, layout: dict[str, int]):
    """root/NAME/i.png for each {NAME: count} (NAME "" = directly in root)."""
    for name, count in layout.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / name / f"{i}.png").write_bytes(png_bytes(12, seed=hash((name, i)) % 1000))
    return root


def test_a_folder_s_sub_folders_are_its_classes_only_when_asked(tmp_path):
    root = _class_folder(tmp_path / "pets", {"dog": 3, "cat": 2, "cat/kitten": 1})
    (root / "dog" / ".hidden.png").write_bytes(b"not read")
    plain = load_dataset(str(root), 16)
    assert plain.classes is None and len(plain) == 6  # an unconditional run reads the images alone
    ds = load_dataset(str(root), 16, classes=True)
    assert ds.class_names == ("cat", "dog")  # sorted names; a sub-sub-folder belongs to its class
    assert ds.classes.tolist() == [0, 0, 0, 1, 1, 1] and class_names_of(root) == ["cat", "dog"]
    # The same folder zipped (so inside a folder of its own, with macOS's copies) has the same classes.
    members = {f"pets/{p.relative_to(root).as_posix()}": p.read_bytes() for p in sorted(root.rglob("*.png"))}
    members["__MACOSX/pets/dog/._0.png"] = b"resource fork"
    zipped = make_zip(tmp_path / "pets.zip", members)
    zds = load_dataset(str(zipped), 16, classes=True)
    assert zds.class_names == ds.class_names and torch.equal(zds.classes, ds.classes) and zds.skipped == 0
    assert torch.equal(zds.images, ds.images)
    # An upload keeps its class folders, so the run's copy has the same classes.
    report = extract_upload(zipped, tmp_path / "up", classes=True)
    assert report.images == 6 and sorted(p.name for p in (tmp_path / "up").iterdir()) == ["cat", "dog"]
    assert load_dataset(str(tmp_path / "up"), 16, classes=True).classes.tolist() == [0, 0, 0, 1, 1, 1]
    extract_upload(zipped, tmp_path / "flat")
    assert sorted(p.name for p in (tmp_path / "flat").iterdir())[0] == "000000.png"  # without classes: flat, as before


@pytest.mark.parametrize("layout, words", [
    ({"": 4}, "has no sub-folders, so its images have no classes"),
    ({"cat": 3}, "holds one class only (its images are all in 'cat')"),
    ({"cat": 2, "dog": 2, "": 1}, "1 image(s) in"),
])
def test_a_folder_without_two_classes_is_refused_with_what_to_do(tmp_path, layout, words):
    root = _class_folder(tmp_path / "imgs", layout)
    for check in (lambda: load_dataset(str(root), 16, classes=True), lambda: class_names_of(root)):
        with pytest.raises(DatasetError) as e:
            check()
        assert words in str(e.value)
    zipped = make_zip(tmp_path / "imgs.zip", {p.relative_to(root).as_posix(): p.read_bytes()
                                              for p in root.rglob("*.png")})
    with pytest.raises(DatasetError, match="class"):
        extract_upload(zipped, tmp_path / "up", classes=True)
    assert not (tmp_path / "up").exists()


def test_fakes_draw_their_classes_from_the_data_s_own_distribution():
    imgs = torch.zeros(100, 1, 16, 16, dtype=torch.uint8)
    classes = torch.tensor([0] * 90 + [2] * 10)
    ds = ImageDataset(imgs, "skewed", classes=classes, class_names=("a", "b", "c"))
    tr = Trainer(cond_cfg(), ds)
    assert tr.cfg.model["c_dim"] == 3 and tr.cfg.model["class_names"] == ["a", "b", "c"]
    drawn = tr._fake_classes(20_000)
    assert set(drawn.tolist()) == {0, 2} and abs((drawn == 2).float().mean().item() - 0.1) < 0.01


# --------------------------------------------------------------------------- the Trainer
def test_every_phase_passes_the_classes(digits):
    """Reals go to D with their own classes, fakes with the classes they were drawn as, style mixing maps both
    z with one class, and w_avg is tracked."""
    tr = Trainer(cond_cfg(style_mixing=1.0), digits)
    sampler = copy.deepcopy(tr.sampler)
    d_calls, maps = [], []
    tr.D.register_forward_pre_hook(lambda m, args: d_calls.append(args[1].clone()))
    mapping = tr.G.mapping
    tr.G.mapping = lambda z, c=None, **kw: maps.append(c.clone()) or mapping(z, c, **kw)
    w_avg = tr.G.w_avg.clone()
    out = tr.train_step()
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values()) and "r1" in out and "pl" in out
    assert torch.equal(d_calls[0], digits.classes[sampler.next(8)])  # phase D: the real batch's classes
    assert torch.equal(d_calls[1], maps[0]) and torch.equal(maps[0], maps[1])  # the fakes': mixed in one class
    assert torch.equal(d_calls[2], maps[2]) and torch.equal(maps[2], maps[3])  # phase G likewise
    assert len(d_calls) == 3 and len(maps) == 6  # + the path-length batch's two mappings
    assert not torch.equal(tr.G.w_avg, w_avg) and torch.isfinite(tr.G.w_avg).all()


def test_a_tiny_conditional_run_writes_a_snapshot_that_names_and_draws_its_classes(digits, tmp_path):
    cfg = cond_cfg(kimg=0.032, tick_kimg=0.016, num_samples=20)
    run = RunDir(tmp_path / "run").create(cfg)
    tr = Trainer(cfg, digits, run=run)
    assert tr.fit() == "done"
    (kimg, snap), *_ = reversed(run.list_snapshots())
    G, meta = load_generator(snap)
    assert meta["config"]["c_dim"] == 10 and meta["config"]["class_names"] == list("0123456789")
    assert G.c_dim == 10 and G.cfg.class_names == list("0123456789")
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(3)).repeat(10, 1)
    with torch.no_grad():
        imgs = G.synthesis(G.mapping(z, torch.arange(10)))
    assert all((imgs[i] - imgs[j]).abs().max() > 1e-3 for i in range(10) for j in range(i))
    assert json.loads(run.config_path.read_text())["conditional"] is True
    assert torch.load(run.resume_path, weights_only=True)["config"]["model"]["class_names"] == list("0123456789")


def test_a_conditional_run_resumes_exactly(digits, tmp_path):
    cfg = cond_cfg(r1_interval=2, pl_interval=2)
    unbroken = Trainer(cfg, digits)
    for _ in range(3):
        unbroken.train_step()
    expected = unbroken.train_step()
    first = Trainer(cfg, digits)
    for _ in range(3):
        first.train_step()
    first.run = RunDir(tmp_path / "run").create(first.cfg)
    first.save_resume()
    state = first.run.load_resume()
    resumed = Trainer(make_train_config_from(state["config"]), digits)  # the config as saved, classes and all
    resumed.load_state_dict(state)
    assert resumed.train_step() == expected
    for a, b in zip(unbroken.D.parameters(), resumed.D.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(unbroken.G_ema.parameters(), resumed.G_ema.parameters()):
        assert torch.equal(a, b)


def make_train_config_from(d: dict):
    from explorer.train.recipes import TrainConfig

    return TrainConfig.from_dict(d)


# --------------------------------------------------------------------------- the CLI and the refusals
def test_the_cli_trains_and_resumes_a_conditional_run(tmp_path, capsys):
    out = tmp_path / "digits"
    common = ["--batch", "8", "--tick-kimg", "0.016", "--num-samples", "10", "--no-progress"]
    assert train_main(["--recipe", "stylegan2", "--data", "mnist", "--data-size", "100", "--res", "16",
                       "--conditional", "--kimg", "0.016", *TINY_FLAGS, *common, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["conditional"] and config["model"]["class_names"] == list("0123456789")
    assert train_main(["--resume", str(out), "--kimg", "0.032", "--no-progress"]) == 0
    assert [r["kimg"] for r in RunDir(out).read_log()] == [0.016, 0.032]
    G, meta = load_generator(RunDir(out).list_snapshots()[-1][1])
    assert G.c_dim == 10 and meta["train"]["kimg"] == 0.032
    capsys.readouterr()


@pytest.mark.parametrize("args, words", [
    (["--recipe", "progan", "--data", "mnist"], "The progan recipe cannot train a conditional model: ProGAN's"),
    (["--recipe", "dcgan", "--data", "mnist"], "DCGAN's discriminator takes no classes"),
    (["--recipe", "projected-stylegan2", "--data", "mnist"], "Projected StyleGAN2's discriminator takes no classes"),
    (["--recipe", "stylegan2", "--data", "faces", "--data-size", "8"], "The procedural faces have no classes"),
    (["--recipe", "stylegan2", "--data", "FLAT"], "has no sub-folders, so its images have no classes"),
    (["--recipe", "stylegan2", "--data", "ONE"], "holds one class only"),
    (["--recipe", "stylegan2", "--data", "mnist", "--model-opt", "c_dim=3"], "c_dim and class_names come from the data"),
])
def test_the_cli_refuses_a_conditional_run_it_cannot_make_before_writing_anything(tmp_path, capsys, args, words):
    folders = {"FLAT": _class_folder(tmp_path / "flat", {"": 3}), "ONE": _class_folder(tmp_path / "one", {"cat": 3})}
    args = [str(folders.get(a, a)) for a in args]
    assert train_main([*args, "--res", "16", "--conditional", "--out", str(tmp_path / "run")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_asking_for_classes_without_the_conditional_option_is_refused():
    with pytest.raises(ValueError, match="turn on the conditional option"):
        make_train_config("stylegan2", res=16, channels=1, model={"c_dim": 10})
    cfg = make_train_config("stylegan2", res=16, channels=1, data="mnist", conditional=True)
    assert "--conditional" in config_argv(cfg)  # what the job manager launches


def test_the_job_manager_refuses_a_conditional_job_before_starting_it(tmp_path):
    jobs = JobManager(tmp_path / "runs")
    flat = _class_folder(tmp_path / "flat", {"": 2})
    cases = [(JobSpec("dcgan", "mnist", 16, 1.0, conditional=True), "DCGAN's discriminator takes no classes"),
             (JobSpec("stylegan2", "faces", 16, 1.0, conditional=True), "The procedural faces have no classes"),
             (JobSpec("stylegan2", str(flat), 16, 1.0, conditional=True), "has no sub-folders"),
             (JobSpec("stylegan2", "upload", 16, 1.0, conditional=True,
                      upload=str(make_zip(tmp_path / "flat.zip", {"a.png": png_bytes(), "b.png": png_bytes(seed=1)}))),
              "has no sub-folders")]
    for spec, words in cases:
        with pytest.raises(JobError) as e:
            jobs.start(spec)
        assert words in str(e.value)
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")
    cfg = jobs.validate(JobSpec("stylegan2", "emoji", 16, 1.0, conditional=True))
    assert cfg.conditional and cfg.arch == "stylegan"


# --------------------------------------------------------------------------- torchrun
def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    from explorer.train.loop import DistInfo

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        tr = Trainer(cond_cfg(), load_dataset("mnist", 16, size=200), dist_info=DistInfo(rank, world))
        sampler = copy.deepcopy(tr.sampler)
        seen = []
        tr.D.register_forward_pre_hook(lambda m, args: seen.append(args[1].clone()))
        for _ in range(2):
            tr.train_step()
        torch.save({"G": tr.G.state_dict(), "D": tr.D.state_dict(), "real_classes": seen[0],
                    "expected": tr.dataset.classes[sampler.next(4)]}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_train_one_conditional_model_on_their_own_shards(tmp_path):
    spawn_ranks(_worker, 2, str(tmp_path / "rdzv"), str(tmp_path), timeout=180)
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    for net in ("G", "D"):
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs between ranks"
    for r in (a, b):  # each rank's reals came with their own classes: half the global batch of 8 each
        assert torch.equal(r["real_classes"], r["expected"]) and len(r["expected"]) == 4

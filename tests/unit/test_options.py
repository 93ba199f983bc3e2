"""TrainConfig as the one source of the training options: the CLI's flags are its fields, the job manager's
argv is the validated config, and the two give the same TrainConfig back, for every recipe and for a
field that did not exist when this was written."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest

import explorer.train.__main__ as cli
from explorer.train import jobs, options, recipes
from explorer.train.jobs import JobManager, JobSpec
from explorer.train.options import (NO_FLAG, RESUME_FIELDS, config_argv, config_flag_names, default_channels,
                                    field_notes, field_type, flag, parse_option, recipe_options)
from explorer.train.recipes import TRAINING_RECIPES, TrainConfig


def parser_actions(parser) -> dict:
    return {a.dest: a for a in parser._actions}


def reparse(argv: list[str]) -> TrainConfig:
    """argv (as config_argv or the job manager writes it) -> the TrainConfig `python -m explorer.train` makes."""
    args = cli.build_parser().parse_args([*argv, "--out", "unused"])
    return cli._new_config(args, args.channels or default_channels(args.data or "mnist"))


def launched_argv(manager: JobManager, spec: JobSpec, monkeypatch) -> list[str]:
    """The argv JobManager.start gives the training process (captured instead of launched)."""
    seen = []
    monkeypatch.setattr(manager, "_launch", lambda name, args: seen.append(args))
    manager.start(spec)
    return seen[0]


def tab_spec(recipe: str, change: bool = False) -> JobSpec:
    """A JobSpec as the Train tab makes it: the recipe's own options from their boxes (the defaults the tab
    shows, or with `change` every one moved off its default), parsed as the tab parses them."""
    def box(o):
        v = o.default
        if change:
            if o.kind == "bool":
                v = not v
            elif o.optional and v is not None:
                v = None
            elif o.kind == "int":
                v = (v or 0) + 3
            elif o.kind == "float":
                v = v / 2 if v else 0.125
            elif o.name == "augment":
                v = "color,cutout" if v else "translation"
        return "" if v is None else json.dumps(v) if isinstance(v, (dict, list, bool)) else str(v)
    opts = {o.name: parse_option(o, box(o)) for o in recipe_options(recipe)}
    if not change:
        return JobSpec(recipe, "faces", 32, 1.0, options=opts, name=f"{recipe}-defaults")
    return JobSpec(recipe, "faces", 32, 1.2345678, batch=16, lr_g=3.3e-4, lr_d=1e-5, seed=7, options=opts,
                   model={"z_dim": 24}, name=f"{recipe}-changed")


# --- every field is a flag -----------------------------------------------------------------------------


def test_every_trainconfig_field_is_a_flag_with_its_type_and_its_comment():
    actions = parser_actions(cli.build_parser())
    notes = field_notes(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name in NO_FLAG:
            assert f.name not in actions
            continue
        a = actions[f.name]
        assert flag(f.name) in a.option_strings and a.default is None, f.name  # None: the recipe's value
        assert a.help.replace("%%", "%").startswith(notes[f.name]), f.name
        base, _ = field_type(TrainConfig, f.name)
        if base is bool:
            assert "--no-" + flag(f.name)[2:] in a.option_strings
        elif base in (int, float, str):
            assert a.type is base, f.name


def test_the_existing_flags_keep_their_names_types_and_meaning():
    actions = parser_actions(cli.build_parser())
    typed = {"res": int, "channels": int, "data_size": int, "kimg": float, "batch": int, "seed": int, "lr_g": float,
             "lr_d": float, "n_critic": int, "gp_lambda": float, "label_smoothing": float, "label_noise": float,
             "label_flip": float, "d_dropout": float, "ema_kimg": float, "ngf": int, "ndf": int, "z_dim": int,
             "fmap_base": int, "fmap_max": int, "drift": float, "fade_kimg": float, "stable_kimg": float,
             "r1_gamma": float, "r1_interval": int, "style_mixing": float, "pl_weight": float, "pl_interval": int,
             "ema_rampup": float, "num_samples": int, "tick_kimg": float, "sample_ticks": int,
             "snapshot_ticks": int, "sample_sec": float, "threads": int}
    for dest, kind in typed.items():
        assert actions[dest].type is kind and actions[dest].option_strings == [flag(dest)], dest
    assert actions["recipe"].choices == sorted(TRAINING_RECIPES) and actions["channels"].choices == [1, 3]
    assert actions["device"].default == "auto" and actions["no_progress"].default is False
    for dest in ("data", "out", "resume", "model_opt", "train_opt", "stage_batch"):
        assert flag(dest) in actions[dest].option_strings
    args = cli.build_parser().parse_args(["--stage-batch", "4:64,8:64,64:16", "--model-opt", "variant=adain",
                                          "--train-opt", "beta2=0.9", "--model-opt", "channel_max=64"])
    assert args.stage_batch == {"4": 64, "8": 64, "64": 16}
    assert args.model_opt == [("variant", "adain"), ("channel_max", 64)] and args.train_opt == [("beta2", 0.9)]


def test_every_field_set_by_flag_reaches_the_config():
    """Each flag, given a value off the recipe's default, lands in the TrainConfig the CLI makes."""
    base = recipes.make_train_config("stylegan2", res=32, channels=3, data="faces")
    for name in config_flag_names():
        if name in ("recipe", "data", "res", "channels", "loss"):
            continue
        v = getattr(base, name)
        base_type, _ = field_type(TrainConfig, name)
        new = {bool: lambda: not v, int: lambda: (v or 0) + 2, float: lambda: v / 2 if v else 0.125,
               str: lambda: "color", dict: lambda: {"8": 16}}[base_type]()
        cfg = dataclasses.replace(base, **{name: new})
        argv = config_argv(cfg)
        assert any(a.startswith(flag(name)) or a == "--no-" + flag(name)[2:] for a in argv), name
        assert reparse(argv) == cfg, name


def test_none_and_odd_strings_survive_the_argv():
    cfg = recipes.make_train_config("projected", res=32, channels=3, data="faces", ema_kimg=None, augment="",
                                    data_size=40, model={"backbone": "random"})
    argv = config_argv(cfg)
    assert ["--train-opt", "ema_kimg=null"] == argv[argv.index("ema_kimg=null") - 1:argv.index("ema_kimg=null") + 1]
    assert "--augment=" in argv and reparse(argv) == cfg
    grey = recipes.make_train_config("dcgan", res=32, channels=1, data="faces")
    assert "--channels" in config_argv(grey) and reparse(config_argv(grey)) == grey


def test_resume_refuses_every_field_but_the_resume_fields():
    refused = set(cli.new_run_flags())
    for name in config_flag_names():
        assert (name in refused) == (name not in RESUME_FIELDS), name
    assert {"ngf", "z_dim", "model_opt", "train_opt"} <= refused


# --- the round trip: Train tab -> validate -> argv -> parser -> TrainConfig ----------------------------------


@pytest.mark.parametrize("change", [False, True], ids=["defaults", "changed"])
@pytest.mark.parametrize("recipe", list(TRAINING_RECIPES))
def test_the_job_argv_gives_the_validated_config_back(tmp_path, monkeypatch, recipe, change):
    manager = JobManager(tmp_path / "runs")
    spec = tab_spec(recipe, change)
    validated = manager.validate(spec)
    argv = launched_argv(manager, spec, monkeypatch)
    assert argv[:2] == ["--out", str(tmp_path / "runs" / spec.name)] and argv[-2:] == ["--device", "auto"]
    assert reparse(argv[2:-2]) == validated
    if change:  # the spec's values are in it, exactly (kimg too: no rounding on the way)
        assert reparse(argv[2:-2]).kimg == 1.2345678 and validated.model["z_dim"] == 24


# --- a field added later --------------------------------------------------------------------------------


@dataclass
class LaterConfig(TrainConfig):
    warmup_kimg: float = 0.0         # kimg over which both learning rates ramp up from 0
    freeze_mapping: bool = False     # style-based models: the mapping network is not trained
    eval_every: int | None = None    # ticks between evaluations; None = never


@pytest.fixture
def later_config(monkeypatch):
    """TrainConfig with three more fields, wherever the training code reads it; nothing else changed."""
    for module in (recipes, options, jobs, cli):
        monkeypatch.setattr(module, "TrainConfig", LaterConfig)
    return LaterConfig


def test_a_field_added_later_is_a_flag_and_part_of_the_job_argv(tmp_path, monkeypatch, later_config):
    actions = parser_actions(cli.build_parser())
    assert actions["warmup_kimg"].type is float and actions["warmup_kimg"].help.startswith("kimg over which")
    assert "--no-freeze-mapping" in actions["freeze_mapping"].option_strings
    assert actions["eval_every"].type is int and "None = never" in actions["eval_every"].help
    assert {"warmup_kimg", "freeze_mapping", "eval_every"} <= set(cli.new_run_flags())  # --resume refuses them

    manager = JobManager(tmp_path / "runs")
    spec = JobSpec("stylegan", "faces", 32, 1.0, options={"warmup_kimg": 2.5, "freeze_mapping": True,
                                                         "eval_every": 3}, name="later")
    validated = manager.validate(spec)
    assert isinstance(validated, LaterConfig) and validated.warmup_kimg == 2.5
    argv = launched_argv(manager, spec, monkeypatch)
    assert {"--warmup-kimg", "2.5", "--freeze-mapping", "--eval-every", "3"} <= set(argv)
    assert reparse(argv[2:-2]) == validated

"""TrainConfig's fields as options, read from the dataclass itself: the Train tab's boxes (recipe_options,
parse_option), the flags of `python -m explorer.train` (add_config_flags: one per field, its type from the
annotation, its help from the field's comment) and the argv that makes a TrainConfig again (config_argv).
A field added to TrainConfig becomes a flag, a --resume refusal and a part of the job manager's argv with
no change here. No UI here."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import json
import math
import re
import typing

from ..models import ARCHITECTURES
from .losses import LOSSES
from .recipes import TRAINING_RECIPES, TrainConfig, make_train_config

# Fields the form shows for every recipe; the rest of a recipe's TRAINING_RECIPES entry is its own options.
FORM_FIELDS = ("batch", "lr_g", "lr_d", "kimg", "seed")
IDENTITY_FIELDS = ("arch", "loss", "model")  # what makes the recipe what it is: not options
# Options every recipe has: how often the run reports, and how much data it reads.
RUN_OPTIONS = ("tick_kimg", "snapshot_ticks", "sample_ticks", "num_samples", "data_size")

# TrainConfig fields without a flag: the architecture is the recipe's, its fields are --model-opt entries.
NO_FLAG = ("arch", "model")
# Fields a --resume may change (the rest come from the run's config.json), and what a new value does there.
RESUME_FIELDS = {"kimg": "a larger value extends the run",
                 "lr_g": "a new rate from there on (after a divergence)",
                 "lr_d": "a new rate from there on (after a divergence)",
                 "tick_kimg": "a new cadence from there on", "sample_ticks": "a new cadence from there on",
                 "snapshot_ticks": "a new cadence from there on"}
ALWAYS_IN_ARGV = ("recipe", "data", "res", "kimg", "seed")  # config_argv spells these out even at their defaults
# Architecture fields with a flag of their own (any other: --model-opt KEY=VALUE): (type, help).
MODEL_FLAGS = {"ngf": (int, "G width"), "ndf": (int, "D width"), "z_dim": (int, "latent size"),
               "d_dropout": (float, "dropout after each D block"),
               "fmap_base": (int, "ProGAN width rule: stage s has fmap_base/2^(s+1) channels"),
               "fmap_max": (int, "ProGAN widest layer")}


class JobError(ValueError):
    """A job that cannot be started, stopped or resumed as asked; the message says what to do."""


# ------------------------------------------------------------------------------------- fields
@functools.lru_cache(maxsize=None)
def field_notes(cls) -> dict[str, str]:
    """{field: its trailing comment} from a config dataclass's source and its bases' (house style: one
    comment per field), so help texts come from the code that defines the field."""
    notes: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        notes.update(re.findall(r"^\s+(\w+):[^#\n]*#\s*(.+)$", src, flags=re.M))
    return notes


def field_type(cls, name: str) -> tuple[type, bool]:
    """(the annotation's type, whether None is allowed): `int | None` -> (int, True)."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return (args[0] if args else hint), type(None) in typing.get_args(hint)


def default_channels(data: str) -> int:
    """A data set's own channel count, which a run gets unless it asks for another: 1 for mnist, else 3."""
    return 1 if data == "mnist" else 3


# ------------------------------------------------------------------------------------- form options
@dataclasses.dataclass(frozen=True)
class Option:
    name: str        # TrainConfig field
    kind: str        # "bool" | "int" | "float" | "text" (JSON or plain text)
    default: object  # the recipe's value (TrainConfig's default when the recipe does not set it)
    optional: bool   # None (an empty box) is allowed
    help: str        # the field's comment in recipes.py


def _option(name: str, default) -> Option:
    base, optional = field_type(TrainConfig, name)
    kind = {bool: "bool", int: "int", float: "float"}.get(base, "text")
    return Option(name, kind, default, optional, field_notes(TrainConfig).get(name, ""))


def recipe_options(recipe: str) -> list[Option]:
    """The recipe's own options: every TrainConfig field its TRAINING_RECIPES entry sets except the identity
    fields and the form's fields, then the run options. A recipe added to TRAINING_RECIPES brings its options
    with it, with no change here or in the tab."""
    spec = TRAINING_RECIPES[recipe]
    own = [_option(k, v) for k, v in spec.items() if k not in IDENTITY_FIELDS + FORM_FIELDS]
    defaults = TrainConfig()
    return own + [_option(k, getattr(defaults, k)) for k in RUN_OPTIONS if k not in spec]


def all_option_names() -> list[str]:
    """Every option of every recipe, in TrainConfig's field order (the tab makes one box per name)."""
    names = {o.name for r in TRAINING_RECIPES for o in recipe_options(r)}
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name in names]


def arch_options(recipe: str) -> dict[str, object]:
    """{architecture field: the recipe's default}, for the "architecture options" hint."""
    spec = TRAINING_RECIPES[recipe]
    defaults = {f.name: f.default for f in dataclasses.fields(ARCHITECTURES[spec["arch"]].config)}
    defaults.update(spec.get("model", {}))
    return {k: v for k, v in defaults.items() if k not in ("res", "channels")}


def parse_option(opt: Option, value):
    """A box's value as the field's type; JobError saying what is allowed otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if opt.optional:
            return None
        raise JobError(f"{opt.name} needs a value ({opt.help or opt.kind}).")
    if opt.kind == "bool":
        word = str(value).strip().lower()
        if word not in ("true", "false", "1", "0", "yes", "no"):
            raise JobError(f"{opt.name} is true or false, got {value!r}.")
        return word in ("true", "1", "yes")
    if opt.kind == "text":
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise JobError(f"{opt.name} must be a number, got {value!r}.") from None
    if not math.isfinite(x):
        raise JobError(f"{opt.name} must be a finite number, got {value!r}.")
    if opt.kind == "int":
        if x != int(x):
            raise JobError(f"{opt.name} must be a whole number, got {value!r}.")
        return int(x)
    return x


def parse_model_opts(text: str) -> dict:
    """"ngf=8, z_dim=16" -> {"ngf": 8, "z_dim": 16}; values are JSON when they parse."""
    out = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,\n]", text or ""))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise JobError(f"Architecture options are KEY=VALUE pairs separated by commas, got {part!r}.")
        try:
            out[key.strip()] = json.loads(value.strip())
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


# ------------------------------------------------------------------------------------- CLI flags
def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def stage_batch(text: str) -> dict:
    """"4:64,8:64,64:16" -> {"4": 64, "8": 64, "64": 16}."""
    try:
        pairs = [p.split(":") for p in text.split(",") if p.strip()]
        return {str(int(r)): int(b) for r, b in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RES:BATCH pairs like 4:64,8:64,64:16, got {text!r}") from None


def json_value(text: str):
    """A flag's JSON value (a dict or list field)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"expected JSON, e.g. {{\"64\": 16}}, got {text!r}") from None


def key_value(text: str) -> tuple[str, object]:
    """"channel_max=64" -> ("channel_max", 64); values are JSON when they parse, else strings."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


# Fields whose flag reads better than their type's: (parse, format, metavar, example).
FLAG_SYNTAX = {"stage_batch": (stage_batch, lambda v: ",".join(f"{r}:{b}" for r, b in v.items()), "RES:BATCH,...",
                               "4:64,8:64,64:16")}


def _choices(name: str) -> list | None:
    return {"recipe": sorted(TRAINING_RECIPES), "loss": list(LOSSES), "channels": [1, 3]}.get(name)


def _shown(default) -> str:
    return ("on" if default else "off") if isinstance(default, bool) else json.dumps(default) if default == "" \
        else str(default)


def config_flag_names() -> list[str]:
    """The TrainConfig fields that are flags, in field order."""
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in NO_FLAG]


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field (NO_FLAG aside), default None (= the recipe's value): type from the
    annotation (bool: --x / --no-x, dict: JSON), help from the field's comment."""
    group = parser.add_argument_group("training options (TrainConfig fields; not given: the recipe's value)")
    notes, defaults = field_notes(TrainConfig), TrainConfig.__dataclass_fields__
    for name in config_flag_names():
        base, _ = field_type(TrainConfig, name)
        default = defaults[name].default
        recipes_set_it = any(name in spec for spec in TRAINING_RECIPES.values())
        text = notes.get(name, name.replace("_", " "))
        if not recipes_set_it and default not in (None, dataclasses.MISSING):
            text += f" (default {_shown(default)})"
        if name in RESUME_FIELDS:
            text += f"; with --resume, {RESUME_FIELDS[name]}"
        kw: dict = {"help": text.replace("%", "%%")}
        if base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif name in FLAG_SYNTAX:
            kw["type"], _, kw["metavar"], example = FLAG_SYNTAX[name]
            kw["help"] += f"; here {flag(name)} {example}"
        elif base in (int, float, str):
            kw["type"], kw["choices"] = base, _choices(name)
        else:
            kw["type"], kw["metavar"] = json_value, "JSON"
        group.add_argument(flag(name), **kw)


def given_config_flags(args: argparse.Namespace) -> dict:
    """{field: value} of the TrainConfig flags given on the command line."""
    return {k: getattr(args, k) for k in config_flag_names() if getattr(args, k, None) is not None}


def new_run_flags() -> list[str]:
    """Flags (as argparse dests) that shape a new run: on --resume they come from its config.json."""
    return [k for k in config_flag_names() if k not in RESUME_FIELDS] + list(MODEL_FLAGS) + ["model_opt", "train_opt"]


def _flag_args(name: str, value) -> list[str]:
    if value is None:
        return ["--train-opt", f"{name}=null"]  # a flag's own type has no None
    if isinstance(value, bool):
        return [flag(name) if value else "--no-" + flag(name)[2:]]
    if name in FLAG_SYNTAX:
        text = FLAG_SYNTAX[name][1](value)
    elif isinstance(value, (int, float, str)):
        text = str(value)  # str(float) is its shortest repr: it parses back to the same float
    else:
        text = json.dumps(value)
    # FLAG=VALUE where a value could be read as a flag of its own (empty, or starting with "-").
    return [flag(name), text] if text and not text.startswith("-") else [f"{flag(name)}={text}"]


def config_argv(cfg: TrainConfig) -> list[str]:
    """The `python -m explorer.train` flags (all but --out) that make `cfg` again: ALWAYS_IN_ARGV, then every
    other field and architecture entry that differs from what the recipe gives at that resolution."""
    base = make_train_config(cfg.recipe, res=cfg.res, channels=cfg.channels, data=cfg.data)
    argv: list[str] = []
    for name in config_flag_names():
        value = getattr(cfg, name)
        if name == "channels":  # unless given, the CLI takes the data's own
            differs = value != default_channels(cfg.data)
        else:
            differs = value != getattr(base, name, dataclasses.MISSING)
        if name in ALWAYS_IN_ARGV or differs:
            argv += _flag_args(name, value)
    for key, value in cfg.model.items():
        if key not in ("res", "channels") and base.model.get(key, dataclasses.MISSING) != value:
            argv += ["--model-opt", f"{key}={json.dumps(value)}"]
    return argv

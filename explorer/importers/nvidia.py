"""NVIDIA stylegan2-ada-pytorch / stylegan3 network pickles -> our StyleGAN2 or StyleGAN3 (convert_network).

StyleGAN3 (-T and -R, training/networks_stylegan3.py): the Generator's recorded constructor arguments give
StyleGAN3Config (an argument we do not know is refused, not dropped), the layers' recorded geometry (sizes,
channels, sampling factors, paddings, taps, radial filters) is checked against ours, and the tensors map one
to one: the mapping MLP, w_avg, the Fourier input (its learned mixing, affine, frequencies, phases and
stored transform), per layer the conv weight, bias, affine, magnitude EMA and the designed filters (taken
from the pickle, not redesigned). Nothing needs rescaling: our layers use NVIDIA's own weight conventions.

Class-conditional generators (c_dim > 0, both families): the class embedding mapping.embed (a linear layer
from the one-hot class to w_dim features, learning rate 1) maps onto our mapping_net.embed and the wider
mapping.fc0 (z_dim + w_dim inputs) onto our first fc; c_dim goes into the config. The pickles record no class
names, only the training set's path: where that path names a dataset of KNOWN_DATASETS, its names fill
class_names, otherwise the classes are shown as indices.

StyleGAN2:
The pickle is opened with safe_pickle (nothing in it runs). G_ema's parameters and buffers, and the
constructor arguments its layers recorded, map one to one onto StyleGANConfig(variant="modulated",
upsample="fir"): the mapping MLP (fc0..), w_avg, the 4x4 constant, per block conv0 (upsampling), conv1 and
torgb; the upsampling weights are flipped (NVIDIA's transposed conv convolves, ours correlates); a
layer's scalar noise strength fills our per-channel one; conv_clamp carries over. The 3x3 weights are
stored pre-scaled by sqrt(fan_in), so our equalised-lr scale gives back NVIDIA's exact weights and the
demodulation's epsilon sits where theirs does."""

from __future__ import annotations

import math
import re

import torch

from ..models.classes import MAX_CLASSES
from . import safe_pickle
from .errors import unreadable, unsupported
from .safe_pickle import PERSISTENCE_VERSION, NumpyArray, Persistent
from .tensors import TensorSource

FILTER = torch.tensor([1.0, 3.0, 3.0, 1.0])


def flatten(obj: Persistent, prefix: str = "") -> dict[str, torch.Tensor]:
    """A persistent module's parameters and buffers, named as its state_dict would name them."""
    out = {}
    for group in ("_parameters", "_buffers"):
        for k, v in (obj.state.get(group) or {}).items():
            if isinstance(v, torch.Tensor):
                out[prefix + k] = v
    for k, m in (obj.state.get("_modules") or {}).items():
        if isinstance(m, Persistent):
            out.update(flatten(m, f"{prefix}{k}."))
        elif m is not None:
            raise unsupported(f"The generator holds a {type(m).__name__} module at {prefix}{k}, which NVIDIA's "
                              "StyleGAN2 does not have; this pickle is not a StyleGAN2 generator.")
    return out


def modules(obj: Persistent, prefix: str = "") -> dict[str, Persistent]:
    out = {prefix.rstrip("."): obj}
    for k, m in (obj.state.get("_modules") or {}).items():
        if isinstance(m, Persistent):
            out.update(modules(m, f"{prefix}{k}."))
    return out


def read(f) -> Persistent:
    """G_ema from an open pickle file, as a Persistent record; ImportRefused with the reason otherwise."""
    return read_snapshot(f)[0]


def read_snapshot(f) -> tuple[Persistent, dict]:
    """(G_ema, the snapshot's training_set_kwargs or {}) from an open pickle file; ImportRefused otherwise."""
    globals_, strings = safe_pickle.scan(f)
    if any(m.startswith("dnnlib.tflib") for m, _ in globals_) or any(s.startswith("dnnlib.tflib") for s in strings):
        raise unsupported("This is a TensorFlow StyleGAN/StyleGAN2 pickle (dnnlib.tflib), which is not supported yet. "
                          "Convert it to a PyTorch pickle with stylegan2-ada-pytorch's legacy.py "
                          "(python legacy.py --source=FILE.pkl --dest=converted.pkl), then import that.")
    f.seek(0)
    data = safe_pickle.load(f)
    if not isinstance(data, dict) or "G_ema" not in data:
        keys = sorted(map(str, data))[:8] if isinstance(data, dict) else type(data).__name__
        raise unsupported(f"This pickle has no 'G_ema' network (it holds {keys}); NVIDIA's training snapshots "
                          "(network-snapshot-*.pkl) do.")
    G = data["G_ema"]
    if not isinstance(G, Persistent) or G.class_name != "Generator":
        raise unsupported("'G_ema' in this pickle is not a Generator network.")
    newer = sorted({m.version for m in modules(G).values() if m.version > PERSISTENCE_VERSION})
    if newer:
        raise unsupported(f"This pickle was written by a newer version of NVIDIA's code (persistence format "
                          f"{newer[-1]}; this version of GAN Explorer reads formats up to {PERSISTENCE_VERSION}). "
                          "Update GAN Explorer, or re-save the network with the released stylegan3 code.")
    dataset = data.get("training_set_kwargs")
    return G, dict(dataset) if isinstance(dataset, dict) else {}


def convert_network(G: Persistent, training_set_kwargs: dict | None = None
                    ) -> tuple[str, dict, dict[str, torch.Tensor], dict]:
    """(our arch, config, state dict, notes) for NVIDIA's G_ema: StyleGAN3 when its synthesis has the Fourier
    input, StyleGAN2 otherwise. training_set_kwargs (the snapshot's) may name a conditional model's classes."""
    syn = modules(G).get("synthesis")
    if syn is not None and isinstance((syn.state.get("_modules") or {}).get("input"), Persistent):
        arch, (config, sd, notes) = "stylegan3", convert_stylegan3(G)
    else:
        arch, (config, sd, notes) = "stylegan", convert(G)
    if config.get("c_dim"):
        names, dataset = dataset_class_names(training_set_kwargs or {}, config["c_dim"])
        if names:
            config["class_names"] = names
            notes["classes"] = (f"{config['c_dim']}, named as {dataset}'s (the training set was "
                                f"{dataset_path(training_set_kwargs)!r})")
        else:
            notes["classes"] = f"{config['c_dim']}, unnamed (the pickle records no class names; shown as indices)"
    return arch, config, sd, notes


# ----------------------------------------------------------------------------- classes
# Datasets whose class names a snapshot's training-set path identifies (NVIDIA's pickles record that path in
# training_set_kwargs, never the names): the pattern is matched against the path's last component, lower-cased.
# Only datasets that dataset_tool.py labels in a fixed, published order belong here, each with that order:
# CIFAR-10's labels are its batch files' (dataset_tool.py --source=cifar-10-python.tar.gz).
KNOWN_DATASETS = {
    "CIFAR-10": (re.compile(r"(?<![a-z0-9])cifar[-_ ]?10(?![0-9])"),
                 ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]),
}


def dataset_path(training_set_kwargs: dict | None) -> str:
    path = (training_set_kwargs or {}).get("path")
    return path if isinstance(path, str) else ""


def dataset_class_names(training_set_kwargs: dict, c_dim: int) -> tuple[list[str] | None, str | None]:
    """(class names, dataset) when the training set's path names a KNOWN_DATASETS entry of c_dim classes,
    trained with labels; (None, None) otherwise."""
    last = re.split(r"[/\\]", dataset_path(training_set_kwargs).rstrip("/\\"))[-1].lower()
    if not last or training_set_kwargs.get("use_labels") is False:
        return None, None
    for dataset, (pattern, names) in KNOWN_DATASETS.items():
        if pattern.search(last) and len(names) == c_dim:
            return list(names), dataset
    return None, None


def _c_dim(G: Persistent) -> int:
    """How many classes G_ema is conditioned on (0: none), the same wherever the pickle records it."""
    mapping = modules(G).get("mapping")
    kwargs = _state(G, "_init_kwargs")
    seen = {}
    for where, state in (("G_ema", G.state), ("G_ema.mapping", mapping.state if mapping else {}),
                         ("G_ema's constructor arguments", kwargs if isinstance(kwargs, dict) else {})):
        if "c_dim" in state:
            seen[where] = v = _value(state["c_dim"])
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise unreadable(f"{where} records c_dim = {v!r:.40}, which is not a number of classes; "
                                 "the file is damaged.")
            if v > MAX_CLASSES:
                raise unsupported(f"{where} records c_dim = {v} classes, more than GAN Explorer supports "
                                  f"({MAX_CLASSES}); such a file is damaged or not a class-conditional GAN.")
    if len(set(seen.values())) > 1:
        told = ", ".join(f"{where} {v}" for where, v in seen.items())
        raise unreadable(f"The generator records different numbers of classes (c_dim: {told}); the file is damaged.")
    return next(iter(seen.values()), 0)


def _take_embed(G: Persistent, t: dict[str, torch.Tensor], src: TensorSource, c_dim: int, w_dim: int,
                fc0_in: int, sd: dict[str, torch.Tensor]) -> int:
    """Check G_ema's class embedding against c_dim and w_dim and take it into sd; returns z_dim (fc0's
    inputs are [z, embedding] for a conditional G, z alone otherwise)."""
    embed = sorted(k for k in t if k.startswith("mapping.embed."))
    if c_dim == 0:
        if embed:
            raise unreadable("G_ema has a class embedding (mapping.embed) but records c_dim = 0 (no classes); "
                             "the file is inconsistent.")
        return _z_dim(G, fc0_in, 0)
    if "mapping.embed.weight" not in t:
        raise unreadable(f"G_ema records c_dim = {c_dim} classes but has no class embedding "
                         "(mapping.embed.weight); the file is incomplete.")
    w = t["mapping.embed.weight"]
    if w.ndim != 2 or w.shape[1] != c_dim:
        raise unreadable(f"The class embedding mapping.embed.weight is {list(w.shape)}, where {c_dim} classes "
                         f"need [{w_dim}, {c_dim}]; the file is damaged.")
    if w.shape[0] != w_dim:
        raise unsupported(f"The class embedding has {w.shape[0]} features where w_dim is {w_dim} (a non-default "
                          "embed_features); GAN Explorer's StyleGAN embeds classes to w_dim features.")
    b = src.take("mapping.embed.bias")
    if tuple(b.shape) != (w_dim,):
        raise unreadable(f"The class embedding's bias is {list(b.shape)}, where it needs [{w_dim}]; "
                         "the file is damaged.")
    m = modules(G).get("mapping.embed")
    if m is not None and (_state(m, "activation", "linear") != "linear"
                          or abs(float(_value(_state(m, "bias_gain", 1.0))) - 1.0) > 1e-9):
        raise unsupported("The class embedding has an activation or learning-rate multiplier NVIDIA's does not "
                          "(linear, 1); this variant is not supported.")
    sd["mapping_net.embed.weight"], sd["mapping_net.embed.bias"] = src.take("mapping.embed.weight"), b
    return _z_dim(G, fc0_in, w_dim)


def _z_dim(G: Persistent, fc0_in: int, embed: int) -> int:
    """z_dim: mapping.fc0's inputs less the `embed` class-embedding features, as G_ema records it if it does."""
    recorded = _value(_state(G, "z_dim", fc0_in - embed))
    if isinstance(recorded, bool) or not isinstance(recorded, int) or recorded < 1:
        raise unreadable(f"G_ema records z_dim = {recorded!r:.40}, which is not a latent size; the file is damaged.")
    if recorded != fc0_in - embed:
        with_classes = f" plus the {embed} class-embedding features" if embed else ""
        raise unsupported(f"The mapping network's first layer takes {fc0_in} inputs, where z_dim = {recorded}"
                          f"{with_classes} needs {recorded + embed}; this variant is not supported.")
    return recorded


def _state(m: Persistent, key: str, default=None):
    return m.state.get(key, default)


def convert(G: Persistent) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """(our StyleGANConfig fields, our state dict, notes for the JSON) from NVIDIA's G_ema."""
    mods, t = modules(G), flatten(G)
    c_dim = _c_dim(G)
    if any(k.startswith("synthesis.input") or ".L" in k[:14] for k in t):
        raise unsupported("This is a StyleGAN3 generator; import it through convert_network.")
    syn = mods.get("synthesis")
    if syn is None or "synthesis.b4.const" not in t:
        raise unsupported("G_ema has no StyleGAN2 synthesis network (no synthesis.b4.const).")
    res, channels = int(_state(syn, "img_resolution")), int(_state(syn, "img_channels"))
    resolutions = [2**k for k in range(2, int(math.log2(res)) + 1)]
    fcs = sorted((k for k in t if k.startswith("mapping.fc") and k.endswith(".weight")),
                 key=lambda k: int(k.split(".")[1][2:]))
    if not fcs:
        raise unsupported("G_ema's mapping network has no layers (mapping.fc0 is missing).")
    w_dim = t[fcs[-1]].shape[0]
    if any(t[k].shape[0] != w_dim for k in fcs):
        raise unsupported("The mapping network's hidden width differs from w_dim; our StyleGAN2 keeps them equal.")
    sd: dict[str, torch.Tensor] = {}
    src = TensorSource(t, "G_ema")
    z_dim = _take_embed(G, t, src, c_dim, w_dim, t[fcs[0]].shape[1], sd)
    fc0 = mods["mapping.fc0"]
    lr_mul = float(_state(fc0, "bias_gain", 0.01))
    # Checks on what the tensors do not show: the layers' own recorded settings.
    clamps = set()
    for name, m in mods.items():
        if name.startswith("synthesis.b") and name.count(".") == 1:
            if _state(m, "architecture", "skip") != "skip":
                raise unsupported(f"This generator uses architecture={_state(m, 'architecture')!r}; only 'skip' "
                                  "(the StyleGAN2 default) is supported yet.")
        if name.endswith((".conv0", ".conv1", ".torgb")):
            if _state(m, "activation", "lrelu") != "lrelu":
                raise unsupported(f"{name} uses activation {_state(m, 'activation')!r}; only lrelu is supported.")
            clamps.add(_state(m, "conv_clamp"))
    for k, v in t.items():
        if k.endswith("resample_filter") and not torch.allclose(v, torch.outer(FILTER, FILTER) / 64, atol=1e-6):
            raise unsupported(f"{k} is not the [1,3,3,1] filter; other resampling filters are not supported.")
    if len(clamps) > 1:
        raise unsupported(f"The layers use different conv_clamp values {sorted(map(str, clamps))}; not supported.")
    clamp = clamps.pop() if clamps else None
    widths = {4: t["synthesis.b4.const"].shape[0]}
    for r in resolutions[1:]:
        widths[r] = t[f"synthesis.b{r}.conv0.weight"].shape[0]
    config = {"res": res, "channels": channels, "variant": "modulated", "upsample": "fir", "z_dim": z_dim,
              "w_dim": w_dim, "mapping_layers": len(fcs), "mapping_lr_mul": lr_mul,
              "conv_clamp": None if clamp is None else float(clamp),
              "w_avg_beta": float(_state(mods["mapping"], "w_avg_beta", 0.995)), **fit_widths(widths)}
    if c_dim:
        config["c_dim"] = c_dim

    # Our state dict, layer by layer (our layer 0 is b4.conv1; then conv0, conv1 per block; toRGBs per block).
    take = src.take

    for i, k in enumerate(fcs):
        sd[f"mapping_net.fcs.{i}.weight"] = take(k)
        sd[f"mapping_net.fcs.{i}.bias"] = take(k.replace(".weight", ".bias"))
    sd["w_avg"] = take("mapping.w_avg")
    sd["const"] = take("synthesis.b4.const")[None]
    layers = ["synthesis.b4.conv1"] + [f"synthesis.b{r}.conv{j}" for r in resolutions[1:] for j in (0, 1)]
    for i, name in enumerate(layers):
        w = take(f"{name}.weight")
        up = name.endswith("conv0")
        sd[f"layers.{i}.conv.weight"] = (w.flip(2, 3) if up else w) * math.sqrt(w[0].numel())
        sd[f"layers.{i}.affine.weight"] = take(f"{name}.affine.weight")
        sd[f"layers.{i}.affine.bias"] = take(f"{name}.affine.bias")
        sd[f"layers.{i}.bias"] = take(f"{name}.bias")
        if f"{name}.noise_const" in t and _state(mods[name], "use_noise", True):
            r = t[f"{name}.noise_const"].shape[-1]
            sd[f"layers.{i}.noise_const"] = take(f"{name}.noise_const").reshape(1, 1, r, r)
            sd[f"layers.{i}.noise_strength"] = take(f"{name}.noise_strength").reshape(()).expand(w.shape[0]).clone()
        else:  # a layer without noise input: zero strength
            r = 4 if i == 0 else int(name.split(".b")[1].split(".")[0])
            sd[f"layers.{i}.noise_const"] = torch.zeros(1, 1, r, r)
            sd[f"layers.{i}.noise_strength"] = torch.zeros(w.shape[0])
    for j, r in enumerate(resolutions):
        name = f"synthesis.b{r}.torgb"
        sd[f"to_rgb.{j}.conv.weight"] = take(f"{name}.weight")
        sd[f"to_rgb.{j}.affine.weight"] = take(f"{name}.affine.weight")
        sd[f"to_rgb.{j}.affine.bias"] = take(f"{name}.affine.bias")
        sd[f"to_rgb.{j}.bias"] = take(f"{name}.bias")
    src.refuse_leftovers("StyleGAN2", lambda k: k.endswith("resample_filter"),
                         "; this is a variant we do not support yet.")
    notes = {"conv_clamp": config["conv_clamp"], "noise_strength": "scalar per layer, copied to every channel"}
    return config, sd, notes


def fit_widths(widths: dict[int, int]) -> dict:
    """channel_base/channel_max whose rule min(base // r, max) gives exactly these widths per resolution."""
    top = max(widths.values())
    for r, c in sorted(widths.items()):
        base = c * r
        if all(min(base // rr, top) == cc for rr, cc in widths.items()):
            return {"channel_base": base, "channel_max": top}
    raise unsupported(f"The channel widths per resolution {dict(sorted(widths.items()))} do not follow "
                      "min(channel_base / res, channel_max); such generators are not supported yet.")


# ----------------------------------------------------------------------------- StyleGAN3
# The constructor arguments training/networks_stylegan3.py's Generator, MappingNetwork, SynthesisNetwork and
# SynthesisLayer take, with their defaults and the StyleGAN3Config field each one sets.
SG3_GENERATOR_KEYS = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs"}
SG3_MAPPING = {"num_layers": ("mapping_layers", 2), "lr_multiplier": ("mapping_lr_mul", 0.01),
               "w_avg_beta": ("w_avg_beta", 0.998)}
SG3_SYNTHESIS = {"channel_base": 32768, "channel_max": 512, "num_layers": 14, "num_critical": 2,
                 "first_cutoff": 2.0, "first_stopband": 2**2.1, "last_stopband_rel": 2**0.3, "margin_size": 10,
                 "output_scale": 0.25, "num_fp16_res": 4, "conv_kernel": 3, "filter_size": 6, "lrelu_upsampling": 2,
                 "use_radial_filters": False, "conv_clamp": 256, "magnitude_ema_beta": 0.999}
# What each SynthesisLayer records about its geometry, checked against ours (a variant we would draw wrongly).
SG3_LAYER_FACTS = ("is_torgb", "in_channels", "out_channels", "in_size", "out_size", "up_factor", "down_factor",
                   "up_taps", "down_taps", "down_radial", "padding", "conv_kernel")


def _value(v):
    """A recorded attribute as plain Python: numpy arrays (NVIDIA keeps sizes as [w, h]) as lists."""
    if isinstance(v, NumpyArray):
        v = v.array.tolist()
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    return v


def _sg3_config(G: Persistent) -> dict:
    kwargs = dict(_state(G, "_init_kwargs") or {})
    mapping_kwargs = dict(kwargs.pop("mapping_kwargs", None) or {})
    unknown = sorted(set(kwargs) - SG3_GENERATOR_KEYS - set(SG3_SYNTHESIS))
    unknown += sorted(f"mapping_kwargs.{k}" for k in set(mapping_kwargs) - set(SG3_MAPPING))
    if unknown:
        raise unsupported(f"This StyleGAN3 generator was built with settings GAN Explorer does not know: {unknown}; "
                          "it may come from a modified version of NVIDIA's code, which we would render wrongly.")
    c_dim = _c_dim(G)
    syn = modules(G)["synthesis"]
    config = {"res": int(_state(syn, "img_resolution")), "channels": int(_state(syn, "img_channels")),
              "z_dim": int(_state(G, "z_dim")), "w_dim": int(_state(G, "w_dim"))}
    if c_dim:
        config["c_dim"] = c_dim
    for key, (field, default) in SG3_MAPPING.items():
        config[field] = _value(mapping_kwargs.get(key, default))
    for key, default in SG3_SYNTHESIS.items():
        config[key] = _value(kwargs.get(key, default))
    for key in ("num_layers", "num_critical", "margin_size", "output_scale", "num_fp16_res"):  # as recorded
        config[key] = _value(_state(syn, key, config[key]))
    config["conv_clamp"] = None if config["conv_clamp"] is None else float(config["conv_clamp"])
    for key in ("mapping_layers", "channel_base", "channel_max", "num_layers", "num_critical", "margin_size",
                "num_fp16_res", "conv_kernel", "filter_size", "lrelu_upsampling"):
        config[key] = int(config[key])
    for key in ("mapping_lr_mul", "w_avg_beta", "first_cutoff", "first_stopband", "last_stopband_rel",
                "output_scale", "magnitude_ema_beta"):
        config[key] = float(config[key])
    config["use_radial_filters"] = bool(config["use_radial_filters"])
    return config


def convert_stylegan3(G: Persistent) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """(our StyleGAN3Config fields, our state dict, notes for the JSON) from NVIDIA's StyleGAN3 G_ema."""
    from ..models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

    mods, t = modules(G), flatten(G)
    config = _sg3_config(G)
    try:
        ours = StyleGAN3Generator(StyleGAN3Config(**config))
    except (TypeError, ValueError) as e:
        raise unsupported(f"This StyleGAN3 generator's settings are not ones we can build ({e}).") from None
    syn = mods["synthesis"]
    names = [str(n) for n in (_state(syn, "layer_names") or [])]
    if len(names) != config["num_layers"] + 1 or any(f"synthesis.{n}" not in mods for n in names):
        raise unreadable(f"G_ema's synthesis network lists layers {names[:3]}... that it does not hold, or not "
                         f"{config['num_layers'] + 1} of them; the file is damaged.")
    layers = list(ours.layers[1:]) + list(ours.to_rgb)
    for name, layer in zip(names, layers):
        m = mods[f"synthesis.{name}"]
        for fact in SG3_LAYER_FACTS:
            theirs = _value(_state(m, fact))
            mine = _value(getattr(layer, fact))
            if fact in ("in_size", "out_size") and isinstance(theirs, list):
                mine = [mine, mine]
            if fact == "padding":
                mine = list(mine)
            if theirs is not None and theirs != mine:
                raise unsupported(f"Layer {name} records {fact} = {theirs}, where a StyleGAN3 of these settings has "
                                  f"{mine}; this variant is not supported.")
        clamp = _value(_state(m, "conv_clamp", config["conv_clamp"]))
        if (clamp is None) != (config["conv_clamp"] is None) or (clamp is not None and float(clamp) != config["conv_clamp"]):
            raise unsupported(f"Layer {name} clamps at {_state(m, 'conv_clamp')}, the others at {config['conv_clamp']}; "
                              "per-layer clamps are not supported.")
    fc0 = mods.get("mapping.fc0")
    if fc0 is None:
        raise unreadable("G_ema has no mapping.fc0; the file is incomplete.")
    if abs(float(_value(_state(fc0, "bias_gain", config["mapping_lr_mul"]))) - config["mapping_lr_mul"]) > 1e-9:
        raise unsupported("The mapping network's learning-rate multiplier differs from the one it was built with.")

    sd: dict[str, torch.Tensor] = {}
    src = TensorSource(t, "G_ema")
    take = src.take
    if "mapping.fc0.weight" not in t:
        raise unreadable("G_ema has no mapping.fc0.weight; the file is incomplete.")
    _take_embed(G, t, src, config.get("c_dim", 0), config["w_dim"], t["mapping.fc0.weight"].shape[1], sd)
    for i in range(config["mapping_layers"]):
        sd[f"mapping_net.fcs.{i}.weight"] = take(f"mapping.fc{i}.weight")
        sd[f"mapping_net.fcs.{i}.bias"] = take(f"mapping.fc{i}.bias")
    sd["w_avg"] = take("mapping.w_avg")
    for k in ("weight", "transform", "freqs", "phases", "affine.weight", "affine.bias"):
        sd[f"layers.0.{k}"] = take(f"synthesis.input.{k}")
    filters = 0.0
    for i, (name, layer) in enumerate(zip(names, layers)):
        ours_key = "to_rgb.0" if i == len(names) - 1 else f"layers.{i + 1}"
        for k in ("weight", "bias", "magnitude_ema", "affine.weight", "affine.bias"):
            sd[f"{ours_key}.{k}"] = take(f"synthesis.{name}.{k}")
        for k in ("up_filter", "down_filter"):
            designed = getattr(layer, k)
            key = f"synthesis.{name}.{k}"
            if designed is None:
                if key in t:
                    raise unsupported(f"Layer {name} has a {k} where StyleGAN3 has none.")
                continue
            sd[f"{ours_key}.{k}"] = take(key)
    src.refuse_leftovers("StyleGAN3", hint="; this is a variant we do not support yet.")
    # Our own design of the filters, for the record: the pickle's are the ones used.
    for k, v in ours.state_dict().items():
        if k.endswith(("up_filter", "down_filter")) and k in sd and v.shape == sd[k].shape:
            filters = max(filters, float((v - sd[k]).abs().max()))
    variant = "StyleGAN3-R" if config["conv_kernel"] == 1 else "StyleGAN3-T"
    notes = {"variant": variant, "conv_clamp": config["conv_clamp"],
             "filters": f"the pickle's (our design of them differs by at most {filters:.1e})"}
    return config, sd, notes

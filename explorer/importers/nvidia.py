"""NVIDIA stylegan2-ada-pytorch / stylegan3 network pickles (StyleGAN2 generators) -> our StyleGAN2.

The pickle is opened with safe_pickle (nothing in it runs). G_ema's parameters and buffers, and the
constructor arguments its layers recorded, map one to one onto StyleGANConfig(variant="modulated",
upsample="fir"): the mapping MLP (fc0..), w_avg, the 4x4 constant, per block conv0 (upsampling), conv1 and
torgb; the upsampling weights are flipped (NVIDIA's transposed conv convolves, ours correlates); a
layer's scalar noise strength fills our per-channel one; conv_clamp carries over. The 3x3 weights are
stored pre-scaled by sqrt(fan_in), so our equalised-lr scale gives back NVIDIA's exact weights and the
demodulation's epsilon sits where theirs does."""

from __future__ import annotations

import math

import torch

from . import safe_pickle
from .errors import unsupported
from .safe_pickle import Persistent
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
    globals_, strings = safe_pickle.scan(f)
    if any(m.startswith("dnnlib.tflib") for m, _ in globals_) or any(s.startswith("dnnlib.tflib") for s in strings):
        raise unsupported("This is a TensorFlow StyleGAN/StyleGAN2 pickle (dnnlib.tflib), which is not supported yet. "
                          "Convert it to a PyTorch pickle with stylegan2-ada-pytorch's legacy.py "
                          "(python legacy.py --source=FILE.pkl --dest=converted.pkl), then import that.")
    if "SynthesisInput" in strings:
        raise unsupported("This is a StyleGAN3 pickle (alias-free generator), which is not supported yet; "
                          "StyleGAN2 pickles from the stylegan3 repository (cfg=stylegan2) are.")
    f.seek(0)
    data = safe_pickle.load(f)
    if not isinstance(data, dict) or "G_ema" not in data:
        keys = sorted(map(str, data))[:8] if isinstance(data, dict) else type(data).__name__
        raise unsupported(f"This pickle has no 'G_ema' network (it holds {keys}); NVIDIA's training snapshots "
                          "(network-snapshot-*.pkl) do.")
    G = data["G_ema"]
    if not isinstance(G, Persistent) or G.class_name != "Generator":
        raise unsupported("'G_ema' in this pickle is not a Generator network.")
    return G


def _state(m: Persistent, key: str, default=None):
    return m.state.get(key, default)


def convert(G: Persistent) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """(our StyleGANConfig fields, our state dict, notes for the JSON) from NVIDIA's G_ema."""
    mods, t = modules(G), flatten(G)
    if int(_state(G, "c_dim", 0) or 0) > 0 or any(k.startswith("mapping.embed") for k in t):
        raise unsupported("This is a conditional (class-label) generator; only unconditional ones are supported yet.")
    if any(k.startswith("synthesis.input") or ".L" in k[:14] for k in t):
        raise unsupported("This is a StyleGAN3 generator, which is not supported yet.")
    syn = mods.get("synthesis")
    if syn is None or "synthesis.b4.const" not in t:
        raise unsupported("G_ema has no StyleGAN2 synthesis network (no synthesis.b4.const).")
    res, channels = int(_state(syn, "img_resolution")), int(_state(syn, "img_channels"))
    resolutions = [2**k for k in range(2, int(math.log2(res)) + 1)]
    fcs = sorted((k for k in t if k.startswith("mapping.fc") and k.endswith(".weight")),
                 key=lambda k: int(k.split(".")[1][2:]))
    if not fcs:
        raise unsupported("G_ema's mapping network has no layers (mapping.fc0 is missing).")
    z_dim, w_dim = t[fcs[0]].shape[1], t[fcs[-1]].shape[0]
    if any(t[k].shape[0] != w_dim for k in fcs):
        raise unsupported("The mapping network's hidden width differs from w_dim; our StyleGAN2 keeps them equal.")
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

    # Our state dict, layer by layer (our layer 0 is b4.conv1; then conv0, conv1 per block; toRGBs per block).
    sd: dict[str, torch.Tensor] = {}
    src = TensorSource(t, "G_ema")
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
    src.refuse_leftovers("StyleGAN2", lambda k: k.endswith("resample_filter") or k.startswith("mapping.embed"),
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

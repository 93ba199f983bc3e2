"""Importing other code's checkpoints without running it (explorer/importers).

The tests write their own tiny checkpoints in exactly the originals' layouts: rosinality's state-dict
key names in a torch file (with its training snapshot's argparse args), NVIDIA's network pickles as
torch_utils/persistence.py writes them (a dict with 'G_ema' whose networks are REDUCEs of
_reconstruct_persistent_obj(meta) carrying module source, class name and the module's __dict__, with
numpy scalars and dnnlib EasyDicts inside, at pickle protocols 3 and 4; class-conditional ones with
mapping.embed, a wider mapping.fc0 and c_dim recorded), and GAN Zoo PGAN files (a
models.utils.config.BaseConfig object next to netG/avgG state dicts, in zip and legacy torch formats).
Their weights come from our own fir-mode models, which are the reference each import must reproduce.
(The check against the original code itself is a local one, described in the importers' docs.)"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
import torch

from explorer.importers import ImportRefused, import_checkpoint
from explorer.importers.cli import main as cli_main
from explorer.importers.nvidia import KNOWN_DATASETS, dataset_class_names
from explorer.models import build_generator
from explorer.models.classes import MAX_CLASSES, map_z
from explorer.models.contract import trained_growth
from explorer.ui.generate_tab import generate
from explorer.ui.import_panel import import_upload
from explorer.ui.services import Services
from helpers import nontrivial_stylegan3
from explorer.ui.stylegan_tab import MAX_LAYERS, MAX_WS, Controls, render
from explorer.weights import list_checkpoints, load_generator

FILTER = torch.tensor([1.0, 3.0, 3.0, 1.0])
SG2 = {"res": 16, "channels": 3, "variant": "modulated", "upsample": "fir", "z_dim": 8, "w_dim": 8,
       "mapping_layers": 2, "channel_base": 64, "channel_max": 16}        # widths 16, 8, 4


def source_stylegan2(conv_clamp: float | None = None, seed: int = 0, c_dim: int = 0) -> torch.nn.Module:
    """Our fir-mode StyleGAN2 with known, non-trivial weights: the reference an import must reproduce.
    One noise strength per layer (the originals have a scalar), non-zero biases and w_avg; c_dim > 0: a
    conditional one (StyleGAN2-ADA's class embedding) with a non-zero embedding bias."""
    torch.manual_seed(seed)
    G = build_generator("stylegan", dict(SG2, conv_clamp=conv_clamp, c_dim=c_dim)).eval()
    with torch.no_grad():
        if c_dim:
            G.mapping_net.embed.bias.normal_(0, 0.3)
        for layer in G.layers:
            layer.noise_strength.fill_(float(torch.rand(()) * 0.5 + 0.1))
            layer.bias.normal_(0, 0.3)
        for rgb in G.to_rgb:
            rgb.bias.normal_(0, 0.3)
        G.w_avg.normal_(0, 0.5)
    return G


def assert_same_images(G_src, G_imp, atol=1e-5):
    """Same ws, same noise (stored and given maps), both render paths, batch 1 and 3."""
    ws = G_src.mapping(torch.randn(3, G_src.z_dim), truncation_psi=0.7).detach()
    assert torch.allclose(G_imp.mapping(torch.randn(0, G_src.z_dim)), torch.zeros(0, G_src.num_ws, G_src.w_dim))
    for fast in (False, True):
        G_src.cfg.fast_inference = G_imp.cfg.fast_inference = fast
        for n in (1, 3):
            with torch.no_grad():
                a, b = G_src.synthesis(ws[:n]), G_imp.synthesis(ws[:n])
                gen = [torch.Generator().manual_seed(5) for _ in range(2)]
                ar = G_src.synthesis(ws[:n], noise_mode="random", noise_generator=gen[0])
                br = G_imp.synthesis(ws[:n], noise_mode="random", noise_generator=gen[1])
            assert (a - b).abs().max() <= atol and (ar - br).abs().max() <= atol, ((a - b).abs().max(), fast, n)
    z = torch.randn(4, G_src.z_dim)
    with torch.no_grad():
        assert torch.allclose(G_src.mapping(z, truncation_psi=0.5, truncation_cutoff=3),
                              G_imp.mapping(z, truncation_psi=0.5, truncation_cutoff=3), atol=1e-6)


# ----------------------------------------------------------------------------- rosinality layout
def rosinality_state(G) -> dict[str, torch.Tensor]:
    """rosinality/stylegan2-pytorch's Generator.state_dict() names and shapes for our G's weights."""
    sd = {}
    for i, fc in enumerate(G.mapping_net.fcs):
        sd[f"style.{i + 1}.weight"], sd[f"style.{i + 1}.bias"] = fc.weight, fc.bias
    sd["input.input"] = G.const
    names = ["conv1"] + [f"convs.{j}" for j in range(G.num_layers - 1)]
    for i, (name, layer) in enumerate(zip(names, G.layers)):
        up = layer.up
        sd[f"{name}.conv.weight"] = (layer.conv.weight.flip(2, 3) if up else layer.conv.weight)[None]
        if up:
            sd[f"{name}.conv.blur.kernel"] = torch.outer(FILTER, FILTER) / 16
        sd[f"{name}.conv.modulation.weight"], sd[f"{name}.conv.modulation.bias"] = layer.affine.weight, layer.affine.bias
        sd[f"{name}.noise.weight"] = layer.noise_strength[:1]
        sd[f"{name}.activate.bias"] = layer.bias
        sd[f"noises.noise_{i}"] = layer.noise_const
    for j, rgb in enumerate(G.to_rgb):
        name = "to_rgb1" if j == 0 else f"to_rgbs.{j - 1}"
        if j:
            sd[f"{name}.upsample.kernel"] = torch.outer(FILTER, FILTER) / 16
        sd[f"{name}.conv.weight"] = rgb.conv.weight[None]
        sd[f"{name}.conv.modulation.weight"], sd[f"{name}.conv.modulation.bias"] = rgb.affine.weight, rgb.affine.bias
        sd[f"{name}.bias"] = rgb.bias.view(1, -1, 1, 1)
    return {k: v.detach().clone() for k, v in sd.items()}


def write_rosinality(path: Path, G, converted: bool) -> Path:
    """converted: convert_weight.py's {'g_ema', 'latent_avg'}; else train.py's snapshot (no latent_avg)."""
    sd = rosinality_state(G)
    if converted:
        torch.save({"g_ema": sd, "latent_avg": G.w_avg.detach().clone()}, path)
    else:
        opt = {"state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.zeros(2), "exp_avg_sq": torch.zeros(2)}},
               "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "eps": 1e-8, "params": [0]}]}  # Adam's layout
        args = argparse.Namespace(size=16, latent=8, n_mlp=2, channel_multiplier=1, r1=10.0, path="lmdb")
        torch.save({"g": sd, "d": {"convs.0.0.weight": torch.zeros(4, 3, 1, 1)}, "g_ema": sd, "g_optim": opt,
                    "d_optim": opt, "args": args, "ada_aug_p": 0.0}, path)
    return path


# ----------------------------------------------------------------------------- NVIDIA pickle layout
class Ref:
    """A global named by module and name (written as GLOBAL, or STACK_GLOBAL at protocol 4)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle wants reduce functions to be callable; never called
        raise AssertionError("not to be called")


class Reduce:
    """ref(*args), written as REDUCE."""

    def __init__(self, ref: Ref, args: tuple):
        self.ref, self.args = ref, args


class NewObj:
    """An instance of ref made with NEWOBJ, then SETITEMS (dict subclasses) and BUILD(state)."""

    def __init__(self, ref: Ref, state=None, items: dict | None = None):
        self.ref, self.state, self.items = ref, state, items


class Writer(pickle._Pickler):
    """The pure-Python pickler, taught to write the three stand-ins above and numpy scalars the way
    numpy 1.x (which NVIDIA's pickles were made with) names them. Tensors pickle as torch pickles them."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_ref(self, obj):
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    def save_reduce_obj(self, obj):
        self.save(obj.ref)
        self.save(tuple(obj.args))
        self.write(pickle.REDUCE)
        self.memoize(obj)

    def save_newobj(self, obj):
        self.save(obj.ref)
        self.save(())
        self.write(pickle.NEWOBJ)
        self.memoize(obj)
        if obj.items:
            self._batch_setitems(iter(obj.items.items()))
        if obj.state is not None:
            self.save(obj.state)
            self.write(pickle.BUILD)

    def save_np_scalar(self, obj):
        self.save(Ref("numpy.core.multiarray", "scalar"))
        self.save((obj.dtype, obj.tobytes()))
        self.write(pickle.REDUCE)
        self.memoize(obj)

    def save_np_array(self, obj):
        """ndarray.__reduce__ under numpy 1.x: _reconstruct(ndarray, (0,), b'b'), then BUILD with the raw bytes."""
        self.save(Ref("numpy.core.multiarray", "_reconstruct"))
        self.save((Ref("numpy", "ndarray"), (0,), b"b"))
        self.write(pickle.REDUCE)
        self.memoize(obj)
        self.save((1, obj.shape, obj.dtype, False, obj.tobytes()))
        self.write(pickle.BUILD)

    dispatch[Ref] = save_ref
    dispatch[Reduce] = save_reduce_obj
    dispatch[NewObj] = save_newobj
    dispatch[np.float64] = save_np_scalar
    dispatch[np.bool_] = save_np_scalar
    dispatch[np.ndarray] = save_np_array


def easydict(**kw) -> NewObj:
    return NewObj(Ref("dnnlib.util", "EasyDict"), items=kw)


# Module source that persistence.py would exec on load: here, it would leave a marker file behind.
MODULE_SRC = "import pathlib\npathlib.Path({marker!r}).write_text('the pickled source ran')\nclass Generator: pass\n"


def persistent(class_name: str, params: dict, buffers: dict, modules: dict, marker: Path, version: int = 6,
               **attrs) -> Reduce:
    """torch_utils.persistence._reconstruct_persistent_obj(meta), meta.state an nn.Module's __dict__."""
    state = {"training": False,
             "_parameters": OrderedDict((k, torch.nn.Parameter(v.detach().clone(), requires_grad=False))
                                        for k, v in params.items()),
             "_buffers": OrderedDict((k, None if v is None else v.detach().clone()) for k, v in buffers.items()),
             "_non_persistent_buffers_set": set(), "_backward_hooks": OrderedDict(), "_forward_hooks": OrderedDict(),
             "_forward_pre_hooks": OrderedDict(), "_state_dict_hooks": OrderedDict(),
             "_load_state_dict_pre_hooks": OrderedDict(), "_modules": OrderedDict(modules),
             "_init_args": (), **attrs}
    meta = {"type": "class", "version": version, "module_src": MODULE_SRC.format(marker=str(marker)),
            "class_name": class_name, "state": state}
    return Reduce(Ref("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))


def embed_tensors(G, c_dim: int | None, embed: dict | None) -> tuple[int, dict | None]:
    """(the c_dim a pickle records, its class embedding's tensors or None) for the writers' c_dim and embed
    arguments: None = G's own (its c_dim, its embedding if it has one); embed={} writes none."""
    own = G.mapping_net.embed
    c_dim = G.cfg.c_dim if c_dim is None else c_dim
    if embed is None:
        embed = {"weight": own.weight, "bias": own.bias} if own is not None else {}
    return c_dim, embed or None


def nvidia_generator(G, marker: Path, conv_clamp=None, synthesis_class="SynthesisNetwork", c_dim: int | None = None,
                     embed: dict | None = None) -> Reduce:
    """NVIDIA's Generator network (stylegan2-ada-pytorch training/networks.py) holding our G's weights.
    c_dim: the number of classes recorded (None: G's); embed: the class embedding's tensors (None: G's,
    {}: none), for the refusals."""
    cfg = G.cfg
    c_dim, embed = embed_tensors(G, c_dim, embed)

    def fc(lin, lr=1.0, activation="linear"):
        return persistent("FullyConnectedLayer", {"weight": lin.weight, "bias": lin.bias}, {}, {}, marker,
                          activation=activation, weight_gain=np.float64(lr / np.sqrt(lin.weight.shape[1])),
                          bias_gain=lr, _init_kwargs={"bias_init": 1})

    def layer(lay, r, up):
        w = lay.conv.weight * lay.conv.scale
        return persistent("SynthesisLayer", {"weight": w.flip(2, 3) if up else w, "bias": lay.bias,
                                             "noise_strength": lay.noise_strength[0]},
                          {"resample_filter": torch.outer(FILTER, FILTER) / 64, "noise_const": lay.noise_const[0, 0]},
                          {"affine": fc(lay.affine)}, marker, resolution=r, up=2 if up else 1, use_noise=True,
                          activation="lrelu", conv_clamp=conv_clamp, padding=1, act_gain=np.float64(np.sqrt(2)))

    def torgb(rgb):
        return persistent("ToRGBLayer", {"weight": rgb.conv.weight, "bias": rgb.bias}, {}, {"affine": fc(rgb.affine)},
                          marker, conv_clamp=conv_clamp, weight_gain=np.float64(1 / np.sqrt(rgb.conv.weight.shape[1])))

    blocks = {}
    for j, r in enumerate(cfg.resolutions):
        mods, params = {}, {}
        if r == 4:
            params["const"] = G.const[0]
            mods["conv1"] = layer(G.layers[0], 4, False)
        else:
            mods["conv0"] = layer(G.layers[2 * j - 1], r, True)
            mods["conv1"] = layer(G.layers[2 * j], r, False)
        mods["torgb"] = torgb(G.to_rgb[j])
        blocks[f"b{r}"] = persistent("SynthesisBlock", params, {"resample_filter": torch.outer(FILTER, FILTER) / 64},
                                     mods, marker, resolution=r, architecture="skip", is_last=r == cfg.res,
                                     use_fp16=False, conv_clamp=conv_clamp)
    synthesis = persistent(synthesis_class, {}, {}, blocks, marker, img_resolution=cfg.res, img_channels=cfg.channels,
                           w_dim=cfg.w_dim, block_resolutions=list(cfg.resolutions), num_ws=G.num_ws)
    fcs = {f"fc{i}": fc(f, lr=cfg.mapping_lr_mul, activation="lrelu") for i, f in enumerate(G.mapping_net.fcs)}
    if embed is not None:  # FullyConnectedLayer(c_dim, embed_features), registered before the fcs
        fcs = {"embed": fc(SimpleNamespace(**embed)), **fcs}
    mapping = persistent("MappingNetwork", {}, {"w_avg": G.w_avg}, fcs, marker, z_dim=cfg.z_dim, c_dim=c_dim,
                         w_dim=cfg.w_dim, num_ws=G.num_ws, num_layers=cfg.mapping_layers, w_avg_beta=0.998)
    kwargs = {"z_dim": cfg.z_dim, "c_dim": c_dim, "w_dim": cfg.w_dim, "img_resolution": cfg.res, "img_channels": 3,
              "mapping_kwargs": easydict(num_layers=cfg.mapping_layers),
              "synthesis_kwargs": easydict(channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                                           num_fp16_res=4, conv_clamp=conv_clamp)}
    return persistent("Generator", {}, {}, {"synthesis": synthesis, "mapping": mapping}, marker, z_dim=cfg.z_dim,
                      c_dim=c_dim, w_dim=cfg.w_dim, img_resolution=cfg.res, img_channels=3, num_ws=G.num_ws,
                      _init_kwargs=kwargs)


def write_nvidia(path: Path, G, marker: Path, protocol: int = 3, conv_clamp=None, dataset: str = "faces.zip",
                 **kw) -> Path:
    """A training snapshot as training_loop.py pickles it: G, D, G_ema, augment_pipe, training_set_kwargs
    (dataset: its path; use_labels for a conditional G)."""
    net = nvidia_generator(G, marker, conv_clamp, **kw)
    D = persistent("Discriminator", {}, {}, {}, marker, img_resolution=16)
    snapshot = {"training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": dataset,
                                        "resolution": 16, "use_labels": G.cfg.c_dim > 0},
                "G": net, "D": D, "G_ema": net, "augment_pipe": None}
    buf = io.BytesIO()
    Writer(buf, protocol=protocol).dump(snapshot)
    path.write_bytes(buf.getvalue())
    return path


# ----------------------------------------------------------------------------- NVIDIA StyleGAN3 pickle layout
SG3 = {"res": 16, "z_dim": 8, "w_dim": 8, "channel_base": 128, "channel_max": 16, "num_layers": 4, "num_critical": 1,
       "margin_size": 2, "magnitude_ema_beta": 0.99}
SG3_R = {"conv_kernel": 1, "use_radial_filters": True, "channel_base": 256, "channel_max": 32}


def source_stylegan3(variant: str = "t", seed: int = 0, **kw) -> torch.nn.Module:
    """Our StyleGAN3 with non-trivial biases, magnitude EMAs, input affine and w_avg: the reference."""
    return nontrivial_stylegan3({**SG3, **(SG3_R if variant == "r" else {}), **kw}, seed)


def nvidia_stylegan3(G, marker: Path, c_dim: int | None = None, version: int = 6, init_extra: dict | None = None,
                     drop: str | None = None, padding_of: dict | None = None, embed: dict | None = None) -> Reduce:
    """NVIDIA's StyleGAN3 Generator (stylegan3 training/networks_stylegan3.py) as its pickle records it, holding
    our G's weights: sizes as numpy int64 arrays, cutoffs as numpy float64, use_fp16 as numpy bool. drop: a
    tensor left out ("L1.bias"); padding_of: {layer index: padding recorded instead of the real one}; c_dim and
    embed as nvidia_generator takes them."""
    cfg = G.cfg
    c_dim, embed = embed_tensors(G, c_dim, embed)

    def p(name, tensors):
        return {k: v for k, v in tensors.items() if f"{name}.{k}" != drop}

    def fc(lin, lr=1.0, activation="linear", name=""):
        return persistent("FullyConnectedLayer", p(name, {"weight": lin.weight, "bias": lin.bias}), {}, {}, marker,
                          version, in_features=lin.weight.shape[1], out_features=lin.weight.shape[0],
                          activation=activation, weight_gain=np.float64(lr / np.sqrt(lin.weight.shape[1])),
                          bias_gain=lr)

    inp = G.input
    input_ = persistent("SynthesisInput", {"weight": inp.weight}, {"transform": inp.transform, "freqs": inp.freqs,
                                                                   "phases": inp.phases},
                        {"affine": fc(inp.affine)}, marker, version, w_dim=cfg.w_dim, channels=inp.channels,
                        size=np.array([inp.size, inp.size], dtype=np.int64),
                        sampling_rate=np.float64(inp.sampling_rate), bandwidth=np.float64(inp.bandwidth))
    mods, names = {"input": input_}, []
    for i, layer in enumerate(list(G.layers[1:]) + list(G.to_rgb)):
        sp = layer.spec
        name = f"L{i}_{sp.out_size}_{sp.out_channels}"
        names.append(name)
        tmp = max(sp.in_sampling_rate, sp.out_sampling_rate) * (1 if sp.is_torgb else cfg.lrelu_upsampling)
        mods[name] = persistent(
            "SynthesisLayer", p(f"L{i}", {"weight": layer.weight, "bias": layer.bias}),
            {"magnitude_ema": layer.magnitude_ema, "up_filter": layer.up_filter, "down_filter": layer.down_filter},
            {"affine": fc(layer.affine)}, marker, version, w_dim=cfg.w_dim, is_torgb=sp.is_torgb,
            is_critically_sampled=sp.is_critically_sampled, use_fp16=np.bool_(sp.use_fp16),
            in_channels=sp.in_channels, out_channels=sp.out_channels,
            in_size=np.array([sp.in_size] * 2, dtype=np.int64), out_size=np.array([sp.out_size] * 2, dtype=np.int64),
            in_sampling_rate=sp.in_sampling_rate, out_sampling_rate=sp.out_sampling_rate, tmp_sampling_rate=tmp,
            in_cutoff=np.float64(sp.in_cutoff), out_cutoff=np.float64(sp.out_cutoff),
            in_half_width=np.float64(sp.in_half_width), out_half_width=np.float64(sp.out_half_width),
            conv_kernel=layer.conv_kernel, conv_clamp=cfg.conv_clamp, magnitude_ema_beta=cfg.magnitude_ema_beta,
            up_factor=layer.up_factor, up_taps=layer.up_taps, down_factor=layer.down_factor,
            down_taps=layer.down_taps, down_radial=layer.down_radial,
            padding=list((padding_of or {}).get(i, layer.padding)))
    synthesis_kwargs = {"channel_base": cfg.channel_base, "channel_max": cfg.channel_max,
                        "num_layers": cfg.num_layers, "num_critical": cfg.num_critical,
                        "margin_size": cfg.margin_size, "magnitude_ema_beta": cfg.magnitude_ema_beta}
    if cfg.conv_kernel == 1:
        synthesis_kwargs.update(conv_kernel=1, use_radial_filters=True)
    synthesis = persistent("SynthesisNetwork", {}, {}, mods, marker, version, w_dim=cfg.w_dim, num_ws=G.num_ws,
                           img_resolution=cfg.res, img_channels=cfg.channels, num_layers=cfg.num_layers,
                           num_critical=cfg.num_critical, margin_size=cfg.margin_size, output_scale=0.25,
                           num_fp16_res=4, layer_names=names, _init_kwargs=synthesis_kwargs)
    fcs = {f"fc{i}": fc(f, lr=cfg.mapping_lr_mul, activation="lrelu", name=f"mapping.fc{i}")
           for i, f in enumerate(G.mapping_net.fcs)}
    if embed is not None:  # self.embed is set before the fcs
        fcs = {"embed": fc(SimpleNamespace(**embed), name="mapping.embed"), **fcs}
    mapping = persistent("MappingNetwork", {}, {"w_avg": G.w_avg}, fcs, marker, version, z_dim=cfg.z_dim,
                         c_dim=c_dim, w_dim=cfg.w_dim, num_ws=G.num_ws, num_layers=cfg.mapping_layers,
                         w_avg_beta=0.998, **({} if embed is not None else {"embed": None}))
    kwargs = {"z_dim": cfg.z_dim, "w_dim": cfg.w_dim, "mapping_kwargs": easydict(num_layers=cfg.mapping_layers),
              **synthesis_kwargs, "c_dim": c_dim, "img_resolution": cfg.res, "img_channels": cfg.channels,
              **(init_extra or {})}
    del kwargs["num_layers"], kwargs["num_critical"], kwargs["margin_size"]  # train.py leaves them at defaults
    return persistent("Generator", {}, {}, {"synthesis": synthesis, "mapping": mapping}, marker, version,
                      z_dim=cfg.z_dim, c_dim=c_dim, w_dim=cfg.w_dim, img_resolution=cfg.res,
                      img_channels=cfg.channels, num_ws=G.num_ws, _init_kwargs=easydict(**kwargs))


def write_nvidia_sg3(path: Path, G, marker: Path, protocol: int = 4, dataset: str = "afhq.zip", **kw) -> Path:
    """A stylegan3 training snapshot (training_loop.py): G, D, G_ema, augment_pipe, training_set_kwargs."""
    net = nvidia_stylegan3(G, marker, **kw)
    D = persistent("Discriminator", {}, {}, {}, marker, img_resolution=G.cfg.res)
    snapshot = {"G": net, "D": D, "G_ema": net, "augment_pipe": None,
                "training_set_kwargs": easydict(class_name="training.dataset.ImageFolderDataset", path=dataset,
                                                resolution=G.cfg.res, use_labels=G.cfg.c_dim > 0)}
    buf = io.BytesIO()
    Writer(buf, protocol=protocol).dump(snapshot)
    path.write_bytes(buf.getvalue())
    return path


def assert_same_sg3_images(G_src, G_imp, atol=1e-5):
    """Same ws, with and without a transform, both render paths, batch 1 and 3."""
    ws = G_src.mapping(torch.randn(3, G_src.z_dim), truncation_psi=0.7).detach()
    T = G_src.input_transform(0.1, -0.2, 25.0)
    for fast in (False, True):
        G_src.cfg.fast_inference = G_imp.cfg.fast_inference = fast
        for n in (1, 3):
            for transform in (None, T):
                with torch.no_grad():
                    a, b = G_src.synthesis(ws[:n], transform=transform), G_imp.synthesis(ws[:n], transform=transform)
                assert (a - b).abs().max() <= atol, ((a - b).abs().max(), fast, n)
    z = torch.randn(4, G_src.z_dim)
    with torch.no_grad():
        assert torch.allclose(G_src.mapping(z, truncation_psi=0.5, truncation_cutoff=3),
                              G_imp.mapping(z, truncation_psi=0.5, truncation_cutoff=3), atol=1e-6)


# ----------------------------------------------------------------------------- GAN Zoo layout
ZOO_CONFIG = Ref("models.utils.config", "BaseConfig")


class ZooPickle:
    """A `pickle_module` for torch.save that writes the Writer's stand-ins (BaseConfig objects)."""

    Pickler = Writer
    dump = staticmethod(pickle.dump)


def source_progan(seed: int = 0):
    torch.manual_seed(seed)
    G = build_generator("progan", {"res": 32, "channels": 3, "z_dim": 16, "fmap_base": 64, "fmap_max": 16,
                                   "fmap_min": 4}).eval()                      # depths 16, 16, 8, 4
    with torch.no_grad():
        for p in G.parameters():
            if p.ndim == 1:
                p.normal_(0, 0.2)
    return G


def write_ganzoo(path: Path, G, zoo_alpha: float, legacy: bool) -> Path:
    """ProgressiveGAN.save(): {'config': BaseConfig, 'netG', 'netD', 'avgG', 'tmp'} with GNet key names."""
    def zoo(layer, name, sd):
        fan_in = layer.weight[0].numel()
        c_zoo, c_ours = math.sqrt(2 / fan_in), layer.scale
        sd[f"{name}.module.weight"] = (layer.weight * c_ours / c_zoo).detach().clone()
        sd[f"{name}.module.bias"] = (layer.bias / c_zoo).detach().clone()

    sd = {}
    zoo(G.dense, "formatLayer", sd)
    zoo(G.conv0[0], "groupScale0.0", sd)
    for i, block in enumerate(G.blocks):
        zoo(block[0], f"scaleLayers.{i}.0", sd)
        zoo(block[3], f"scaleLayers.{i}.1", sd)
    for s, rgb in enumerate(G.to_rgb):
        zoo(rgb, f"toRGBLayers.{s}", sd)
    depths = [G.cfg.width(s) for s in range(G.num_stages)]
    config = NewObj(ZOO_CONFIG, {"depthScale0": depths[0], "depthOtherScales": depths[1:], "initBiasToZero": True,
                                 "leakyReluLeak": 0.2, "perChannelNormalization": True, "alpha": zoo_alpha,
                                 "miniBatchStdDev": True, "equalizedlR": True, "noiseVectorDim": 16, "dimOutput": 3,
                                 "learningRate": 0.001, "attribKeysOrder": None, "categoryVectorDim": 0,
                                 "weightConditionG": 0.0, "weightConditionD": 0.0, "GDPP": False,
                                 "latentVectorDim": 16, "lossCriterion": "WGANGP", "lambdaGP": 10.0, "epsilonD": 0.001})
    tmp = NewObj(ZOO_CONFIG, {"iter": 1000})
    netG = {k: v + 1.0 for k, v in sd.items()}  # the raw G differs: the importer must take avgG
    torch.save({"config": config, "netG": netG, "netD": {"toRGBLayers.0.module.weight": torch.zeros(1)},
                "avgG": sd, "tmp": tmp}, path, pickle_module=ZooPickle, pickle_protocol=2,
               _use_new_zipfile_serialization=not legacy)
    return path


# ----------------------------------------------------------------------------- round trips
@pytest.fixture
def services(tmp_path):
    weights, runs = tmp_path / "weights", tmp_path / "runs"
    weights.mkdir()
    runs.mkdir()
    return Services(weights, runs, torch.device("cpu"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("converted", [True, False], ids=["convert_weight", "train_snapshot"])
def test_rosinality_import_reproduces_the_model(tmp_path, converted):
    G = source_stylegan2()
    src = write_rosinality(tmp_path / "550000.pt", G, converted)
    r = import_checkpoint(src, tmp_path / "w", "rosi")
    G_imp, meta = load_generator(r.json_path)
    assert r.source_format == meta["train"]["source_format"] == "rosinality"
    assert meta["train"]["source_sha256"] == sha256(src) and meta["config"]["upsample"] == "fir"
    if converted:
        assert_same_images(G, G_imp)
    else:  # no latent_avg: w_avg is estimated, so compare the synthesis and the untruncated mapping
        G_imp.w_avg.copy_(G.w_avg)
        assert_same_images(G, G_imp)
        assert "estimated" in meta["train"]["import"]["w_avg"]


@pytest.mark.parametrize("protocol", [3, 4])
def test_nvidia_pickle_import_reproduces_the_model_without_running_its_code(tmp_path, protocol):
    marker = tmp_path / "pickled-source-ran"
    G = source_stylegan2(conv_clamp=1.0)
    src = write_nvidia(tmp_path / "network-snapshot-000400.pkl", G, marker, protocol, conv_clamp=1.0)
    r = import_checkpoint(src, tmp_path / "w", "nv")
    assert not marker.exists()  # the module source the pickle carries was never executed
    assert not {"torch_utils", "dnnlib", "training"} & {m.split(".")[0] for m in sys.modules}
    G_imp, meta = load_generator(r.json_path)
    assert meta["config"]["conv_clamp"] == 1.0 and meta["config"]["w_avg_beta"] == 0.998
    assert meta["train"]["source_format"] == "nvidia-pkl" and meta["train"]["source_sha256"] == sha256(src)
    assert_same_images(G, G_imp)
    with torch.no_grad():  # the clamp is live: without it the images differ
        G.cfg.fast_inference = False
        ws = G.mapping(torch.randn(2, 8))
        unclamped = build_generator("stylegan", SG2)
        unclamped.load_state_dict(G.state_dict())
        assert (unclamped.synthesis(ws) - G.synthesis(ws)).abs().max() > 1e-3


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_ganzoo_pgan_import_reproduces_the_model_mid_fade(tmp_path, legacy):
    G = source_progan()
    src = write_ganzoo(tmp_path / "celeba_s3_i48000.pt", G, zoo_alpha=0.25, legacy=legacy)
    r = import_checkpoint(src, tmp_path / "w", "zoo")
    G_imp, meta = load_generator(r.json_path)
    assert meta["train"]["import"]["generator"] == "avgG" and meta["train"]["source_format"] == "ganzoo-pgan"
    stage, alpha = trained_growth(G_imp, meta)
    assert (stage, alpha) == (3, 0.75)  # the zoo's alpha weighs the old path, ours the new layers
    z = torch.randn(3, 16)
    with torch.no_grad():  # the writer's rescaling round trip alone costs ~3e-5 on outputs of size ~4
        for s, a in ((stage, alpha), (stage, 1.0), (1, 1.0)):
            assert torch.allclose(G(z, stage=s, alpha=a), G_imp(z, stage=s, alpha=a), atol=1e-4)
    assert "models" not in sys.modules


def test_imports_open_in_every_tab_with_their_facts(tmp_path, services):
    marker = tmp_path / "ran"
    write_nvidia(tmp_path / "nv.pkl", source_stylegan2(seed=1), marker)
    write_ganzoo(tmp_path / "zoo.pt", source_progan(), 0.0, legacy=False)
    for fn, name in (("nv.pkl", "my-stylegan2"), ("zoo.pt", "my-pgan")):
        text, update = import_upload(services, str(tmp_path / fn), name)
        assert update["value"] == name and name in update["choices"] and "Imported" in text
    entries = {e.name: e for e in list_checkpoints(services.weights_dir)}
    sg = entries["my-stylegan2"]
    assert sg.facts.mapping_layers == 2 and sg.facts.num_ws == 6 and sg.facts.imported_from == "nvidia-pkl"
    assert sg.facts.params == sum(p.numel() for p in source_stylegan2().parameters())
    assert "mapping depth 2" in sg.summary and "num_ws 6" in sg.summary and " MB)" in sg.summary
    assert "num_ws 1" in entries["my-pgan"].summary
    # Generate tab: the info line shows the facts.
    grid, info = generate(services, "my-stylegan2", "0-3", 0.7)
    assert grid.shape[2] == 3 and "mapping depth 2" in info and "num_ws 6" in info
    # StyleGAN tab: mixing and noise act on the imported model.
    c = dict(seed_a=3, seed_b=7, strengths=[1.0] * MAX_LAYERS, cutoff=MAX_WS)
    a, mix, b, _ = render(services, Controls("my-stylegan2", mix=[0.0] * MAX_WS, **c))
    np.testing.assert_array_equal(a, mix)
    _, mixed, _, _ = render(services, Controls("my-stylegan2", mix=[0.0] * 2 + [1.0] * 4 + [0.0] * (MAX_WS - 6), **c))
    assert not np.array_equal(mixed, a) and not np.array_equal(mixed, b)
    _, quiet, _, _ = render(services, Controls("my-stylegan2", mix=[0.0] * MAX_WS, noise_mode="none", **c))
    assert np.abs(quiet.astype(int) - a.astype(int)).mean() > 0.5
    # ProGAN tab: the imported PGAN grows stage by stage.
    pics = services.renderer.render_growth(entries["my-pgan"].path, 3)
    assert [p.shape[0] for p in pics] == [4, 8, 16, 32]
    assert not marker.exists()


def test_cli_import_and_its_errors(tmp_path, capsys):
    src = write_rosinality(tmp_path / "g.pt", source_stylegan2(), converted=True)
    assert cli_main(["import", str(src), "--name", "cli-model", "--weights", str(tmp_path / "w")]) == 0
    assert "rosinality" in capsys.readouterr().out and (tmp_path / "w" / "cli-model.safetensors").is_file()
    assert cli_main(["import", str(src), "--name", "cli-model", "--weights", str(tmp_path / "w")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli_main(["import", str(src), "--name", "cli-model", "--weights", str(tmp_path / "w"), "--force"]) == 0


def test_python_m_explorer_weights_import(tmp_path):
    src = write_rosinality(tmp_path / "g.pt", source_stylegan2(), converted=True)
    out = subprocess.run([sys.executable, "-m", "explorer.weights", "import", str(src), "--name", "m",
                          "--weights", str(tmp_path / "w")], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert out.returncode == 0, out.stderr
    assert "RuntimeWarning" not in out.stderr and (tmp_path / "w" / "m.json").is_file()


# ----------------------------------------------------------------------------- refusals
def assert_refused(src: Path, weights: Path, kind: str, *words: str):
    with pytest.raises(ImportRefused) as e:
        import_checkpoint(src, weights, "refused-model")
    assert e.value.kind == kind, str(e.value)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert not weights.exists() or not any(weights.iterdir())  # nothing written, not even half


def test_a_pickle_that_calls_os_system_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    for module in ("os", "posix", "subprocess", "builtins"):
        name = {"subprocess": "call", "builtins": "exec"}.get(module, "system")
        buf = io.BytesIO()
        cmd = f"touch {marker}" if name != "exec" else f"open({str(marker)!r}, 'w')"
        Writer(buf, protocol=3).dump({"G_ema": Reduce(Ref(module, name), (cmd,))})
        (tmp_path / "evil.pkl").write_bytes(buf.getvalue())
        assert_refused(tmp_path / "evil.pkl", tmp_path / "w", "refused",
                       f"refused: this file wants to run {module}.{name}")
        assert not marker.exists()


def test_os_system_inside_a_torch_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    Writer(buf, protocol=2).dump({"g_ema": Reduce(Ref("os", "system"), (f"touch {marker}",))})
    torch.save({"g_ema": {}}, tmp_path / "base.pt")
    with zipfile.ZipFile(tmp_path / "base.pt") as zin, zipfile.ZipFile(tmp_path / "evil.pt", "w") as zout:
        for item in zin.infolist():
            data = buf.getvalue() if item.filename.endswith("data.pkl") else zin.read(item)
            zout.writestr(item, data)
    assert_refused(tmp_path / "evil.pt", tmp_path / "w", "refused", "refused: this file wants to run os.system")
    assert not marker.exists()


def test_an_unknown_class_is_refused(tmp_path):
    marker = tmp_path / "ran"
    buf = io.BytesIO()
    Writer(buf, protocol=4).dump({"G_ema": NewObj(Ref("training.networks", "Generator"), {"z_dim": 8})})
    (tmp_path / "unknown.pkl").write_bytes(buf.getvalue())
    assert_refused(tmp_path / "unknown.pkl", tmp_path / "w", "refused",
                   "refused: this file wants to run training.networks.Generator")
    # ... also deep inside an otherwise valid network pickle
    path = write_nvidia(tmp_path / "nv.pkl", source_stylegan2(), marker)
    data = path.read_bytes().replace(b"dnnlib.util\nEasyDict", b"dnnlib.util\nEvilDict")
    path.write_bytes(data)
    assert_refused(path, tmp_path / "w", "refused", "dnnlib.util.EvilDict")
    assert not marker.exists()


def test_tensorflow_pickles_get_their_own_message(tmp_path):
    marker = tmp_path / "ran"
    buf = io.BytesIO()
    tf_net = NewObj(Ref("dnnlib.tflib.network", "Network"), {"version": 4, "name": "G_synthesis",
                                                              "build_module_src": "import os", "variables": []})
    Writer(buf, protocol=3).dump((tf_net, tf_net, tf_net))
    (tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl").write_bytes(buf.getvalue())
    assert_refused(tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl", tmp_path / "w", "unsupported",
                   "TensorFlow", "legacy.py")
    assert not marker.exists()


def test_truncated_files_say_so(tmp_path):
    marker = tmp_path / "ran"
    pkl = write_nvidia(tmp_path / "nv.pkl", source_stylegan2(), marker)
    rosi = write_rosinality(tmp_path / "r.pt", source_stylegan2(), converted=True)
    legacy = write_ganzoo(tmp_path / "z.pt", source_progan(), 0.0, legacy=True)
    for src in (pkl, rosi, legacy):
        cut = tmp_path / f"cut-{src.name}"
        cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
        assert_refused(cut, tmp_path / "w", "unreadable", "truncated or damaged")


@pytest.mark.parametrize("content, kind, words", [
    (b"", "unreadable", ["is empty"]),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "unsupported", ["a PNG image", "rosinality"]),
    (b'{"format": 1}', "unsupported", ["JSON"]),
    (b"<!DOCTYPE html><html>", "unsupported", ["HTML"]),
    (bytes(range(7, 90)), "unsupported", ["not a format GAN Explorer knows", "NVIDIA"]),
], ids=["empty", "png", "json", "html", "random"])
def test_wrong_files_say_what_they_look_like(tmp_path, content, kind, words):
    (tmp_path / "model.pt").write_bytes(content)
    assert_refused(tmp_path / "model.pt", tmp_path / "w", kind, *words)


def test_other_wrong_files(tmp_path):
    with zipfile.ZipFile(tmp_path / "faces.zip", "w") as z:
        z.writestr("img/0001.png", b"\x89PNG")
    assert_refused(tmp_path / "faces.zip", tmp_path / "w", "unsupported", "not a PyTorch checkpoint", "dataset")
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(2)}, tmp_path / "m.safetensors")
    assert_refused(tmp_path / "m.safetensors", tmp_path / "w", "unsupported", "safetensors", ".json")
    torch.save({"state_dict": {"fc.weight": torch.zeros(2)}}, tmp_path / "resnet.pt")
    assert_refused(tmp_path / "resnet.pt", tmp_path / "w", "unsupported", "no kind GAN Explorer knows", "state_dict")
    buf = io.BytesIO()
    Writer(buf, protocol=3).dump({"G": 1, "D": 2})
    (tmp_path / "nog.pkl").write_bytes(buf.getvalue())
    assert_refused(tmp_path / "nog.pkl", tmp_path / "w", "unsupported", "no 'G_ema'")


def test_names_and_sizes_are_checked_before_anything_is_written(tmp_path, services, monkeypatch):
    src = write_rosinality(tmp_path / "g.pt", source_stylegan2(), converted=True)
    for bad in ("../escape", "a/b", "", ".hidden", "x" * 65):
        with pytest.raises(ImportRefused, match="cannot be a model name"):
            import_checkpoint(src, tmp_path / "w", bad)
    with pytest.raises(ImportRefused, match="import limit"):
        import_checkpoint(src, tmp_path / "w", "ok", max_bytes=100)
    assert not (tmp_path / "w").exists() and not (tmp_path / "escape.json").exists()
    # The upload handler: its own cap, errors as gr.Error sentences, the file's name as default name.
    monkeypatch.setattr("explorer.ui.import_panel.UPLOAD_MAX_BYTES", 100)
    with pytest.raises(gr.Error, match="upload limit"):
        import_upload(services, str(src), "ok")
    monkeypatch.undo()
    with pytest.raises(gr.Error, match="Choose a checkpoint"):
        import_upload(services, None, "ok")
    (tmp_path / "bad.pt").write_bytes(b"\x89PNG" + bytes(20))
    with pytest.raises(gr.Error, match="a PNG image"):
        import_upload(services, str(tmp_path / "bad.pt"), "ok")
    text, update = import_upload(services, str(src), "")
    assert update["value"] == "g" and (services.weights_dir / "g.json").is_file()
    with pytest.raises(gr.Error, match="already exists"):
        import_upload(services, str(src), "g")
    assert json.loads((services.weights_dir / "g.json").read_text())["train"]["source_file"] == "g.pt"


# ----------------------------------------------------------------------------- StyleGAN3
@pytest.mark.parametrize("variant, protocol", [("t", 4), ("r", 4), ("t", 3)])
def test_stylegan3_pickle_import_reproduces_the_model_without_running_its_code(tmp_path, variant, protocol):
    marker = tmp_path / "pickled-source-ran"
    G = source_stylegan3(variant)
    src = write_nvidia_sg3(tmp_path / "network-snapshot-000200.pkl", G, marker, protocol)
    r = import_checkpoint(src, tmp_path / "w", f"sg3{variant}")
    assert not marker.exists()
    assert not {"torch_utils", "dnnlib", "training"} & {m.split(".")[0] for m in sys.modules}
    G_imp, meta = load_generator(r.json_path)
    assert r.arch == meta["arch"] == "stylegan3" and meta["train"]["source_format"] == "nvidia-pkl"
    assert meta["config"]["conv_kernel"] == (1 if variant == "r" else 3) and meta["config"]["conv_clamp"] == 256.0
    assert meta["train"]["import"]["variant"] == ("StyleGAN3-R" if variant == "r" else "StyleGAN3-T")
    assert "differs by at most 0.0e+00" in meta["train"]["import"]["filters"]  # our filter design is NVIDIA's
    assert G_imp.cfg.variant == f"stylegan3-{variant}" and not G_imp.capabilities.noise
    assert_same_sg3_images(G, G_imp)


def test_an_imported_stylegan3_renders_in_the_explorer(tmp_path, services):
    from explorer.render.style import StyleRequest, StyleRenderer

    write_nvidia_sg3(tmp_path / "sg3.pkl", source_stylegan3(seed=2), tmp_path / "ran")
    text, update = import_upload(services, str(tmp_path / "sg3.pkl"), "my-stylegan3")
    assert update["value"] == "my-stylegan3" and "Imported" in text
    entry = {e.name: e for e in list_checkpoints(services.weights_dir)}["my-stylegan3"]
    assert entry.arch == "stylegan3" and entry.facts.num_ws == 6 and entry.facts.mapping_layers == 2
    grid, info = generate(services, "my-stylegan3", "0-3", 0.7)
    assert grid.shape[2] == 3 and grid.std() > 1 and "num_ws 6" in info
    style = StyleRenderer(services.renderer)
    req = StyleRequest(entry.path, seed_a=3, seed_b=7, mix=(0.0,) * 6)
    out = style.render(req)
    np.testing.assert_array_equal(out["a"].picture, out["mix"].picture)
    mixed = style.render(StyleRequest(entry.path, seed_a=3, seed_b=7, mix=(0.0, 0.0, 1.0, 1.0, 1.0, 1.0)))
    assert not np.array_equal(mixed["mix"].picture, out["a"].picture)
    assert not np.array_equal(mixed["mix"].picture, out["b"].picture)
    assert mixed["mix"].first_layer == 2  # the mix re-ran the layers from the first moved style on


def test_stylegan3_refusals_say_what_and_write_nothing(tmp_path):
    marker, w = tmp_path / "ran", tmp_path / "w"
    G = source_stylegan3()
    cases = [
        ({"drop": "L1.bias"}, "unreadable", ["has no synthesis.L1_", ".bias", "incomplete"]),
        ({"drop": "mapping.fc1.weight"}, "unreadable", ["has no mapping.fc1.weight"]),
        ({"init_extra": {"use_fancy_filters": True}}, "unsupported", ["use_fancy_filters", "modified version"]),
        ({"init_extra": {"mapping_kwargs": easydict(num_layers=2, embed_features=4)}}, "unsupported",
         ["mapping_kwargs.embed_features"]),
        ({"version": 7}, "unsupported", ["newer version", "format 7", "up to 6"]),
        ({"c_dim": 10}, "unreadable", ["records c_dim = 10 classes", "no class embedding", "incomplete"]),
        ({"padding_of": {2: (1, 2, 3, 4)}}, "unsupported", ["records padding = [1, 2, 3, 4]", "not supported"]),
    ]
    for kw, kind, words in cases:
        src = write_nvidia_sg3(tmp_path / "sg3.pkl", G, marker, **kw)
        assert_refused(src, w, kind, *words)
    # A malicious reducer in place of a recorded setting, and numpy's array rebuilder asked to build something else.
    data = write_nvidia_sg3(tmp_path / "sg3.pkl", G, marker).read_bytes()
    buf = io.BytesIO()
    net = nvidia_stylegan3(G, marker)
    net.args[0]["state"]["_modules"]["synthesis"].args[0]["state"]["margin_size"] = Reduce(Ref("os", "system"),
                                                                                           (f"touch {marker}",))
    Writer(buf, protocol=4).dump({"G_ema": net})
    (tmp_path / "evil.pkl").write_bytes(buf.getvalue())
    assert_refused(tmp_path / "evil.pkl", w, "refused", "refused: this file wants to run os.system")
    buf = io.BytesIO()
    net = nvidia_stylegan3(G, marker)
    net.args[0]["state"]["_modules"]["synthesis"].args[0]["state"]["layer_names"] = Reduce(
        Ref("numpy.core.multiarray", "_reconstruct"), (Ref("builtins", "eval"), (0,), b"b"))
    Writer(buf, protocol=4).dump({"G_ema": net})
    (tmp_path / "evil2.pkl").write_bytes(buf.getvalue())
    assert_refused(tmp_path / "evil2.pkl", w, "refused", "builtins.eval")
    assert not marker.exists()
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(data[: len(data) // 2])
    assert_refused(cut, w, "unreadable", "truncated or damaged")


# ----------------------------------------------------------------------------- class-conditional pickles
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def assert_same_class_images(G_src, G_imp, sg3: bool = False, atol=1e-5):
    """For given z and class: the same ws (an index or its one-hot row alike) and the same images (both render
    paths; StyleGAN3 also under an input transform); and the class changes the image."""
    z = torch.randn(3, G_src.z_dim)
    T = G_src.input_transform(0.1, -0.2, 25.0) if sg3 else None
    pictures = {}
    for label in (0, 1, G_src.c_dim - 1):
        with torch.no_grad():
            ws = map_z(G_src, z, label, truncation_psi=0.7)
            assert torch.allclose(ws, map_z(G_imp, z, label, truncation_psi=0.7), atol=1e-6)
            hot = torch.nn.functional.one_hot(torch.full((3,), label), G_src.c_dim).float()
            assert torch.allclose(ws, G_imp.mapping(z, hot, truncation_psi=0.7), atol=1e-6)
            for fast in (False, True):
                G_src.cfg.fast_inference = G_imp.cfg.fast_inference = fast
                for transform in ((None, T) if sg3 else (None,)):
                    kw = {"transform": transform} if sg3 else {}
                    a, b = G_src.synthesis(ws, **kw), G_imp.synthesis(ws, **kw)
                    assert (a - b).abs().max() <= atol, ((a - b).abs().max(), label, fast)
            pictures[label] = b
    assert (pictures[0] - pictures[1]).abs().mean() > 1e-2  # same z, another class: another image


def test_conditional_stylegan2_ada_pickle_imports_with_its_classes(tmp_path):
    marker = tmp_path / "pickled-source-ran"
    G = source_stylegan2(conv_clamp=256.0, c_dim=10)
    src = write_nvidia(tmp_path / "network-snapshot-cifar.pkl", G, marker, protocol=4, conv_clamp=256.0,
                       dataset="~/datasets/cifar10-32x32.zip")
    r = import_checkpoint(src, tmp_path / "w", "cifar")
    assert not marker.exists()
    assert not {"torch_utils", "dnnlib", "training"} & {m.split(".")[0] for m in sys.modules}
    meta = json.loads(r.json_path.read_text())
    assert meta["config"]["c_dim"] == 10 and meta["config"]["class_names"] == CIFAR10
    assert "named as CIFAR-10's" in meta["train"]["import"]["classes"]
    G_imp, _ = load_generator(r.json_path)
    assert G_imp.c_dim == 10 and G_imp.cfg.class_names == CIFAR10
    assert_same_class_images(G, G_imp)
    assert_same_images(G, G_imp)  # c=None (the classes in turn) and the noise paths as for unconditional ones


def test_conditional_stylegan3_pickle_imports_with_its_classes(tmp_path):
    marker = tmp_path / "pickled-source-ran"
    G = source_stylegan3(seed=3, c_dim=3)
    with torch.no_grad():
        G.mapping_net.embed.bias.normal_(0, 0.3)
    src = write_nvidia_sg3(tmp_path / "network-snapshot-afhq.pkl", G, marker, dataset="/data/afhq-512x512.zip")
    r = import_checkpoint(src, tmp_path / "w", "afhq")
    assert not marker.exists()
    meta = json.loads(r.json_path.read_text())
    assert r.arch == "stylegan3" and meta["config"]["c_dim"] == 3 and "class_names" not in meta["config"]
    assert "unnamed" in meta["train"]["import"]["classes"]  # AFHQ's labels have no fixed order: indices
    G_imp, _ = load_generator(r.json_path)
    assert G_imp.c_dim == 3 and G_imp.cfg.class_names is None
    assert_same_class_images(G, G_imp, sg3=True)


def test_unconditional_imports_record_no_classes(tmp_path):
    r = import_checkpoint(write_nvidia(tmp_path / "nv.pkl", source_stylegan2(), tmp_path / "ran",
                                       dataset="cifar10.zip"), tmp_path / "w", "plain")
    meta = json.loads(r.json_path.read_text())
    assert "c_dim" not in meta["config"] and "class_names" not in meta["config"]
    assert "classes" not in meta["train"]["import"]


@pytest.mark.parametrize("path, c_dim, use_labels, named", [
    ("~/datasets/cifar10-32x32.zip", 10, True, True),
    ("/data/CIFAR-10", 10, True, True),
    ("C:\\datasets\\cifar_10_train.zip", 10, True, True),
    ("/data/cifar10/", 10, None, True),            # an image folder; use_labels not recorded
    ("cifar100-32x32.zip", 10, True, False),        # CIFAR-100 is not CIFAR-10
    ("cifar10-32x32.zip", 5, True, False),          # a CIFAR-10 subset: its labels' order is unknown
    ("cifar10-32x32.zip", 10, False, False),
    ("/runs/cifar10-ablation/faces.zip", 10, True, False),  # only the dataset's own name counts
    ("", 10, True, False),
])
def test_class_names_come_only_from_a_dataset_we_know(path, c_dim, use_labels, named):
    kwargs = {"path": path} if use_labels is None else {"path": path, "use_labels": use_labels}
    names, dataset = dataset_class_names(kwargs, c_dim)
    assert (names == CIFAR10 and dataset == "CIFAR-10") if named else (names is None and dataset is None)
    assert dataset_class_names({"path": 7}, 10) == (None, None) and list(KNOWN_DATASETS) == ["CIFAR-10"]


def test_conditional_refusals_say_what_and_write_nothing(tmp_path):
    marker, w = tmp_path / "ran", tmp_path / "w"
    G, plain = source_stylegan2(c_dim=10), source_stylegan2()
    E = G.mapping_net.embed
    cases = [  # (the writer's arguments, the generator written, kind, words)
        ({"c_dim": -1}, G, "unreadable", ["c_dim = -1", "not a number of classes"]),
        ({"c_dim": "ten"}, G, "unreadable", ["c_dim = 'ten'", "not a number of classes"]),
        ({"c_dim": 2.5}, G, "unreadable", ["c_dim = 2.5"]),
        ({"c_dim": MAX_CLASSES + 1}, G, "unsupported", [f"c_dim = {MAX_CLASSES + 1}", f"({MAX_CLASSES})"]),
        ({"c_dim": 10}, plain, "unreadable", ["records c_dim = 10 classes", "no class embedding", "incomplete"]),
        ({"c_dim": 0}, G, "unreadable", ["class embedding (mapping.embed)", "c_dim = 0", "inconsistent"]),
        ({"c_dim": 0, "embed": {"weight": E.weight[:, :1], "bias": E.bias}}, plain, "unreadable",
         ["mapping.embed", "c_dim = 0"]),
        ({"embed": {"weight": E.weight[:, :5], "bias": E.bias}}, G, "unreadable",
         ["mapping.embed.weight is [8, 5]", "10 classes need [8, 10]", "damaged"]),
        ({"embed": {"weight": E.weight[:4], "bias": E.bias[:4]}}, G, "unsupported",
         ["4 features where w_dim is 8", "embed_features"]),
        ({"embed": {"weight": E.weight, "bias": E.bias[:3]}}, G, "unreadable", ["bias is [3]", "needs [8]"]),
    ]
    for kw, net, kind, words in cases:
        assert_refused(write_nvidia(tmp_path / "c.pkl", net, marker, **kw), w, kind, *words)
    # The places a pickle records c_dim must agree: the mapping network says 3, the Generator 10.
    buf = io.BytesIO()
    net = nvidia_generator(G, marker)
    net.args[0]["state"]["_modules"]["mapping"].args[0]["state"]["c_dim"] = 3
    Writer(buf, protocol=4).dump({"G_ema": net})
    (tmp_path / "two.pkl").write_bytes(buf.getvalue())
    assert_refused(tmp_path / "two.pkl", w, "unreadable", "different numbers of classes", "G_ema.mapping 3")
    # StyleGAN3: the same checks.
    G3 = source_stylegan3(c_dim=3)
    for kw, kind, words in [
        ({"c_dim": 0}, "unreadable", ["class embedding", "c_dim = 0"]),
        ({"c_dim": MAX_CLASSES * 10}, "unsupported", ["more than GAN Explorer supports"]),
        ({"embed": {}}, "unreadable", ["records c_dim = 3 classes", "no class embedding"]),
        ({"drop": "mapping.embed.bias"}, "unreadable", ["has no mapping.embed.bias", "incomplete"]),
        ({"embed": {"weight": G3.mapping_net.embed.weight[:, :2], "bias": G3.mapping_net.embed.bias}},
         "unreadable", ["[8, 2]", "3 classes need [8, 3]"]),
    ]:
        assert_refused(write_nvidia_sg3(tmp_path / "c3.pkl", G3, marker, **kw), w, kind, *words)
    assert not marker.exists()


def test_cli_prints_a_conditional_imports_classes(tmp_path, capsys):
    src = write_nvidia(tmp_path / "c.pkl", source_stylegan2(c_dim=10), tmp_path / "ran", dataset="cifar10.zip")
    assert cli_main(["import", str(src), "--name", "cifar", "--weights", str(tmp_path / "w")]) == 0
    assert "10 classes (airplane, automobile," in capsys.readouterr().out
    G3 = source_stylegan3(c_dim=3)
    src = write_nvidia_sg3(tmp_path / "c3.pkl", G3, tmp_path / "ran")
    assert cli_main(["import", str(src), "--name", "afhq", "--weights", str(tmp_path / "w")]) == 0
    assert "3 classes (unnamed: shown as indices)" in capsys.readouterr().out

"""rosinality/stylegan2-pytorch checkpoints (a torch file with 'g_ema', a Generator state dict) -> our StyleGAN2.

The architecture is read from tensor shapes: style.1..n_mlp are the mapping layers (style_dim wide),
input.input the 4x4 constant, conv1 + to_rgb1 the 4x4 block, convs.{2k} (upsampling) and convs.{2k+1}
plus to_rgbs.{k} each higher resolution. Their modulated convs, noise injections (one scalar weight
each), fused-lrelu biases and skip toRGBs map onto StyleGANConfig(variant="modulated", upsample="fir");
the upsampling weights are flipped (rosinality's transposed conv convolves, ours correlates).
w_avg is the checkpoint's latent_avg when it has one (converted official weights); training snapshots
have none, so it is estimated as the mean w of 10,000 fixed-seed z, as rosinality's own mean_latent()."""

from __future__ import annotations

import re

import torch

from .errors import unreadable, unsupported
from .nvidia import FILTER, fit_widths
from .tensors import TensorSource

W_AVG_SAMPLES = 10_000


class TrainArgs:
    """Stands in for the argparse.Namespace that rosinality's training snapshots pickle as 'args':
    attributes only, nothing callable."""


def convert(ckpt: dict) -> tuple[dict, dict[str, torch.Tensor], dict]:
    """(our StyleGANConfig fields, our state dict without w_avg's estimate, notes for the JSON)."""
    t = ckpt.get("g_ema")
    if not isinstance(t, dict) or not all(isinstance(v, torch.Tensor) for v in t.values()):
        raise unreadable("'g_ema' in this checkpoint is not a state dict of tensors; the file is damaged.")
    if any(k.startswith("to_rgbs.") and "iwt" in k for k in t) or any(".dwt" in k or ".iwt" in k for k in t):
        raise unsupported("This is a SWAGAN (wavelet) checkpoint from rosinality's swagan.py; not supported yet.")
    mlp = sorted(int(m.group(1)) for k in t if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    n_convs = len([k for k in t if re.fullmatch(r"convs\.\d+\.conv\.weight", k)])
    if not mlp or "input.input" not in t or "conv1.conv.weight" not in t or n_convs % 2:
        raise unsupported("This state dict is not a rosinality StyleGAN2 generator (expected style.N, input.input, "
                          "conv1, convs.N and to_rgbs.N).")
    if mlp != list(range(1, len(mlp) + 1)):
        raise unreadable(f"The mapping layers style.{mlp} are not numbered 1..{len(mlp)}; the file is damaged.")
    style_dim = t["style.1.weight"].shape[1]
    res = 4 * 2 ** (n_convs // 2)
    channels = t["to_rgb1.conv.weight"].shape[1]
    widths = {4: t["input.input"].shape[1]}
    for k in range(n_convs // 2):
        widths[8 * 2**k] = t[f"convs.{2 * k}.conv.weight"].shape[1]
    for k, v in t.items():
        if k.endswith(("blur.kernel", "upsample.kernel")) and not torch.allclose(
                v.float(), torch.outer(FILTER, FILTER) / 16, atol=1e-6):
            raise unsupported(f"{k} is not the [1,3,3,1] blur kernel; other kernels are not supported yet.")
    args = ckpt.get("args")
    lr_mul = float(getattr(args, "lr_mlp", 0.01) or 0.01) if args is not None else 0.01
    config = {"res": res, "channels": channels, "variant": "modulated", "upsample": "fir", "z_dim": style_dim,
              "w_dim": style_dim, "mapping_layers": len(mlp), "mapping_lr_mul": lr_mul, **fit_widths(widths)}

    sd: dict[str, torch.Tensor] = {}
    src = TensorSource(t, "'g_ema'")
    take = src.take

    for i in mlp:
        sd[f"mapping_net.fcs.{i - 1}.weight"] = take(f"style.{i}.weight")
        sd[f"mapping_net.fcs.{i - 1}.bias"] = take(f"style.{i}.bias")
    sd["const"] = take("input.input")
    for i, name in enumerate(["conv1"] + [f"convs.{j}" for j in range(n_convs)]):
        w = take(f"{name}.conv.weight")[0]                                       # [O, I, 3, 3]
        sd[f"layers.{i}.conv.weight"] = w.flip(2, 3) if name.startswith("convs.") and i % 2 == 1 else w
        sd[f"layers.{i}.affine.weight"] = take(f"{name}.conv.modulation.weight")
        sd[f"layers.{i}.affine.bias"] = take(f"{name}.conv.modulation.bias")
        sd[f"layers.{i}.bias"] = take(f"{name}.activate.bias")
        sd[f"layers.{i}.noise_strength"] = take(f"{name}.noise.weight").reshape(()).expand(w.shape[0]).clone()
        sd[f"layers.{i}.noise_const"] = take(f"noises.noise_{i}")
    for j, name in enumerate(["to_rgb1"] + [f"to_rgbs.{k}" for k in range(n_convs // 2)]):
        sd[f"to_rgb.{j}.conv.weight"] = take(f"{name}.conv.weight")[0]
        sd[f"to_rgb.{j}.affine.weight"] = take(f"{name}.conv.modulation.weight")
        sd[f"to_rgb.{j}.affine.bias"] = take(f"{name}.conv.modulation.bias")
        sd[f"to_rgb.{j}.bias"] = take(f"{name}.bias").flatten()
    src.refuse_leftovers("StyleGAN2", lambda k: k.endswith(".kernel"), "; this is a variant we do not support yet.")
    latent_avg = ckpt.get("latent_avg")
    if isinstance(latent_avg, torch.Tensor) and latent_avg.numel() == style_dim:
        sd["w_avg"] = latent_avg.float().reshape(style_dim)
        notes = {"w_avg": "latent_avg from the checkpoint"}
    else:
        notes = {"w_avg": f"estimated: mean w of {W_AVG_SAMPLES} z drawn with torch.manual_seed(0) "
                          "(the checkpoint has no latent_avg)"}
    return config, sd, notes


@torch.no_grad()
def estimate_w_avg(G: torch.nn.Module, n: int = W_AVG_SAMPLES) -> torch.Tensor:
    """The mean w of n fixed-seed z: what truncation pulls towards when a checkpoint does not say."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(n, G.z_dim, generator=gen)
    return torch.cat([G.mapping_net(zb) for zb in z.split(1000)]).mean(0)

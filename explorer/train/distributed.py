"""Data-parallel helpers for the Trainer under torchrun (gloo on CPU, NCCL on CUDA).

Gradients are averaged with one all_reduce per phase instead of the DDP wrapper, which does not
support the gradient penalty's double backward and would need re-wrapping for every phase."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def broadcast_module(m: nn.Module, info: DistInfo, params: bool) -> None:
    """Rank 0's buffers (and parameters, if asked) to every rank."""
    if not info.enabled:
        return
    for t in list(m.buffers()) + (list(m.parameters()) if params else []):
        dist.broadcast(t.data, src=0)


def average_grads(m: nn.Module, info: DistInfo) -> None:
    """Mean of every rank's gradients, through one flat buffer."""
    if not info.enabled:
        return
    grads = [p.grad for p in m.parameters() if p.grad is not None]
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank when it is True on any (a stop request must be agreed on)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)

"""The importers' one error type: a sentence that says what the file is and what to do."""

from __future__ import annotations

SUPPORTED = ("GAN Explorer imports rosinality/stylegan2-pytorch checkpoints (.pt with 'g_ema'), NVIDIA "
             "stylegan2-ada-pytorch or stylegan3 network pickles of StyleGAN2 and StyleGAN3 (-T, -R) generators, "
             "unconditional or class-conditional (.pkl with 'G_ema'), "
             "and PyTorch GAN Zoo PGAN checkpoints (.pt/.pth with 'config' and 'netG'/'avgG').")


class ImportRefused(ValueError):
    """A checkpoint that is not imported. kind: "refused" (it asks to run code: nothing of it was run),
    "unsupported" (a format or architecture this version cannot convert) or "unreadable" (truncated,
    damaged or not a checkpoint at all)."""

    def __init__(self, kind: str, message: str):
        assert kind in ("refused", "unsupported", "unreadable"), kind
        super().__init__(message)
        self.kind = kind


def refused_global(what: str) -> ImportRefused:
    return ImportRefused("refused", f"refused: this file wants to run {what}, which a checkpoint never needs; "
                                    "nothing in it was run. Only import files from sources you trust, and "
                                    f"re-export the weights as a plain checkpoint. {SUPPORTED}")


def unsupported(message: str) -> ImportRefused:
    return ImportRefused("unsupported", message)


def unreadable(message: str) -> ImportRefused:
    return ImportRefused("unreadable", message)

"""A restricted unpickler for NVIDIA's network pickles (stylegan2-ada-pytorch, stylegan3).

Those pickles store each network as `torch_utils.persistence._reconstruct_persistent_obj(meta)`, where
meta holds the source code of the module that defined the class, the class name and the object's
__dict__ (parameters, buffers, submodules, constructor arguments, and for StyleGAN3 small numpy arrays). Unpickled the usual way, that source
is exec'd and dnnlib/torch_utils must be importable. Here every global the pickle names is looked up in
a short allowlist of stand-ins instead: a persistent object becomes a `Persistent` record (its source is
kept as text, never run), `dnnlib.util.EasyDict` a dict, tensors are rebuilt by torch's own weights-only
loader, numpy scalars and numeric arrays from their bytes (an object array is refused). Any other global is
refused before anything runs."""

from __future__ import annotations

import io
import pickle
import pickletools
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ImportRefused, refused_global, unreadable

PERSISTENCE = ("torch_utils.persistence", "_reconstruct_persistent_obj")
PERSISTENCE_VERSION = 6  # torch_utils/persistence.py's _version in every released stylegan2-ada-pytorch and stylegan3


@dataclass
class Persistent:
    """One persistent object, as data: the class it names and its state (an nn.Module's __dict__)."""

    class_name: str
    module_src: str        # the defining module's source, kept as text; never executed
    state: dict
    version: int = PERSISTENCE_VERSION  # the persistence format that wrote it


class EasyDict(dict):
    """Stands in for dnnlib.util.EasyDict: a plain dict (no attribute access, no code)."""


class NumpyDType:
    """Stands in for numpy.dtype while unpickling: a numeric type code and its byte order."""

    CODES = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"}

    def __init__(self, code, align=False, copy=True):
        if code not in self.CODES:
            raise refused_global(f"numpy.dtype({code!r})")
        self.code, self.byteorder = code, "<"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, NumpyDType) or not isinstance(data, bytes):
        raise refused_global("numpy.core.multiarray.scalar on something other than a number")
    order = "<" if dtype.byteorder in ("|", "=") else dtype.byteorder
    return np.frombuffer(data, dtype=np.dtype(dtype.code).newbyteorder(order), count=1)[0].item()


class NDArrayType:
    """Stands in for numpy.ndarray as the class argument of numpy's _reconstruct; never instantiated."""


class NumpyArray:
    """A numeric numpy array rebuilt from its pickled bytes (numpy.core.multiarray._reconstruct, then BUILD
    with (version, shape, dtype, is_fortran, raw bytes)); `.array` is the np.ndarray."""

    def __init__(self, cls, shape=None, typecode=None):
        if cls is not NDArrayType:
            raise refused_global("numpy._reconstruct of something other than an ndarray")
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], NumpyDType)
                and isinstance(state[4], bytes) and isinstance(state[1], tuple)):
            raise refused_global("a numpy array of objects")  # object arrays pickle a list, which may hold code
        _, shape, dtype, fortran, raw = state
        order = "<" if dtype.byteorder in ("|", "=") else dtype.byteorder
        flat = np.frombuffer(raw, dtype=np.dtype(dtype.code).newbyteorder(order))
        self.array = flat.reshape(tuple(int(d) for d in shape), order="F" if fortran else "C").copy()


def _reconstruct_persistent(meta):
    if not (isinstance(meta, dict) and meta.get("type") == "class" and isinstance(meta.get("class_name"), str)
            and isinstance(meta.get("state"), dict)):
        raise unreadable("A persistent object in this pickle has no class name or state; the file is damaged.")
    version = meta.get("version", PERSISTENCE_VERSION)
    if not isinstance(version, int):
        raise unreadable("A persistent object in this pickle has no format version; the file is damaged.")
    return Persistent(meta["class_name"], str(meta.get("module_src", "")), dict(meta["state"]), version)


def _load_storage(data):
    """torch.storage._load_from_bytes: a storage saved by torch.save, opened weights-only."""
    if not isinstance(data, bytes):
        raise unreadable("A tensor in this pickle has no data; the file is damaged.")
    try:
        storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise refused_global(f"code inside a tensor's storage ({str(e).splitlines()[0]})") from None
    if not isinstance(storage, torch.storage.TypedStorage):
        raise unreadable("A tensor's storage in this pickle holds something else; the file is damaged.")
    return storage


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *extra):
    if not isinstance(storage, torch.storage.TypedStorage) or hooks:
        raise refused_global("a tensor with hooks or foreign storage")
    return torch._utils._rebuild_tensor_v2(storage, offset, tuple(size), tuple(stride), False, OrderedDict())


def _rebuild_parameter(data, requires_grad=False, hooks=None, *state):
    if not isinstance(data, torch.Tensor) or hooks:
        raise refused_global("a parameter with hooks")
    return data


ALLOWED = {
    PERSISTENCE: _reconstruct_persistent,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("numpy", "dtype"): NumpyDType,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "ndarray"): NDArrayType,
    ("numpy.core.multiarray", "_reconstruct"): NumpyArray,
    ("numpy._core.multiarray", "_reconstruct"): NumpyArray,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise refused_global(f"{module}.{name}") from None

    def persistent_load(self, pid):
        raise refused_global("a persistent reference (not used by network pickles)")


def scan(f) -> tuple[set[tuple[str, str]], set[str]]:
    """Without running anything: the GLOBALs named directly, and the short strings, of a pickle stream.
    Used to tell a file's kind (TensorFlow, StyleGAN3) before unpickling it."""
    globals_, strings = set(), set()
    try:
        for op, arg, _ in pickletools.genops(f):
            if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                module, _, name = arg.partition(" ")
                globals_.add((module, name))
            elif isinstance(arg, str) and len(arg) < 64:
                strings.add(arg)
            if op.name == "STOP":
                break
    except (ValueError, EOFError, UnicodeDecodeError) as e:
        raise unreadable(f"The pickle is truncated or damaged ({str(e)[:120]}); download or copy it again.") from None
    return globals_, strings


def load(f):
    """Unpickle `f` (a binary file) with the allowlist; ImportRefused for anything else or a damaged file."""
    try:
        return RestrictedUnpickler(f).load()
    except ImportRefused:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, RuntimeError,
            AttributeError, KeyError, MemoryError) as e:
        raise unreadable(f"The pickle is truncated or damaged ({type(e).__name__}: {str(e)[:120]}); "
                         "download or copy it again.") from None

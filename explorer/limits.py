"""What a file or a config may make this process allocate, checked before anything is allocated.

Every size a file declares (an array's shape, an image's width and height, a zip member's length, a
model's layer widths and input shape) is turned into bytes and compared with these bounds first, so a
small hostile file is refused with one line instead of exhausting memory. Together they keep one
process well under 1 GB: torch itself takes about 250 MB, a dataset at its bound 2x its pixels while
it is split, a model at its bound 3x its weights while it loads.
"""
from __future__ import annotations

import lzma
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from explorer.errors import ConfigError

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig

MAX_DATASET_BYTES = 256 * 2**20  # one dataset's float32 pixels in memory (Fashion-MNIST: 220 MB)
MAX_IMAGE_PIXELS = 4096 * 4096   # one decoded image (a 12-megapixel photo fits)
MAX_MODEL_VALUES = 32 * 2**20    # one model's weights and buffers: 128 MiB as float32
MAX_WEIGHTS_BYTES = MAX_MODEL_VALUES * 4 + 2**20  # a model.safetensors file: the weights and a header
MAX_CONFIG_BYTES = 16 * 2**20    # a checkpoint's config.json, its training history included
MAX_FILES = 200_000              # files in a zip or a folder: each costs ~0.5 KB before it is read
MAX_REPLAY_FRAMES = 1024        # epochs one replay file may hold (the recorder keeps at most ~120)
MAX_REPLAY_POINTS = 4096        # test images a replay follows (the recorder takes 400)
MAX_REPLAY_BYTES = MAX_REPLAY_FRAMES * MAX_REPLAY_POINTS * 2 * 4 + 2**20  # replay.safetensors: float32 positions

# What zipfile raises for a damaged, truncated, encrypted or exotic archive once it is open.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, RuntimeError,
              NotImplementedError)
_CHUNK = 1 << 20


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``stream``: more than ``limit`` means the stream is over it,
    whatever its header said. Read in chunks, as one read(n) of a zip member grows its buffer by
    concatenation."""
    chunks, total = [], 0
    while total <= limit and (chunk := stream.read(min(_CHUNK, limit + 1 - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def zip_member_count(stream: BinaryIO) -> int:
    """How many members a zip's end record declares (0 if it has none), read before ZipFile builds an
    object per member. zipfile's own end-record reader is private but unchanged since Python 2.6, and
    using it means the count is the one ZipFile will then act on."""
    end = zipfile._EndRecData(stream)
    stream.seek(0)
    return 0 if end is None else end[zipfile._ECD_ENTRIES_TOTAL]


def outside_archive(name: str) -> bool:
    """Whether a zip member's name points outside the archive (``/x``, ``../x``, ``..\\x``); nothing is
    ever extracted, but such a name is a hostile archive's, so it is refused, not guessed at."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts


def check_model_size(model_cls: type, config: "AutoencoderConfig", input_shape: tuple[int, int, int],
                     n_classes: int) -> None:
    """Refuse a model whose weights and buffers would exceed :data:`MAX_MODEL_VALUES`, counted on
    torch's meta device, where modules have shapes but no storage: every variant's own layer
    arithmetic, for the cost of building its modules without memory."""
    import torch
    with torch.device("meta"):
        model = model_cls(config, input_shape, n_classes)
    values = sum(tensor.numel() for tensor in model.state_dict().values())
    if values > MAX_MODEL_VALUES:
        raise ConfigError(f"a {model.variant_name} with this config for images of shape {input_shape} has "
                          f"{values:,} weights, over the limit of {MAX_MODEL_VALUES:,}; use narrower hidden "
                          "layers, a smaller code or smaller images")

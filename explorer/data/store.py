"""Training images that need not fit in memory as float32: uint8 kept on their home device, or memory-
mapped from a ``.npy`` store on disk, handed to the Trainer as float32 batches one gather at a time.

60k 28x28 images take 188 MB as float32 and 47 MB as uint8; 10 million take 31 GB and 7.8 GB. A store
is one uint8 ``.npy`` of shape (N, C, H, W) or (N, H, W), written once (:func:`create_store`) and read
through ``np.load(mmap_mode="r")``: a batch reads only its own rows' pages, so the process's anonymous
memory stays the same at any N, and the pages read stay in the kernel's page cache (shared, evictable).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from explorer.errors import DataError
from explorer.tensors import as_tensor, unit_float

STORE_DTYPE = np.uint8
MAX_STORE_IMAGES = 100_000_000  # a header declaring more is refused before anything is mapped (row numbers: 8 bytes each)
MAX_STORE_PIXELS = 4096 * 4096  # per image
STORE_TEST_IMAGES = 10_000  # held out of a store at most: the test pass stays the same size at any N
MEAN_CHUNK = 8192  # images per read when averaging a split: 25 MB of float32 28x28 images


class TrainingImages:
    """N images (N, C, H, W) on their home device, uint8 or float, as float32 batches in [0, 1] on ``device``.

    The home is the training device for data held in memory (uint8 there when that is lossless, a
    quarter of float32's bytes), or the host for a memory-mapped store. ``rows``, when set, picks the
    images of this split out of the stored ones (a store's training split, a validation carve)."""

    def __init__(self, images: Tensor, device: torch.device, rows: Tensor | None = None):
        self.images, self.device, self.rows = images, torch.device(device), rows

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else len(self.images)

    @property
    def home(self) -> torch.device:
        """Where the images are, and so where batch indices are best made."""
        return self.images.device

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def batch(self, index: Tensor) -> Tensor:
        """(B,) positions in this split -> (B, C, H, W) float32 on the training device; a gather, then the
        conversion (uint8 / 255 gives the same float32 as :func:`explorer.data.dataset.unit_images`)."""
        index = index.to(self.home)
        if self.rows is not None:
            index = self.rows[index]
        return unit_float(self.images[index].to(self.device, non_blocking=True))

    def __getitem__(self, positions: slice) -> Tensor:
        """Images ``start:stop`` of the split as one float32 batch: what batched inference reads
        (:meth:`explorer.variants.base.Autoencoder.apply_batched`)."""
        return self.batch(torch.arange(*positions.indices(len(self)), device=self.home))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(images)``: the split whole, float32 (N, C, H, W) on the host."""
        return self.whole().cpu().numpy().astype(dtype or np.float32, copy=False)

    def subset(self, positions: Tensor) -> "TrainingImages":
        """The images at ``positions`` (B,) of this split, as a split of the same stored images (no copy)."""
        positions = positions.to(self.home)
        return TrainingImages(self.images, self.device, self.rows[positions] if self.rows is not None else positions)

    def whole(self) -> Tensor:
        """Every image of the split as one float32 tensor on the device: for closed-form fits (PCA) only.
        A split of every stored image is those images, float32 ones not copied on their own device."""
        if self.rows is None:
            return unit_float(self.images.to(self.device))
        return self.batch(torch.arange(len(self), device=self.home))

    def mean_image(self) -> Tensor:
        """The split's mean image (C, H, W), float32 on the device, read :data:`MEAN_CHUNK` images at a time
        (a store's split never whole in memory), summed in float64."""
        total = torch.zeros(self.image_shape, dtype=torch.float64, device=self.device)
        for start in range(0, len(self), MEAN_CHUNK):
            total += self[start:start + MEAN_CHUNK].sum(0, dtype=torch.float64)
        return (total / max(1, len(self))).float()


def training_images(x: "np.ndarray | Tensor | TrainingImages", device: "torch.device | str") -> TrainingImages:
    """The training images as the Trainer reads them. A uint8 array (a mapped store) stays where it is;
    float images already in this process's memory are shared on the CPU (a uint8 copy would add to them,
    not replace them), and on another device kept as uint8 when that is exact, else as float32."""
    device = torch.device(device)
    if isinstance(x, TrainingImages):
        return TrainingImages(x.images, device, x.rows)  # the same images, batches sent to this device
    if isinstance(x, np.ndarray) and x.dtype == STORE_DTYPE:
        return TrainingImages(_nchw(as_tensor(x)), device)
    images = as_tensor(x, device)
    return TrainingImages(images if device.type == "cpu" else compact(images), device)


def compact(images: Tensor) -> Tensor:
    """``images`` as uint8 when every value is k / 255 (IDX data: MNIST, Fashion-MNIST), else unchanged."""
    if not images.is_floating_point():
        return images
    codes = (images * 255).round_().clamp_(0, 255).to(torch.uint8)
    return codes if torch.equal(unit_float(codes), images.float()) else images


def _nchw(images: Tensor) -> Tensor:
    return images.unsqueeze(1) if images.dim() == 3 else images


# --- the store on disk -----------------------------------------------------------------------------------

def create_store(path: str | Path, n_images: int, image_shape: tuple[int, ...]) -> np.memmap:
    """A new uint8 store of ``n_images`` of ``image_shape`` ((C, H, W) or (H, W)) at ``path``, mapped for
    writing; fill it a chunk at a time and ``flush()``. Nothing is held in memory but the pages written."""
    _check_shape(path, (n_images, *image_shape))
    return np.lib.format.open_memmap(Path(path), mode="w+", dtype=STORE_DTYPE, shape=(n_images, *image_shape))


def open_store(path: str | Path) -> np.ndarray:
    """The store at ``path`` mapped read-only, (N, C, H, W) or (N, H, W) uint8; its header is checked
    against the bounds and the file's length before it is mapped."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in read_header:
                raise ValueError(f".npy format version {version} is not one a store is written in")
            shape, fortran, dtype = read_header[version](file)
            offset = file.tell()
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npy store ({' '.join(str(error).split())[:120]})") from error
    if dtype != STORE_DTYPE or fortran:
        raise DataError(f"{path}: a store holds C-ordered uint8 images; this .npy holds {dtype} "
                        f"{'(Fortran order) ' if fortran else ''}values; write it with create_store")
    _check_shape(path, shape)
    if offset + math.prod(shape) > path.stat().st_size:
        raise DataError(f"{path}: its header declares {math.prod(shape):,} bytes of images, more than the file holds")
    return np.load(path, mmap_mode="r")


def _check_shape(path, shape: tuple[int, ...]) -> None:
    if len(shape) not in (3, 4) or shape[0] < 2 or any(int(s) < 1 for s in shape):
        raise DataError(f"{path}: a store holds at least 2 images of (C, H, W) or (H, W), not shape {tuple(shape)}")
    if shape[0] > MAX_STORE_IMAGES or math.prod(shape[1:]) > MAX_STORE_PIXELS:
        raise DataError(f"{path}: {shape[0]:,} images of {tuple(shape[1:])} exceed the store's bounds "
                        f"({MAX_STORE_IMAGES:,} images of at most {MAX_STORE_PIXELS:,} values)")


GLIBC_MMAP_THRESHOLD = 128 * 1024  # glibc's initial threshold, kept from moving


def fix_malloc_threshold() -> None:
    """Pins glibc's mmap threshold where it starts (a no-op where libc is not glibc). glibc raises it to the
    size of each large block freed, after which a batch's ~1 MB blocks come from the heap, where the small
    arrays kept between them (each batch's errors) stop the heap shrinking: a validation pass over 59k
    mapped images left ~100 MB more resident than one over 5k (benchmarks/RESULTS.md, section 9).
    Blocks above the threshold are mapped and unmapped whole, costing a system call per batch."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, GLIBC_MMAP_THRESHOLD)  # M_MMAP_THRESHOLD; setting it also stops its adjustment
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True, eq=False)
class StoredDataset:
    """A store as the Trainer takes it: the training split mapped (:class:`TrainingImages` on the host, its
    batches sent to the training device), the test split (a seeded sample of at most
    :data:`STORE_TEST_IMAGES`) read into memory as float32. Unlabeled; what
    :class:`explorer.data.ImageDataset` offers the Trainer, without the float32 copy."""
    name: str
    x_train: TrainingImages
    x_test: np.ndarray  # (N_test, C, H, W) float32
    source: str
    y_train: None = None
    y_test: None = None
    class_names: tuple[str, ...] = ()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.x_train.image_shape

    @property
    def n_classes(self) -> int:
        return 0


def stored_dataset(path: str | Path, seed: int = 0) -> StoredDataset:
    """The store at ``path`` split by ``seed``: a sorted random sample of min(20 %, 10k) images to test on, the
    rest to train on (their row numbers, 8 bytes an image, are all this reads into memory)."""
    fix_malloc_threshold()
    images = open_store(path)
    n_test = min(STORE_TEST_IMAGES, max(1, math.ceil(0.2 * len(images))))
    order = np.random.default_rng(seed).permutation(len(images))
    test_rows, train_rows = np.sort(order[:n_test]), np.sort(order[n_test:])
    mapped = _nchw(as_tensor(images))
    x_test = unit_float(mapped[torch.from_numpy(test_rows)]).numpy()
    train = TrainingImages(mapped, torch.device("cpu"), torch.from_numpy(train_rows))
    return StoredDataset(name=f"store:{Path(path).name}", x_train=train, x_test=x_test, source=str(path))

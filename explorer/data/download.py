"""Fetch a named dataset's official files. Only ever called explicitly (``python -m explorer
download NAME``); loading never downloads.

Each file streams into a temporary file beside its destination while its checksum is computed,
and is moved into place (``os.replace``) only when the checksum matches: an interrupted, corrupt
or tampered download (the Fashion-MNIST mirror is plain http) never leaves a file that looks
complete. Files already present with the right checksum are not fetched again.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from explorer.data.registry import how_to_install, user_cache_dir
from explorer.errors import DataError

MAX_DOWNLOAD_BYTES = 64 * 1024**2  # the largest official file is about 26 MB
TIMEOUT_S = 60
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    name: str
    checksum: str  # "<hashlib algorithm>:<hex digest>", e.g. "md5:8d4f..."


@dataclass(frozen=True)
class Source:
    base_url: str  # ends in "/"; each file is base_url + name
    files: tuple[RemoteFile, ...]


SOURCES = {
    "fashion-mnist": Source("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", (
        RemoteFile("train-images-idx3-ubyte.gz", "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        RemoteFile("train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe"),
        RemoteFile("t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310"),
    )),
    "mnist": Source("https://ossci-datasets.s3.amazonaws.com/mnist/", (
        RemoteFile("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        RemoteFile("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
        RemoteFile("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"),
    )),
}


def download(name: str, dest_dir: str | Path | None = None) -> Path:
    """Fetch ``name``'s files into ``dest_dir`` (default: the user cache directory, the last
    place :func:`~explorer.data.load_dataset` looks) and return that directory."""
    if name not in SOURCES:
        raise DataError(f"cannot download {name!r}: downloadable datasets are "
                        f"{', '.join(SOURCES)} (digits ships with scikit-learn)")
    source = SOURCES[name]
    dest = Path(dest_dir).expanduser() if dest_dir else user_cache_dir(name)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{dest}: cannot create the download folder ({error})") from None
    for remote in source.files:
        target = dest / remote.name
        if not (target.is_file() and _file_checksum(target, remote.checksum) == remote.checksum):
            _fetch(source.base_url + remote.name, target, remote.checksum, name)
    return dest


def _open_url(url: str) -> BinaryIO:
    """The response stream for ``url``; module-level so tests can serve bytes without a network."""
    return urllib.request.urlopen(url, timeout=TIMEOUT_S)


def _fetch(url: str, target: Path, checksum: str, name: str) -> None:
    algorithm, expected = checksum.split(":")
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, _open_url(url) as response:
            actual = _copy_hashing(response, out, hashlib.new(algorithm), url)
        if actual != expected:
            raise DataError(f"{url}: {algorithm} checksum {actual} does not match the expected "
                            f"{expected}, so nothing was saved; try again later, or "
                            f"{how_to_install(name)}")
        os.replace(tmp_name, target)
    except (OSError, ValueError, http.client.HTTPException) as error:  # URLError is an OSError
        raise DataError(f"could not download {url} ({error}); {how_to_install(name)}") from None
    finally:
        Path(tmp_name).unlink(missing_ok=True)  # gone already after a successful os.replace


def _copy_hashing(response: BinaryIO, out: BinaryIO, digest, url: str) -> str:
    """Copy ``response`` to ``out`` in chunks; return the hex digest of what was copied."""
    size = 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > MAX_DOWNLOAD_BYTES:  # a server that never stops must not fill the disk
            raise DataError(f"{url}: more than {MAX_DOWNLOAD_BYTES:,} bytes; not the expected file")
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _file_checksum(path: Path, checksum: str) -> str:
    """``path``'s checksum in the same "<algorithm>:<hex>" form as ``checksum``."""
    algorithm = checksum.split(":")[0]
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return f"{algorithm}:{digest.hexdigest()}"

"""Weights downloaded once into a cache folder, as torch.hub does it.

`load_state_dict_from_url(url)` downloads the file at `url` into `get_dir()/checkpoints` (unless
it is there), verifies its SHA-256, converts a PyTorch `.pth` to safetensors once, beside it, and
loads the state dict from that. The cache folder is `$CONVNET_HOME/hub`; without CONVNET_HOME,
`$XDG_CACHE_HOME/convnet/hub`, else `~/.cache/convnet/hub`.

A download goes to a temporary file in the cache folder ("<name>.convnet-tmp-<8 hex digits>",
locked by its writer, as convnet.save writes) that is renamed to its name only once complete and
verified: an interrupted or failed download, or a hash that does not match, leaves nothing under
the file's name, and the temporaries that dead downloads left behind are removed by the next one.
"""

import fcntl
import hashlib
import http.client
import os
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

from . import serialization
from .datasets.utils import cache_home

# the hash prefix in a file name, as torch.hub reads it: "resnet18-f37072fd.pth" -> "f37072fd"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_TMP_MARK = ".convnet-tmp-"
_TMP_NAME = re.compile(re.escape(_TMP_MARK) + r"[0-9a-f]{8}$")
_CHUNK = 1 << 20

_hub_dir = None




def get_dir():
    """The hub's folder: the one `set_dir` set, else `$CONVNET_HOME/hub` (CONVNET_HOME defaults to
    `$XDG_CACHE_HOME/convnet`, else `~/.cache/convnet`). Weights go to its `checkpoints` folder."""
    return _hub_dir if _hub_dir is not None else os.path.join(cache_home(), "hub")


def set_dir(d):
    """Makes `d` the hub's folder (instead of `$CONVNET_HOME/hub`) for this process."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _remove_stale_temporaries(folder):
    """Removes the temporaries that dead writers left in `folder`: each live writer holds a lock on
    its own (the rule of convnet.save's writer, cpp/src/io/safetensors.cpp)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not _TMP_NAME.search(name):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)  # no live writer holds it
        except OSError:
            pass
        finally:
            os.close(fd)


def _progress_bar(total, enabled, name):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr)


def download_url_to_file(url, dst, hash_prefix=None, progress=True, *, sha256=None):
    """Downloads `url` to the file `dst`, atomically: the bytes go to a locked temporary file in
    `dst`'s folder, renamed to `dst` only when the download is complete (as many bytes as the
    server's Content-Length) and its SHA-256 matches. `sha256`: the full hex digest expected;
    `hash_prefix`: the digest's expected start (torch.hub's check). On any failure (network error,
    connection closed early, hash mismatch, Ctrl-C) the temporary is removed and `dst` is left as
    it was. `progress` shows a progress bar on stderr."""
    dst = os.path.abspath(os.path.expanduser(os.fspath(dst)))
    folder = os.path.dirname(dst)
    _remove_stale_temporaries(folder)
    request = urllib.request.Request(url, headers={"User-Agent": "convnet"})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as e:
        raise OSError(f"download: {url}: the server answered {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise OSError(f"download: {url}: {e.reason}") from e
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length is not None and length.isdigit() else None
        tmp = dst + _TMP_MARK + secrets.token_hex(4)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                digest, size = hashlib.sha256(), 0
                bar = _progress_bar(length, progress, os.path.basename(dst))
                try:
                    while True:
                        try:
                            chunk = response.read(_CHUNK)
                        except (OSError, ValueError, http.client.HTTPException) as e:  # reset, timeout, bad chunk
                            raise OSError(f"download: {url}: the transfer failed after {size} bytes ({e}); "
                                          "nothing was kept, try again") from e
                        if not chunk:
                            break
                        f.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                finally:
                    if bar is not None:
                        bar.close()
                if length is not None and size != length:
                    raise OSError(f"download: {url}: the connection closed after {size} of {length} bytes; "
                                  "nothing was kept, try again")
                _check_hash(url, digest.hexdigest(), sha256, hash_prefix)
                f.flush()
                os.fsync(f.fileno())
                os.replace(tmp, dst)  # under the lock: no cleaner takes it for a dead writer's
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise


def _check_hash(url, digest, sha256, hash_prefix):
    if sha256 is not None and digest != sha256.lower():
        raise RuntimeError(f"download: {url}: invalid hash value: SHA-256 {digest}, expected {sha256.lower()} "
                           "(the file's published hash); the file was not kept")
    if hash_prefix and not digest.startswith(hash_prefix):
        raise RuntimeError(f"download: {url}: invalid hash value: SHA-256 {digest} does not start with "
                           f"{hash_prefix} (the hash prefix in the file name); the file was not kept")


def _safetensors_name(filename):
    stem, ext = os.path.splitext(filename)
    if ext == ".safetensors":
        return filename
    return (stem if ext in (".pth", ".pt", ".bin", ".ckpt") else filename) + ".safetensors"


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=True,
                             file_name=None, *, sha256=None):
    """The state dict of the weights file at `url`, downloaded once into `model_dir` (default
    `get_dir()/checkpoints`) under `file_name` (default: the URL's last path component).

    With `check_hash` (the default) the download's SHA-256 is verified: against `sha256`, the full
    hex digest, when given (convnet.models passes it where its registry knows it); else against the
    hash prefix in the file name (the hex digits after its last "-", "resnet18-f37072fd.pth"), as
    torch.hub does it; a file name without one is not checked. A mismatch raises RuntimeError and
    keeps nothing. A PyTorch file is converted once to safetensors beside it ("resnet18-f37072fd
    .safetensors", read without PyTorch by `convnet.serialization.load_pth`), and that is what this
    and later calls load: a cache hit contacts no server. `map_location` as in `convnet.load`.
    """
    model_dir = os.path.expanduser(os.fspath(model_dir)) if model_dir is not None else os.path.join(
        get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    if not filename or filename in (".", ".."):
        raise ValueError(f"load_state_dict_from_url: {url!r} names no file; pass file_name")
    cached = os.path.join(model_dir, filename)
    converted = os.path.join(model_dir, _safetensors_name(filename))
    if not os.path.exists(converted):
        if not os.path.exists(cached):
            if progress:
                print(f'Downloading: "{url}" to {cached}', file=sys.stderr)
            prefix = None
            if check_hash and sha256 is None:
                match = HASH_REGEX.search(filename)
                prefix = match.group(1) if match else None
            download_url_to_file(url, cached, prefix, progress, sha256=sha256 if check_hash else None)
        if cached != converted:
            serialization.save(serialization.load(cached), converted)
    return serialization.load(converted, map_location)


__all__ = ["download_url_to_file", "get_dir", "load_state_dict_from_url", "set_dir"]

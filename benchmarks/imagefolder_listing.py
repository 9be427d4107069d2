"""ImageFolder's listing time over a generated nested tree, with and without its file list cache.

    python benchmarks/imagefolder_listing.py [--classes 10] [--folders 20] [--files 100] [--depth 2]

builds root/<class>/<d1>/<d2>/<file>.png (empty files: listing reads no image) in a temporary folder,
ages its folders' modification times (a tree changed in the last seconds is not cached), then times
`ImageFolder(root, cache=False)` (a full walk) against `ImageFolder(root)` served from the cache, and
the listing alone against reading and checking the cache (the rest, building `samples`, is common),
their repetitions interleaved. Both run with the folders in the page cache, so the walk is at its fastest
here; on a network file system or a cold disk the walk costs far more and the cache hit does not
(one stat per folder and one file read).
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import alternating_medians  # noqa: E402
from convnet.datasets import ImageFolder  # noqa: E402
from convnet.datasets.folder import _list_tree, _read_cache  # noqa: E402


def build(root, classes, folders, files, depth):
    n = 0
    for c in range(classes):
        for f in range(folders):
            sub = os.path.join(root, f"class{c:03d}", *[f"d{f % 5}"] * (depth - 1), f"f{f:03d}")
            os.makedirs(sub)
            for k in range(files):
                open(os.path.join(sub, f"img{k:05d}.png"), "wb").close()
                n += 1
    t = time.time() - 60
    for folder, _, _ in os.walk(root):
        os.utime(folder, (t, t))
    return n


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--folders", type=int, default=20, help="leaf folders per class")
    p.add_argument("--files", type=int, default=100, help="files per leaf folder")
    p.add_argument("--depth", type=int, default=2, help="folder levels below each class")
    p.add_argument("--reps", type=int, default=7)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CONVNET_HOME"] = os.path.join(tmp, "home")
        root = os.path.join(tmp, "tree")
        n = build(root, a.classes, a.folders, a.files, a.depth)
        first = ImageFolder(root)
        assert not first.cache_hit and os.path.isfile(first.cache_path)
        assert ImageFolder(root).cache_hit and ImageFolder(root).samples == ImageFolder(root, cache=False).samples
        walk, hit = alternating_medians([lambda: ImageFolder(root, cache=False), lambda: ImageFolder(root)], a.reps)
        ext = first.extensions
        listing, reading = alternating_medians([lambda: _list_tree(root, ext),
                                                lambda: _read_cache(first.cache_path, root, ext)], a.reps)
        folders = sum(1 for _ in os.walk(root))
        print(f"{n} files in {folders} folders: ImageFolder() walking {walk * 1e3:.1f} ms, from the cache "
              f"{hit * 1e3:.1f} ms ({walk / hit:.1f}x); the listing alone {listing * 1e3:.1f} ms against the cache's "
              f"read and check {reading * 1e3:.1f} ms ({listing / reading:.1f}x); cache file "
              f"{os.path.getsize(first.cache_path) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

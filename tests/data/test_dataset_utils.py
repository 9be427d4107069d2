"""Dataset, Subset, ConcatDataset and random_split: against torch.utils.data on the same lengths
(sizes, items, indexing errors), their own disjointness and determinism, and the DataLoader paths
their combinations of array data sets keep."""

import pickle

import numpy as np
import pytest

import convnet as cn
from convnet.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, random_split
from convnet.datasets.utils import ArrayImageDataset

SPLITS = [(10, [0.3, 0.3, 0.4]), (10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (11, [0.1, 0.2, 0.3, 0.4]),
          (5, [0.1, 0.9]), (100, [0.7, 0.15, 0.15]), (3, [0.25, 0.25, 0.25, 0.25]), (13, [1 / 3] * 3),
          (10, [3, 3, 4]), (10, [10, 0]), (0, [0, 0]), (1000, [0.8, 0.2])]


class Images(ArrayImageDataset):
    """An in-memory image data set as MNIST/CIFAR are, from arrays."""

    classes = [str(k) for k in range(10)]

    def __init__(self, data, targets, transform=None):
        self.root, self.data, self.targets, self.transform, self._arrays = "mem", data, targets, transform, None


def _images(n, seed, shape=(6, 5, 3)):
    rng = np.random.default_rng(seed)
    return Images(rng.integers(0, 256, (n,) + shape, dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64))


def _batches(loader):
    return [tuple(t.numpy() for t in b) for b in loader]


@pytest.mark.parametrize("n,lengths", SPLITS)
def test_random_split_sizes_match_torch(n, lengths):
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = random_split(range(n), lengths, seed=0)
        theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    flat = [i for s in ours for i in (s[k] for k in range(len(s)))]
    assert sorted(flat) == list(range(n)), "the splits are disjoint and cover the data set"


def test_random_split_is_reproducible():
    a = random_split(range(50), [0.5, 0.3, 0.2], seed=3)
    assert [s.indices for s in a] == [s.indices for s in random_split(range(50), [25, 15, 10], seed=3)]
    assert [s.indices for s in a] != [s.indices for s in random_split(range(50), [25, 15, 10], seed=4)]
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    assert [s.indices for s in random_split(range(9), [4, 5], g1)] == \
        [s.indices for s in random_split(range(9), [4, 5], g2)]
    cn.manual_seed(11)
    first = [s.indices for s in random_split(range(30), [10, 20])]
    second = [s.indices for s in random_split(range(30), [10, 20])]
    cn.manual_seed(11)
    assert [s.indices for s in random_split(range(30), [10, 20])] == first and first != second


def test_random_split_errors_as_torch():
    torch = pytest.importorskip("torch")
    for lengths in ([3, 3], [0.5, 0.6], [1.2, -0.2]):
        with pytest.raises(ValueError):
            torch.utils.data.random_split(range(10), lengths)
        with pytest.raises(ValueError, match="random_split"):
            random_split(range(10), lengths)
    with pytest.warns(UserWarning, match="split at index 1 is 0"):
        assert [len(s) for s in random_split(range(2), [0.9, 0.1], seed=0)] == [2, 0]
    with pytest.raises(ValueError, match="seed or generator"):
        random_split(range(2), [1, 1], np.random.default_rng(0), seed=0)


def test_subset_and_concat_items_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 3)).astype(np.float32), rng.integers(0, 5, 12)
    x2, y2 = rng.standard_normal((5, 3)).astype(np.float32), rng.integers(0, 5, 5)
    ours_parts = [Subset(TensorDataset(x, y), [4, 0, 11, 4, -1]), TensorDataset(x2, y2)]
    tds = torch.utils.data.TensorDataset
    theirs_parts = [torch.utils.data.Subset(tds(torch.from_numpy(x), torch.from_numpy(y)), [4, 0, 11, 4, -1]),
                    tds(torch.from_numpy(x2), torch.from_numpy(y2))]
    ours, theirs = ConcatDataset(ours_parts), torch.utils.data.ConcatDataset(theirs_parts)
    assert len(ours) == len(theirs) == 10 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-10, 10):
        a, b = ours[i], theirs[i]
        np.testing.assert_array_equal(a[0], b[0].numpy())
        assert int(a[1]) == int(b[1])
    with pytest.raises(ValueError, match="absolute value of index"):
        theirs[-11]
    with pytest.raises(ValueError, match="absolute value of index"):
        ours[-11]
    with pytest.raises(IndexError):
        ours[10]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    assert [int(v[1]) for v in Subset(ours, [9, 0])[[0, 1]]] == [int(theirs[9][1]), int(theirs[0][1])]


def test_torch_import_path():
    from convnet.utils.data import ConcatDataset as C, Subset as S, random_split as r
    assert (C, S, r) == (ConcatDataset, Subset, random_split)


def test_dataset_base_class_adds_and_requires_getitem():
    class Squares(Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return i * i

    both = Squares(3) + Squares(2)
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(5)] == [0, 1, 4, 0, 1]
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_array_combinations_keep_the_arrays_path():
    rng = np.random.default_rng(1)
    a = TensorDataset(rng.standard_normal((9, 2)).astype(np.float32), np.arange(9))
    b = TensorDataset(rng.standard_normal((4, 2)).astype(np.float32), np.arange(100, 104))
    sub = Subset(a, [8, 2, 5, 2])
    cat = ConcatDataset([sub, b])
    for ds in (sub, cat):
        loader = DataLoader(ds, batch_size=3)
        assert loader._columns is not None, f"{ds!r} takes the C++ array path"
        per_sample = [tuple(np.stack([np.asarray(ds[i][k]) for i in range(s, min(s + 3, len(ds)))]) for k in range(2))
                      for s in range(0, len(ds), 3)]
        for got, want in zip(_batches(loader), per_sample):
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    assert not hasattr(Subset(list(range(5)), [1]), "arrays") and not hasattr(ConcatDataset([a, [1, 2]]), "arrays")


def test_image_combinations_are_image_sets_for_the_loader():
    from convnet.transforms import Compose, Normalize, RandomHorizontalFlip, ToTensor
    a, b = _images(10, 0), _images(7, 1)
    idx = [9, 3, 3, 0, 6]
    sub, cat = Subset(a, idx), ConcatDataset([a, b])
    assert isinstance(sub, Subset) and isinstance(sub, ArrayImageDataset) and len(sub) == 5
    np.testing.assert_array_equal(sub.data, a.data[idx])
    np.testing.assert_array_equal(cat.targets, np.concatenate([a.targets, b.targets]))
    for i in range(5):
        np.testing.assert_array_equal(sub[i][0], a[idx[i]][0])
    assert cat[12][1] == b[2][1] and sub.classes == a.classes
    for ds, data, targets in ((sub, a.data[idx], a.targets[idx]),
                              (cat, np.concatenate([a.data, b.data]), cat.targets)):
        loader = DataLoader(ds, batch_size=4, shuffle=True, seed=5)
        assert loader._columns is not None, f"{ds!r} takes the C++ image path"
        ref = DataLoader(Images(data, targets), batch_size=4, shuffle=True, seed=5)
        for got, want in zip(_batches(loader), _batches(ref)):
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    # the parents' convnet transform runs over the batch, seeded as for the parent's own images
    t = Compose([RandomHorizontalFlip(), ToTensor(), Normalize((0.5,) * 3, (0.25,) * 3)])
    a.transform = t
    sub = Subset(a, idx)
    assert sub.transform is t and not hasattr(sub, "arrays")
    got = _batches(DataLoader(sub, batch_size=5, seed=2))
    want = _batches(DataLoader(Images(a.data[idx], a.targets[idx], t), batch_size=5, seed=2))
    np.testing.assert_array_equal(got[0][0], want[0][0])
    assert type(ConcatDataset([a, b])) is ConcatDataset, "different transforms: each part applies its own"
    assert isinstance(ConcatDataset([_images(2, 0), _images(2, 1, (4, 4, 3))]), ConcatDataset)


def test_subset_index_out_of_range_names_it():
    with pytest.raises(IndexError, match="index 10 out of range for a data set of 10"):
        Subset(_images(10, 0), [1, 10]).data


def test_image_folder_subset_keeps_load(tmp_path):
    from conftest import image_folder
    from convnet.datasets import ImageFolder
    image_folder(tmp_path, n_per_class=3, size=8)
    ds = ImageFolder(tmp_path, cache=False)
    sub = Subset(ds, [8, 0])
    img, label = sub.load(0)
    np.testing.assert_array_equal(img, ds.load(8)[0])
    assert label == ds.targets[8] == 2
    cat = ConcatDataset([sub, ds])
    assert cat.load(3)[1] == ds.load(1)[1]
    got = _batches(DataLoader(cat, batch_size=11, num_workers=2))
    np.testing.assert_array_equal(got[0][1], [ds.targets[8], ds.targets[0]] + ds.targets[:9].tolist())


def test_combinations_pickle():
    sub = Subset(_images(6, 0), [5, 1])
    cat = ConcatDataset([sub, TensorDataset(np.zeros((2, 6, 5, 3), np.uint8), np.zeros(2, np.int64))])
    for ds in (sub, cat):
        back = pickle.loads(pickle.dumps(ds))
        assert type(back) is type(ds) and len(back) == len(ds)
        np.testing.assert_array_equal(back[0][0], ds[0][0])
    assert pickle.loads(pickle.dumps(Subset(list(range(4)), [3])))[0] == 3

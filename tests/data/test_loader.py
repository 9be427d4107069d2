"""DataLoader workers, prefetching, determinism and errors; samplers against torch.utils.data."""

import gc
import os
import time

import numpy as np
import pytest

import convnet as cn
import convnet.transforms as T
from convnet.data import (BatchSampler, DataLoader, DistributedSampler, RandomSampler, SequentialSampler,
                          SubsetRandomSampler, TensorDataset, WeightedRandomSampler)
from convnet.datasets.utils import ArrayImageDataset
from opcheck import msg

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (37, 32, 32, 3), dtype=np.uint8)
LABELS = np.arange(37, dtype=np.int64)
CIFAR = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                   T.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])


class Images(ArrayImageDataset):
    def __init__(self, data, targets, transform=None):
        self.data, self.targets, self.transform = data, targets, transform


def epochs(loader, n=2):
    return [[tuple(t.numpy() for t in b) for b in loader] for _ in range(n)]


def same(a, b):
    """Epochs (lists of batches, tuples of arrays) equal bit for bit."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))


def threads():
    """Threads of this process, once those just joined have exited (an OS thread outlives its join
    by a moment)."""
    counts = []
    for _ in range(20):
        counts.append(len(os.listdir("/proc/self/task")))
        time.sleep(0.01)
    return min(counts)


@pytest.mark.parametrize("source", ["arrays", "dataset"])
def test_batches_are_bit_identical_for_any_num_workers(source):
    def make(w):
        if source == "arrays":
            return DataLoader((IMAGES, LABELS), 8, shuffle=True, num_workers=w, seed=5, transform=CIFAR)
        return DataLoader(Images(IMAGES, LABELS, CIFAR), 8, shuffle=True, num_workers=w, seed=5)
    runs = [epochs(make(w)) for w in (0, 1, 2)]
    threads_before = cn.get_num_threads()
    cn.set_num_threads(3)  # num_workers=0 splits each batch's images over the OpenMP threads
    try:
        runs.append(epochs(make(0)))
    finally:
        cn.set_num_threads(threads_before)
    assert same(runs[0], runs[1]) and same(runs[0], runs[2]) and same(runs[0], runs[3])
    first, second = runs[0]
    assert first[0][0].dtype == np.float32 and first[0][0].shape == (8, 3, 32, 32)
    assert [b[0].shape[0] for b in first] == [8, 8, 8, 8, 5]
    assert not same(first, second), "two epochs drew the same order and augmentation"
    labels = np.concatenate([b[1] for b in first])
    assert sorted(labels.tolist()) == list(range(37))


def test_augmentation_depends_on_the_epoch_position_not_the_batching():
    crop = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()])
    a = np.concatenate([b[0].numpy() for b in DataLoader((IMAGES, LABELS), 4, seed=3, transform=crop)])
    b = np.concatenate([b[0].numpy() for b in DataLoader((IMAGES, LABELS), 7, seed=3, num_workers=2,
                                                         transform=crop)])
    assert np.array_equal(a, b)


def test_each_image_is_a_crop_of_its_own_sample():
    """Independent of the random stream: the uint8 output of sample i is a window of image i padded
    by 4, mirrored or not, and the label travels with it."""
    crop = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()])
    for w in (0, 2):
        for x, y in DataLoader((IMAGES, LABELS), 6, shuffle=True, num_workers=w, seed=1, transform=crop):
            x, y = x.numpy(), y.numpy()
            assert x.dtype == np.uint8 and x.shape[1:] == (32, 32, 3)
            for img, label in zip(x, y):
                padded = np.pad(IMAGES[label], ((4, 4), (4, 4), (0, 0)))
                found = any(np.array_equal(cand, padded[i:i + 32, j:j + 32])
                            for i in range(9) for j in range(9) for cand in (img, img[:, ::-1]))
                assert found, f"sample {label} is not a crop of image {label}"


def test_array_dataset_without_transform_matches_arrays():
    ds = Images(IMAGES, LABELS)
    x, y = next(iter(DataLoader(ds, 37, num_workers=1)))
    ref_x, ref_y = ds.arrays()
    assert x.numpy().dtype == np.float32 and np.array_equal(x.numpy(), ref_x)
    assert np.array_equal(y.numpy(), ref_y)
    grey = Images(IMAGES[..., 0], LABELS)
    assert next(iter(DataLoader(grey, 5))) [0].shape == (5, 1, 32, 32)


def test_python_dataset_runs_in_the_main_thread_with_the_loader_transform():
    class Py:
        def __len__(self):
            return 37

        def __getitem__(self, i):
            return IMAGES[i], int(LABELS[i])

    runs = [epochs(DataLoader(Py(), 8, shuffle=True, seed=2, num_workers=w, transform=CIFAR), 1)
            for w in (0, 2)]
    arrays = epochs(DataLoader((IMAGES, LABELS), 8, shuffle=True, seed=2, transform=CIFAR), 1)
    assert same(runs[0], runs[1]) and same(runs[0], arrays)


def test_datasets_with_load_run_in_threads_and_match_the_array_path():
    class Folder:  # ImageFolder's protocol: load(i) gives the decoded uint8 image and the label
        transform = CIFAR

        def __len__(self):
            return 37

        def load(self, i):
            return IMAGES[i], int(LABELS[i])

        def __getitem__(self, i):
            raise AssertionError("the DataLoader should call load()")

    runs = [epochs(DataLoader(Folder(), 8, shuffle=True, seed=4, num_workers=w)) for w in (0, 1, 2)]
    arrays = epochs(DataLoader(Images(IMAGES, LABELS, CIFAR), 8, shuffle=True, seed=4))
    assert same(runs[0], runs[1]) and same(runs[0], runs[2]) and same(runs[0], arrays)
    loader = DataLoader(Folder(), 2, num_workers=2)
    before = threads()
    for k, _ in enumerate(loader):
        if k == 2:
            break
    gc.collect()
    assert threads() == before


def test_batches_arrive_in_order():
    loader = DataLoader((IMAGES, LABELS), 1, num_workers=2, prefetch_factor=3, transform=CIFAR)
    assert [int(y.numpy()[0]) for _, y in loader] == list(range(37))


def test_prefetching_stays_within_prefetch_factor_times_num_workers():
    def held_after_first(workers, factor):
        """Bytes of tensors alive once the first batch is out and the workers have had time to fill up."""
        gc.collect()
        before = cn.memory_stats()["allocated_bytes"]
        it = iter(DataLoader((IMAGES, LABELS), 1, num_workers=workers, prefetch_factor=factor, transform=CIFAR))
        first = next(it)
        time.sleep(0.3)
        held = cn.memory_stats()["allocated_bytes"] - before
        del first, it
        return held

    one = held_after_first(0, 2)  # the delivered batch alone
    assert one > 0
    assert held_after_first(2, 1) <= 3 * one  # the delivered batch and at most 2 ahead
    assert held_after_first(2, 8) > 3 * one  # a larger factor does prefetch more


def test_worker_error_names_the_data_set_index():
    bad = T.Compose([T.RandomCrop(40), T.ToTensor()])  # larger than the 32x32 images, no padding
    for w in (0, 2):
        loader = DataLoader((IMAGES, LABELS), 4, sampler=[5, 3, 1, 0, 2], num_workers=w, transform=bad)
        with pytest.raises(ValueError, match=r"DataLoader: data set index 5: RandomCrop\(size=\(40, 40\)\)"):
            list(loader)
    for w in (0, 2):
        loader = DataLoader((IMAGES, LABELS), 2, sampler=[0, 1, 2, 99], num_workers=w, transform=CIFAR)
        with pytest.raises(IndexError, match="data set index 99 is out of range for a data set of 37 samples"):
            list(loader)


def test_python_dataset_error_names_the_index():
    class Broken:
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 7:
                raise KeyError("no such file")
            return np.zeros(3, np.float32), i

    with pytest.raises(KeyError, match="DataLoader: data set index 7: 'no such file'"):
        list(DataLoader(Broken(), 4, num_workers=2))


def test_break_shuts_the_workers_down():
    loader = DataLoader((IMAGES, LABELS), 2, shuffle=True, num_workers=2, transform=CIFAR)
    list(DataLoader((IMAGES, LABELS), 2, num_workers=2, transform=CIFAR))
    gc.collect()
    before = threads()
    for _ in range(20):
        for k, _ in enumerate(loader):
            if k == 3:
                break
    gc.collect()
    assert threads() == before
    it = iter(loader)
    next(it)
    assert threads() == before + 2
    del it
    gc.collect()
    assert threads() == before


def test_no_tensor_outlives_an_abandoned_epoch():
    """Batches prefetched when the loop stops, the image buffers and the workers' batches are freed."""
    loader = DataLoader((IMAGES, LABELS), 4, shuffle=True, num_workers=2, prefetch_factor=4, transform=CIFAR)
    gc.collect()
    before = cn.memory_stats()["allocated_bytes"]
    for stop in (0, 2, 5, 9):
        for k, batch in enumerate(loader):
            if k == stop:
                break
        del batch
    gc.collect()
    assert cn.memory_stats()["allocated_bytes"] == before


def test_python_path_transform_error_names_the_index():
    class Py:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return IMAGES[i], i

    loader = DataLoader(Py(), 3, sampler=[4, 1, 2], transform=T.Compose([T.RandomCrop(40), T.ToTensor()]))
    with pytest.raises(ValueError, match="DataLoader: data set index 4: RandomCrop"):
        list(loader)


def test_argument_errors():
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader((IMAGES, LABELS), 4, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader((IMAGES, LABELS), 4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="num_workers must be a non-negative int, got -1"):
        DataLoader((IMAGES, LABELS), 4, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor must be a positive int, got 0"):
        DataLoader((IMAGES, LABELS), 4, num_workers=1, prefetch_factor=0)


def test_sampler_and_batch_sampler_arguments():
    loader = DataLoader((IMAGES, LABELS), 3, sampler=[4, 2, 9, 1], num_workers=1)
    assert [y.numpy().tolist() for _, y in loader] == [[4, 2, 9], [1]]
    assert len(loader) == 2
    loader = DataLoader(TensorDataset(IMAGES, LABELS), batch_sampler=[[3, 1], [0], [5, 6, 7]], num_workers=2)
    assert [y.numpy().tolist() for _, y in loader] == [[3, 1], [0], [5, 6, 7]]


# ---- samplers -------------------------------------------------------------------------------------------


def test_sequential_and_random_samplers():
    data = list(range(10))
    assert list(SequentialSampler(data)) == data
    perm = list(RandomSampler(data, seed=0))
    assert sorted(perm) == data and perm != data
    s = RandomSampler(data, seed=4)
    assert list(s) != list(s), "a seeded sampler repeated its order in the next epoch"
    assert list(RandomSampler(data, seed=4)) == list(RandomSampler(data, seed=4))
    more = list(RandomSampler(data, num_samples=25, seed=1))
    assert len(more) == 25 and sorted(more[:10]) == data and sorted(more[10:20]) == data
    rep = list(RandomSampler(data, replacement=True, num_samples=200, seed=1))
    assert len(rep) == 200 and set(rep) <= set(data) and len(set(rep)) == 10
    g = np.random.default_rng(3)
    assert sorted(RandomSampler(data, generator=g)) == data
    cn.manual_seed(11)
    a = list(RandomSampler(data))
    cn.manual_seed(11)
    assert list(RandomSampler(data)) == a
    sub = list(SubsetRandomSampler([3, 5, 7], seed=0))
    assert sorted(sub) == [3, 5, 7]
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(data, num_samples=0)


def test_weighted_random_sampler_balances_classes():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    counts = np.bincount(labels)
    weights = 1.0 / counts[labels]
    drawn = labels[list(WeightedRandomSampler(weights, 30000, seed=0))]
    freq = np.bincount(drawn, minlength=3) / len(drawn)
    assert np.all(np.abs(freq - 1 / 3) < 0.02), freq
    plain = labels[list(RandomSampler(labels, replacement=True, num_samples=30000, seed=0))]
    assert np.bincount(plain)[0] / 30000 > 0.85
    no_rep = list(WeightedRandomSampler(weights, 100, replacement=False, seed=0))
    assert len(set(no_rep)) == 100
    with pytest.raises(ValueError, match="cannot draw 5 samples without replacement from 2 non-zero weights"):
        WeightedRandomSampler([1, 0, 1], 5, replacement=False)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler(np.ones((2, 2)), 5)
    loader = DataLoader((IMAGES[:30], labels[::34][:30]), 10,
                        sampler=WeightedRandomSampler(np.ones(30), 20, seed=0), num_workers=2)
    assert [x.shape[0] for x, _ in loader] == [10, 10]


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (12, 4, False), (2, 4, False),
                                                  (11, 2, True)])
def test_distributed_sampler_as_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchDS
    data = list(range(n))
    ours = [list(DistributedSampler(data, replicas, r, shuffle=False, drop_last=drop_last)) for r in range(replicas)]
    ref = [list(TorchDS(data, replicas, r, shuffle=False, drop_last=drop_last)) for r in range(replicas)]
    assert ours == ref
    shuffled = []
    for r in range(replicas):
        s = DistributedSampler(data, replicas, r, shuffle=True, seed=3, drop_last=drop_last)
        s.set_epoch(1)
        shuffled.append(list(s))
        assert len(s) == len(ref[r])
    flat = [i for part in shuffled for i in part]
    if drop_last or n % replicas == 0:
        assert len(set(flat)) == len(flat), "the shares overlap"
    else:
        assert set(flat) == set(data), "the shares do not cover the data set"
    assert torch is not None


def test_distributed_sampler_epochs_and_disjoint_cover():
    data = list(range(100))
    shares = [DistributedSampler(data, 4, r, seed=7) for r in range(4)]
    first = [list(s) for s in shares]
    assert sorted(i for p in first for i in p) == data
    for s in shares:
        s.set_epoch(1)
    second = [list(s) for s in shares]
    assert sorted(i for p in second for i in p) == data and second != first
    with pytest.raises(ValueError, match=r"invalid rank 4, rank should be in the interval \[0, 3\]"):
        DistributedSampler(data, 4, 4)


def test_batch_sampler_as_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import BatchSampler as TorchBS
    for drop_last in (False, True):
        ours = BatchSampler(range(10), 3, drop_last)
        ref = TorchBS(range(10), 3, drop_last)
        assert list(ours) == list(ref) and len(ours) == len(ref)


def test_real_mnist_with_augmentation_is_identical_across_workers(mnist_root):
    from convnet.datasets import MNIST
    aug = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1)), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = MNIST(str(mnist_root), train=False, transform=aug)
    runs = [epochs(DataLoader(ds, 500, shuffle=True, seed=9, num_workers=w), 1) for w in (0, 2)]
    assert same(runs[0], runs[1])
    x, y = runs[0][0][0]
    assert x.shape == (500, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    plain = next(iter(DataLoader(MNIST(str(mnist_root), train=False), 10000, num_workers=1)))
    ref_x, ref_y = MNIST(str(mnist_root), train=False).arrays()
    assert np.array_equal(plain[0].numpy(), ref_x) and np.array_equal(plain[1].numpy(), ref_y)


def test_dataloader_batches_shuffling_and_drop_last():
    x = np.arange(10 * 2, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    dl = DataLoader((x, y), batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 and [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == cn.float32 and batches[0][1].dtype == cn.int64
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)
    assert len(DataLoader((x, y), 4, drop_last=True)) == 2
    assert [b[1].shape[0] for b in DataLoader((x, y), 4, drop_last=True)] == [4, 4]

    a = DataLoader((x, y), 3, shuffle=True, seed=7)
    b = DataLoader((x, y), 3, shuffle=True, seed=7)
    ea1, ea2 = [np.concatenate([t[1].numpy() for t in a]) for _ in range(2)]
    eb1 = np.concatenate([t[1].numpy() for t in b])
    np.testing.assert_array_equal(ea1, eb1)  # same seed, same first epoch
    assert not np.array_equal(ea1, ea2)  # a new permutation each epoch
    np.testing.assert_array_equal(np.sort(ea1), y)  # every sample once
    # rows stay paired with their labels
    for xb, yb in DataLoader((x, y), 3, shuffle=True, seed=3):
        np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())


def test_dataloader_over_a_map_style_dataset():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((1, 2, 2), i, np.float32), i * i

    xs, ys = zip(*[(xb.numpy(), yb.numpy()) for xb, yb in DataLoader(Squares(), batch_size=2)])
    assert [a.shape for a in xs] == [(2, 1, 2, 2), (2, 1, 2, 2), (1, 1, 2, 2)]
    np.testing.assert_array_equal(np.concatenate(ys), [0, 1, 4, 9, 16])


def test_dataloader_mismatched_lengths():
    with pytest.raises(ValueError, match=msg("TensorDataset: array 1 has 9 rows, expected 10", "(9,)")):
        DataLoader((np.zeros((10, 3), np.float32), np.zeros(9, np.int64)), batch_size=4)
    with pytest.raises(ValueError, match=msg("DataLoader: batch_size must be a positive int, got 0")):
        DataLoader((np.zeros((10, 3), np.float32), np.zeros(10, np.int64)), batch_size=0)

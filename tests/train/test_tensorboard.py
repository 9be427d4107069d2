"""callbacks.TensorBoard: a short fit writes event files that tensorboard's own reader
(EventAccumulator) reads back with the History's values, the learning rates, histograms of the
weights and gradients and the first convolution's filters at the right steps."""

import io
import os
import sys

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet import callbacks as C
from convnet import viz
from convnet.data import DataLoader

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].sum((1, 2)) > 0).astype(np.int64) + 2 * (x[:, 0, :, :4].sum((1, 2)) > 0)
    return x, y


def _fit(callbacks, epochs=3, resume_from=None):
    cn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(64, 4))
    # two parameter groups with their own rates, halved after each epoch
    opt = cn.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                        {"params": model[4].parameters(), "lr": 0.02}], lr=0.1, momentum=0.9)
    sched = cn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist = cn.fit(model, DataLoader(_data(96, 0), 16, shuffle=True, seed=1), opt, epochs=epochs,
                  val_loader=DataLoader(_data(32, 1), 16), verbose=False, callbacks=callbacks,
                  scheduler=sched, resume_from=resume_from)
    return model, hist


def _reader(log_dir):
    files = [f for f in os.listdir(log_dir) if f.startswith("events.out.tfevents")]
    assert len(files) == 1, files
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0,
                                                                          "images": 0})
    acc.Reload()
    return acc


def test_event_files_hold_scalars_learning_rates_histograms_and_images(tmp_path):
    model, hist = _fit([C.TensorBoard(tmp_path / "tb", histogram_freq=2)])
    acc = _reader(tmp_path / "tb")
    tags = acc.Tags()
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "time"):
        events = acc.Scalars(name)
        assert [e.step for e in events] == [1, 2, 3]
        np.testing.assert_allclose([e.value for e in events], hist[name], rtol=1e-6)
    # the rate of each group during each epoch: StepLR halves both after every epoch
    for i, lr0 in enumerate((0.1, 0.02)):
        events = acc.Scalars(f"lr/group{i}")
        assert [e.step for e in events] == [1, 2, 3]
        np.testing.assert_allclose([e.value for e in events], [lr0, lr0 / 2, lr0 / 4], rtol=1e-6)
    assert "lr" not in tags["scalars"] and "batch/loss" not in tags["scalars"]
    # histograms (weights and the last step's gradients) and filters every second epoch
    names = [n for n, _ in model.named_parameters()]
    assert sorted(tags["histograms"]) == sorted(names + [n + "/grad" for n in names])
    for name, p in model.named_parameters():
        for tag in (name, name + "/grad"):
            (event,) = acc.Histograms(tag)
            assert event.step == 2 and event.histogram_value.num == p.numel()
    assert tags["images"] == ["filters/0"]
    (event,) = acc.Images("filters/0")  # 4 filters 3x3, each enlarged 10 times, in a 2x2 grid
    assert event.step == 2 and (event.width, event.height) == (2 * 30 + 3, 2 * 30 + 3)


def test_histograms_and_images_match_the_weights_of_their_epoch(tmp_path):
    seen = {}

    class Snapshot(C.Callback):  # the weights and gradients at each epoch's end
        order = 20

        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = ({k: p.detach().numpy().copy() for k, p in self.model.named_parameters()},
                           {k: p.grad.numpy().copy() for k, p in self.model.named_parameters()},
                           viz.filters(self.model[0], scale=10))

    model, _ = _fit([C.TensorBoard(tmp_path, update_freq="epoch"), Snapshot()], epochs=2)
    acc = _reader(tmp_path)
    Image = pytest.importorskip("PIL.Image")
    for epoch in (1, 2):
        weights, grads, grid = seen[epoch]
        for name in weights:
            for tag, value in ((name, weights[name]), (name + "/grad", grads[name])):
                h = next(e for e in acc.Histograms(tag) if e.step == epoch).histogram_value
                assert h.num == value.size
                assert h.min == pytest.approx(float(value.min()), rel=1e-6)
                assert h.max == pytest.approx(float(value.max()), rel=1e-6)
                assert h.sum == pytest.approx(float(value.astype(np.float64).sum()), rel=1e-4, abs=1e-6)
                assert h.sum_squares == pytest.approx(float((value.astype(np.float64) ** 2).sum()), rel=1e-4)
                assert sum(h.bucket) == value.size
        event = next(e for e in acc.Images("filters/0") if e.step == epoch)
        img = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
        assert grid.shape == (2 * 30 + 3, 2 * 30 + 3)
        assert img.shape == grid.shape + (3,)  # the grey grid is stored as RGB
        for c in range(3):
            np.testing.assert_array_equal(img[..., c], grid)
    assert seen[1][0]["0.weight"].tolist() != seen[2][0]["0.weight"].tolist()


@pytest.mark.parametrize("update_freq,every", [("batch", 1), (4, 4)])
def test_batch_losses(tmp_path, update_freq, every):
    losses = []

    class Losses(C.Callback):
        def on_train_batch_end(self, step, logs=None):
            losses.append(logs["loss"])

    _fit([C.TensorBoard(tmp_path, histogram_freq=0, update_freq=update_freq), Losses()], epochs=2)
    acc = _reader(tmp_path / "batch")  # batch steps: a run of their own
    events = acc.Scalars("batch/loss")
    assert len(losses) == 12  # 6 batches an epoch, counted over the run
    assert [e.step for e in events] == list(range(every, 13, every))
    np.testing.assert_allclose([e.value for e in events], losses[every - 1::every], rtol=1e-6)
    tags = _reader(tmp_path).Tags()
    assert "batch/loss" not in tags["scalars"] and "loss" in tags["scalars"]
    assert tags["histograms"] == [] and tags["images"] == []  # histogram_freq=0


def test_a_resumed_run_replaces_the_epochs_after_its_checkpoint(tmp_path):
    tb = tmp_path / "tb"
    _fit([C.TensorBoard(tb, update_freq=4), C.ModelCheckpoint(dirpath=tmp_path / "ck")], epochs=3)
    _, hist = _fit([C.TensorBoard(tb, update_freq=4), C.ModelCheckpoint(dirpath=tmp_path / "ck2")], epochs=3,
                   resume_from=tmp_path / "ck" / "epoch001.ckpt")
    for folder in (tb, tb / "batch"):  # two runs' files, none overwritten
        assert len([f for f in os.listdir(folder) if f.startswith("events.out.tfevents")]) == 2
    acc = event_accumulator.EventAccumulator(str(tb), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    events = acc.Scalars("loss")
    assert [e.step for e in events] == [1, 2, 3]  # epochs 2 and 3 of the first run were dropped
    np.testing.assert_allclose([e.value for e in events], hist["loss"], rtol=1e-6)
    assert [e.step for e in acc.Histograms("0.weight")] == [1, 2, 3]
    batch = event_accumulator.EventAccumulator(str(tb / "batch"))
    batch.Reload()
    assert [e.step for e in batch.Scalars("batch/loss")] == [4, 8, 12, 16]  # 6 batches an epoch


def test_only_rank_0_writes_and_arguments(tmp_path, monkeypatch):
    from convnet import distributed

    monkeypatch.setattr(distributed, "get_rank", lambda: 1)
    _fit([C.TensorBoard(tmp_path / "rank1")], epochs=1)
    assert not (tmp_path / "rank1").exists()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="TensorBoard: update_freq must be 'epoch', 'batch' or a positive int"):
        C.TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(ValueError, match="TensorBoard: histogram_freq must be an int >= 0"):
        C.TensorBoard(tmp_path, histogram_freq=-1)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install tensorboardX"):
        C.TensorBoard(tmp_path)


def test_rgb_filters_image(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((32, 3, 6, 6)).astype(np.float32), rng.integers(0, 2, 32)
    cn.manual_seed(1)

    class Net(nn.Module):  # the first Conv2d is found by name inside a Python module
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 5, 5), nn.ReLU())
            self.head = nn.Linear(5 * 2 * 2, 2)

        def forward(self, x):
            return self.head(cn.flatten(self.features(x), 1))

    model = Net()
    cn.fit(model, DataLoader((x, y), 16), cn.optim.SGD(model.parameters(), lr=0.1), verbose=False,
           callbacks=[C.TensorBoard(tmp_path)])
    (event,) = _reader(tmp_path).Images("filters/features.0")
    Image = pytest.importorskip("PIL.Image")
    img = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
    np.testing.assert_array_equal(img, viz.filters(model.features[0], scale=6))  # RGB tiles of 30 pixels

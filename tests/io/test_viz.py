"""convnet.viz: filter and feature-map grids against a NumPy layout, PNG files read back with Pillow,
and the history and confusion-matrix plots checked pixel by pixel."""

import math
import os

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet import viz

PNG_DIR = "/tmp/convnet-pngs"  # one of each plot is kept here for people to look at


def _ref_grid(tiles, ncol):
    """The documented layout, built cell by cell: tiles min-max scaled to 0..255 and rounded, 1-pixel
    white (255) borders around and between cells, unused cells white."""
    n, h, w = tiles.shape[:3]
    nrows = -(-n // ncol)
    grid = np.full((nrows * h + nrows + 1, ncol * w + ncol + 1) + tiles.shape[3:], 255, np.uint8)
    for i in range(n):
        t = tiles[i].astype(np.float64)
        span = t.max() - t.min()
        scaled = np.zeros_like(t) if span == 0 else (t - t.min()) / span
        r, c = i // ncol, i % ncol
        grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = np.round(scaled * 255)
    return grid


def _read_png(path):
    Image = pytest.importorskip("PIL.Image")
    with Image.open(path) as im:
        return np.asarray(im)


def test_filters_grid_of_single_channel_filters(tmp_path):
    cn.manual_seed(0)
    conv = nn.Conv2d(1, 6, 5)
    w = conv.weight.detach().numpy()
    grid = viz.filters(conv, path=tmp_path / "f.png")
    assert grid.dtype == np.uint8 and grid.shape == (2 * 5 + 3, 3 * 5 + 4)  # 3 columns, 2 rows
    np.testing.assert_array_equal(grid, _ref_grid(w[:, 0], 3))
    np.testing.assert_array_equal(_read_png(tmp_path / "f.png"), grid)
    # each filter spans the full range; the last row has three cells, none empty
    assert grid[1:6, 1:6].min() == 0 and grid[1:6, 1:6].max() == 255


def test_filters_grid_of_multichannel_and_rgb_filters(tmp_path):
    cn.manual_seed(1)
    conv = nn.Conv2d(6, 16, 5)
    w = conv.weight.detach().numpy()
    grid = viz.filters(conv)
    assert grid.shape == (16 * 6 + 1, 6 * 6 + 1)  # one row per filter, one column per channel
    np.testing.assert_array_equal(grid, _ref_grid(w.reshape(96, 5, 5), 6))

    rgb = nn.Conv2d(3, 5, 3)
    wr = rgb.weight.detach().numpy()
    grid = viz.filters(rgb, path=tmp_path / "rgb.png")
    assert grid.shape == (2 * 3 + 3, 3 * 3 + 4, 3)
    np.testing.assert_array_equal(grid, _ref_grid(wr.transpose(0, 2, 3, 1), 3))
    np.testing.assert_array_equal(_read_png(tmp_path / "rgb.png"), grid)
    # rgb=False shows each channel on its own; scale enlarges tiles, borders stay 1 pixel
    assert viz.filters(rgb, rgb=False).shape == (5 * 4 + 1, 3 * 4 + 1)
    big = viz.filters(nn.Conv2d(1, 4, 3), scale=3)
    assert big.shape == (2 * 9 + 3, 2 * 9 + 3)
    assert (big[1:10, 1:10].reshape(3, 3, 3, 3) == big[1:10:3, 1:10:3][:, None, :, None]).all()


def test_feature_maps_captured_by_a_forward_hook(tmp_path):
    cn.manual_seed(2)
    model = cn.models.lenet5()
    captured = {}
    handle = model[0].register_forward_hook(lambda m, inp, out: captured.setdefault("conv1", out))
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    model(cn.from_numpy(x))
    handle.remove()
    assert captured["conv1"].requires_grad and tuple(captured["conv1"].shape) == (2, 6, 28, 28)
    maps = captured["conv1"].detach().numpy()
    os.makedirs(PNG_DIR, exist_ok=True)
    grid = viz.feature_maps(captured["conv1"], path=os.path.join(PNG_DIR, "feature_maps.png"), index=1)
    assert grid.shape == (2 * 29 + 1, 3 * 29 + 1)
    np.testing.assert_array_equal(grid, _ref_grid(maps[1], 3))
    np.testing.assert_array_equal(_read_png(os.path.join(PNG_DIR, "feature_maps.png")), grid)
    np.testing.assert_array_equal(viz.feature_maps(cn.from_numpy(maps[0]), nrow=6), _ref_grid(maps[0], 6))
    viz.filters(model[3], path=os.path.join(PNG_DIR, "filters_conv2.png"))


def test_grid_errors():
    with pytest.raises(ValueError, match=r"filters: expected convolution weights \(K, C, R, S\), got shape \(3, 4\)"):
        viz.filters(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"feature_maps: expected feature maps .* got shape \(5,\)"):
        viz.feature_maps(np.zeros(5))
    with pytest.raises(ValueError, match="index 3 is out of range for a batch of 2"):
        viz.feature_maps(np.zeros((2, 1, 4, 4)), index=3)
    with pytest.raises(ValueError, match="save_png: expected a uint8 image"):
        viz.save_png(np.zeros((4, 4)), "/tmp/never.png")


HISTORY = {"loss": [1.0, 0.6, 0.4, 0.3, 0.25], "val_loss": [1.2, 0.9, 0.8, 0.75, 0.74],
           "accuracy": [0.6, 0.8, 0.88, 0.92, 0.94], "val_accuracy": [0.55, 0.7, 0.75, 0.77, 0.78],
           "lr": [0.1] * 5}


def _to_pixel(box, e, v):
    left, top, right, bottom, (x0, x1), (y0, y1) = box
    return left + (e - x0) / (x1 - x0) * (right - left), bottom - (v - y0) / (y1 - y0) * (bottom - top)


def _near(img, x, y, color, radius=2, tol=60):
    """Whether a pixel within `radius` of (x, y) is within `tol` (L1 over RGB) of `color`."""
    xi, yi = int(round(x)), int(round(y))
    patch = img[yi - radius:yi + radius + 1, xi - radius:xi + radius + 1, :3].astype(int)
    return bool((np.abs(patch - np.array(color)).sum(-1) <= tol).any())


def _check_history_png(img, plot):
    assert img.shape[:2] == plot.image.shape[:2] and img.shape[0] >= 200 and img.shape[1] >= 400
    np.testing.assert_array_equal(img[:, :, :3], plot.image)
    assert len(np.unique(img.reshape(-1, img.shape[2]), axis=0)) > 10  # not blank
    assert set(plot.axes) == {"loss", "accuracy"}
    assert set(plot.colors) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert plot.colors["loss"] != plot.colors["val_loss"]
    epochs = range(1, 6)
    for panel, keys in (("loss", ("loss", "val_loss")), ("accuracy", ("accuracy", "val_accuracy"))):
        box = plot.axes[panel]
        for key in keys:
            values = HISTORY[key]
            for e, v in zip(epochs, values):  # every point of the curve
                assert _near(img, *_to_pixel(box, e, v), plot.colors[key]), (panel, key, e)
            for e in range(1, 5):  # and along the segments between them
                for t in (0.25, 0.5, 0.75):
                    p = _to_pixel(box, e + t, values[e - 1] + t * (values[e] - values[e - 1]))
                    assert _near(img, *p, plot.colors[key]), (panel, key, e, t)
        # the other curve's colour is absent where only this one passes: its points are elsewhere
        left, top, right, bottom = [int(round(c)) for c in box[:4]]
        inside = img[top + 3:bottom - 2, left + 3:right - 2, :3].astype(int)
        for key in keys:
            assert (np.abs(inside - np.array(plot.colors[key])).sum(-1) <= 30).sum() > 200, key


def test_plot_history_pillow_png_has_both_curves_where_they_belong(tmp_path):
    pytest.importorskip("PIL")
    hist = cn.train.History()
    for e in range(5):
        hist._log(e + 1, {k: v[e] for k, v in HISTORY.items()})
    os.makedirs(PNG_DIR, exist_ok=True)
    path = os.path.join(PNG_DIR, "history.png")
    plot = viz.plot_history(hist, path, backend="pillow")
    assert plot.backend == "pillow"
    _check_history_png(_read_png(path), plot)
    # the background between the curves is white, the axes frame black
    box = plot.axes["loss"]
    x, _ = _to_pixel(box, 4.5, 0)
    assert tuple(plot.image[int(_to_pixel(box, 4.5, 0.52)[1]), int(x)]) == (255, 255, 255)
    assert tuple(plot.image[int(box[1]), int((box[0] + box[2]) / 2)]) == (0, 0, 0)


def test_plot_history_matplotlib_png(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    plot = viz.plot_history(HISTORY, tmp_path / "h.png", backend="matplotlib")
    assert plot.backend == "matplotlib"
    _check_history_png(_read_png(tmp_path / "h.png"), plot)


def _check_confusion_png(img, plot, cm):
    c = cm.shape[0]
    assert img.shape[:2] == plot.image.shape[:2]
    np.testing.assert_array_equal(img[:, :, :3], plot.image)
    left, top, right, bottom = plot.cells
    cw, ch = (right - left) / c, (bottom - top) / c
    # darkness of each cell near its top-left corner (away from the centred count)
    dark = np.empty((c, c))
    for i in range(c):
        for j in range(c):
            y, x = int(top + i * ch + ch * 0.15), int(left + j * cw + cw * 0.15)
            dark[i, j] = 765 - img[y, x, :3].astype(int).sum()
    order = np.argsort(cm, axis=None, kind="stable")
    # cells get darker as counts grow, empty cells are (nearly) white, blue dominates
    assert (np.diff(dark.ravel()[order]) >= -3).all()
    assert dark.ravel()[order[0]] < 30 and dark.max() > 400
    i, j = np.unravel_index(cm.argmax(), cm.shape)
    y, x = int(top + i * ch + ch * 0.15), int(left + j * cw + cw * 0.15)
    r, g, b = img[y, x, :3].astype(int)
    assert b > r and b > g


def _confusion():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 10, 2000)
    pred = np.where(rng.random(2000) < 0.8, target, rng.integers(0, 10, 2000))
    return cn.metrics.confusion_matrix(pred, target, num_classes=10)


def test_plot_confusion_matrix_pillow():
    pytest.importorskip("PIL")
    cm = _confusion()
    from convnet.datasets import FashionMNIST

    os.makedirs(PNG_DIR, exist_ok=True)
    path = os.path.join(PNG_DIR, "confusion_matrix.png")
    plot = viz.plot_confusion_matrix(cm, FashionMNIST.classes, path, backend="pillow")
    img = _read_png(path)
    assert img.shape[0] > 400 and img.shape[1] > 400
    _check_confusion_png(img, plot, cm)
    norm = viz.plot_confusion_matrix(cm, None, backend="pillow", normalize=True)
    _check_confusion_png(norm.image, norm, cm / cm.sum(1, keepdims=True))


def test_plot_confusion_matrix_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    cm = _confusion()
    plot = viz.plot_confusion_matrix(cm, [f"c{i}" for i in range(10)], tmp_path / "cm.png",
                                     backend="matplotlib")
    _check_confusion_png(_read_png(tmp_path / "cm.png"), plot, cm)


def test_plot_errors():
    with pytest.raises(ValueError, match=r"plot_confusion_matrix: expected a square matrix, got shape \(2, 3\)"):
        viz.plot_confusion_matrix(np.zeros((2, 3)), backend="pillow")
    with pytest.raises(ValueError, match="3 class names for a 2x2 matrix"):
        viz.plot_confusion_matrix(np.zeros((2, 2)), ["a", "b", "c"], backend="pillow")
    with pytest.raises(ValueError, match="backend must be"):
        viz.plot_history(HISTORY, backend="svg")
    with pytest.raises(ValueError, match="plot_history: the history has no loss or accuracy"):
        viz.plot_history({"lr": [0.1]}, backend="pillow")
    assert math.isfinite(viz._limits([1.0])[0])


# Grad-CAM and saliency: against PyTorch's autograd on the same model and weights


def _small_cnn():
    cn.manual_seed(7)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 5 * 5, 5))


def _torch_twin(torch, model):
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3, padding=1),
                             torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(6 * 5 * 5, 5))
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    return tm.double().eval()


def _torch_grad_cam(torch, tm, x, layer, class_idx):
    """Grad-CAM written out in PyTorch: the layer's output and its gradient, channel weights by global
    average pooling, relu of the weighted sum, bilinear upsampling, divided by the maximum."""
    store = {}
    handle = tm[layer].register_forward_hook(lambda m, i, out: store.setdefault("a", out))
    scores = tm(x)
    handle.remove()
    c = int(scores[0].argmax()) if class_idx is None else class_idx
    (g,) = torch.autograd.grad(scores[0, c], [store["a"]])
    cam = torch.relu((g.mean((2, 3), keepdim=True) * store["a"]).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[0, 0]
    return (cam / cam.max()).detach().numpy(), c


@pytest.mark.parametrize("class_idx", [None, 3])
def test_grad_cam_and_saliency_match_pytorch(class_idx):
    torch = pytest.importorskip("torch")
    model = _small_cnn()
    tm = _torch_twin(torch, model)
    x = np.random.default_rng(8).standard_normal((3, 11, 11)).astype(np.float32)
    xt = torch.from_numpy(x.astype(np.float64))[None]
    for layer in (4, 3):  # pooled (5, 5) maps upsampled to (11, 11); the (11, 11) maps themselves
        want, c = _torch_grad_cam(torch, tm, xt, layer, class_idx)
        got = viz.grad_cam(model, x, model[layer], class_idx=class_idx)
        assert got.shape == (11, 11) and got.dtype == np.float64
        assert got.max() == 1.0 and got.min() >= 0
        np.testing.assert_allclose(got, want, atol=2e-5)
    # by name, from a tensor (1, C, H, W)
    np.testing.assert_allclose(viz.grad_cam(model, cn.from_numpy(x[None]), "4", class_idx=class_idx),
                               _torch_grad_cam(torch, tm, xt, 4, class_idx)[0], atol=2e-5)
    xs = xt.clone().requires_grad_(True)
    scores = tm(xs)
    scores[0, c].backward()
    want = xs.grad[0].abs().amax(0).numpy()
    got = viz.saliency(model, x, class_idx=class_idx)
    assert got.shape == (11, 11)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want.max())


def test_heat_maps_leave_the_model_alone_and_write_pngs(tmp_path):
    model = _small_cnn()
    model.train()
    x = np.random.default_rng(9).standard_normal((3, 11, 11)).astype(np.float32)
    scores = cn.predict(model, x[None])[0]
    # the default class is the predicted one
    np.testing.assert_array_equal(viz.grad_cam(model, x, model[3]),
                                  viz.grad_cam(model, x, model[3], class_idx=int(scores.argmax())))
    sal = viz.saliency(model, x, path=tmp_path / "sal.png", scale=2)
    cam = viz.grad_cam(model, x, model[4], path=tmp_path / "cam.png", alpha=0.4)
    assert model.training  # the mode is restored
    assert all(p.grad is None for p in model.parameters())  # no parameter gradient was accumulated
    # the PNGs are the overlays: jet colours of the map over the min-max scaled image
    img = _read_png(tmp_path / "cam.png")
    np.testing.assert_array_equal(img, viz.overlay_heatmap(x, cam, alpha=0.4))
    base = np.round((x - x.min()) / (x.max() - x.min()) * 255).transpose(1, 2, 0)
    t = cam[..., None]
    jet = np.round(np.clip(1.5 - np.abs(4 * t - np.array([3, 2, 1])), 0, 1) * 255)
    np.testing.assert_array_equal(img, np.round(0.6 * base + 0.4 * jet).astype(np.uint8))
    hot = np.unravel_index(cam.argmax(), cam.shape)
    assert img[hot][0] > img[hot][2] or cam.max() == 0  # the hottest pixel leans red, not blue
    big = _read_png(tmp_path / "sal.png")
    assert big.shape == (22, 22, 3)
    np.testing.assert_array_equal(big[::2, ::2], viz.overlay_heatmap(x, sal / sal.max()))
    os.makedirs(PNG_DIR, exist_ok=True)
    viz.overlay_heatmap(x[0], cam, path=os.path.join(PNG_DIR, "grad_cam.png"), scale=8)  # grey image


def test_heat_map_errors():
    model = _small_cnn()
    x = np.zeros((3, 11, 11), np.float32)
    with pytest.raises(ValueError, match=r"grad_cam: expected one image \(C, H, W\) or \(1, C, H, W\), "
                                         r"got shape \(2, 3, 11, 11\)"):
        viz.grad_cam(model, np.zeros((2, 3, 11, 11), np.float32), model[3])
    with pytest.raises(ValueError, match="grad_cam: the model has no module named 'conv9'"):
        viz.grad_cam(model, x, "conv9")
    with pytest.raises(ValueError, match="grad_cam: the target layer Conv2d was not called"):
        viz.grad_cam(model, x, nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match=r"grad_cam: the target layer must output feature maps .*\(1, 5\)"):
        viz.grad_cam(model, x, model[6])
    with pytest.raises(ValueError, match="saliency: class_idx 5 is out of range for 5 classes"):
        viz.saliency(model, x, class_idx=5)
    with pytest.raises(ValueError, match=r"overlay_heatmap: .*shapes \(3, 11, 11\) and \(4, 4\)"):
        viz.overlay_heatmap(x, np.zeros((4, 4)))


def test_heat_maps_of_a_trained_model_find_the_evidence():
    # class 1 images hold a bright 3x3 patch somewhere in the noise; class 0 images do not
    def data(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, 1, 16, 16)).astype(np.float32) * 0.5
        y, pos = rng.integers(0, 2, n), rng.integers(1, 13, (n, 2))
        for i in np.flatnonzero(y):
            x[i, 0, pos[i, 0]:pos[i, 0] + 3, pos[i, 1]:pos[i, 1] + 3] += 2.0
        return x, y, pos

    cn.manual_seed(0)
    x, y, _ = data(512, 0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    hist = cn.fit(model, cn.data.DataLoader((x, y), 32, shuffle=True, seed=0),
                  cn.optim.Adam(model.parameters(), lr=0.01), epochs=4, verbose=False)
    assert hist["accuracy"][-1] > 0.95
    xt, yt, pos = data(64, 1)
    ratios = []
    for i in np.flatnonzero(yt):
        near = np.zeros((16, 16), bool)  # the patch and a 1-pixel ring around it
        near[pos[i, 0] - 1:pos[i, 0] + 4, pos[i, 1] - 1:pos[i, 1] + 4] = True
        cam = viz.grad_cam(model, xt[i], model[3], class_idx=1)
        assert near[np.unravel_index(cam.argmax(), cam.shape)], (i, pos[i])  # the hottest pixel is there
        sal = viz.saliency(model, xt[i], class_idx=1)
        ratios.append(sal[near].mean() / sal[~near].mean())
    assert np.median(ratios) > 3, ratios  # the gradient is largest where the patch is

"""Pictures of training: convolution filters and feature maps as image grids, the History's loss
and accuracy curves, a confusion matrix, and what a prediction looks at: Grad-CAM and saliency
heat maps drawn over the input image.

`filters`, `feature_maps`, `grad_cam`, `saliency` and `overlay_heatmap` need only NumPy (PNGs
are written by a small zlib encoder here). `plot_history` and `plot_confusion_matrix` draw with
matplotlib when it is installed and with Pillow otherwise (`backend="matplotlib"` or `"pillow"`
chooses); both return a `Plot` whose `image` is the RGB picture and whose layout fields say where
the axes or cells are in it. Every PNG is written to a temporary file in the target folder and
renamed over the path."""

import math
import os
import struct
import zlib

import numpy as np

from . import _core

__all__ = ["Plot", "feature_maps", "filters", "grad_cam", "make_grid", "overlay_heatmap",
           "plot_confusion_matrix", "plot_history", "saliency", "save_png"]

# matplotlib's tab10 blue and orange: training and validation curves
TRAIN_COLOR = (31, 119, 180)
VAL_COLOR = (255, 127, 14)


# ---------------------------------------------------------------------------------------------
# PNG files


def save_png(image, path):
    """Writes a uint8 image (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA as a PNG file."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise ValueError(f"save_png: expected a uint8 image (H, W), (H, W, 3) or (H, W, 4), "
                         f"got dtype {img.dtype} shape {img.shape}")
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"save_png: the image is empty (shape {img.shape})")
    color_type = {1: 0, 3: 2, 4: 6}[1 if img.ndim == 2 else img.shape[2]]  # grey, RGB, RGBA
    rows = np.ascontiguousarray(img).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))

    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _core._write_file_atomic(path, png, "save_png")


# ---------------------------------------------------------------------------------------------
# Image grids


def _array(x):
    if isinstance(x, _core.Tensor):
        return x.detach().numpy().astype(np.float64)
    return np.asarray(x, dtype=np.float64)


def _normalize(tile):
    """Min-max scaled to 0..255 (uint8); a constant tile becomes 0."""
    lo, hi = tile.min(), tile.max()
    scaled = (tile - lo) / (hi - lo) if hi > lo else np.zeros_like(tile)
    return np.round(scaled * 255).astype(np.uint8)


def make_grid(tiles, nrow=None, padding=1, pad_value=255, scale=1):
    """Lays out uint8 tiles (N, h, w) or (N, h, w, 3) in rows of `nrow` (default ceil(sqrt(N))),
    each tile enlarged `scale` times (nearest), with `padding` pixels of `pad_value` around and
    between them; unused cells are `pad_value` too. Returns (rows*h' + (rows+1)*padding,
    nrow*w' + (nrow+1)*padding[, 3]) uint8."""
    tiles = np.asarray(tiles)
    if tiles.ndim not in (3, 4) or len(tiles) == 0:
        raise ValueError(f"make_grid: expected tiles (N, h, w) or (N, h, w, 3) with N >= 1, got shape {tiles.shape}")
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"make_grid: scale must be a positive int, got {scale!r}")
    n = len(tiles)
    ncol = nrow if nrow is not None else math.ceil(math.sqrt(n))
    if not isinstance(ncol, int) or ncol < 1:
        raise ValueError(f"make_grid: nrow must be a positive int, got {nrow!r}")
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    h, w = tiles.shape[1:3]
    nrows = math.ceil(n / ncol)
    grid = np.full((nrows * (h + padding) + padding, ncol * (w + padding) + padding) + tiles.shape[3:],
                   pad_value, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[top:top + h, left:left + w] = tile
    return grid


def filters(conv, path=None, nrow=None, scale=1, rgb=None):
    """An image grid of a convolution's weights (K, C, R, S): a Conv2d (its `.weight`), a tensor or
    an array. With one input channel, or three and `rgb` (the default for three), each filter is
    one tile (RGB for three channels, normalized over its channels); otherwise each (filter,
    channel) slice is a tile, one row per filter (`nrow` = C). Each tile is min-max normalized on
    its own; tiles are separated by 1-pixel white borders. Saved as a PNG at `path` if given.
    Returns the grid as uint8 (H, W) or (H, W, 3)."""
    w = _array(conv.weight if hasattr(conv, "weight") else conv)
    if w.ndim != 4:
        raise ValueError(f"filters: expected convolution weights (K, C, R, S), got shape {w.shape}")
    k, c = w.shape[:2]
    rgb = (c == 3) if rgb is None else rgb
    if rgb and c != 3:
        raise ValueError(f"filters: rgb=True needs 3 input channels, the weights have {c} (shape {w.shape})")
    if rgb:
        tiles = np.stack([_normalize(f.transpose(1, 2, 0)) for f in w])
    elif c == 1:
        tiles = np.stack([_normalize(f[0]) for f in w])
    else:
        tiles = np.stack([_normalize(s) for s in w.reshape(k * c, *w.shape[2:])])
        nrow = c if nrow is None else nrow
    grid = make_grid(tiles, nrow=nrow, scale=scale)
    if path is not None:
        save_png(grid, path)
    return grid


def feature_maps(x, path=None, nrow=None, scale=1, index=0):
    """An image grid of the channels of one feature map: `x` (C, H, W), or (N, C, H, W) of which
    image `index` is shown (a tensor or an array, e.g. captured by a forward hook). Each channel
    is min-max normalized on its own; 1-pixel white borders. Saved as a PNG at `path` if given.
    Returns the grid as uint8 (H', W')."""
    a = _array(x)
    if a.ndim == 4:
        if not -a.shape[0] <= index < a.shape[0]:
            raise ValueError(f"feature_maps: index {index} is out of range for a batch of {a.shape[0]}")
        a = a[index]
    if a.ndim != 3:
        raise ValueError(f"feature_maps: expected feature maps (C, H, W) or (N, C, H, W), got shape {a.shape}")
    grid = make_grid(np.stack([_normalize(m) for m in a]), nrow=nrow, scale=scale)
    if path is not None:
        save_png(grid, path)
    return grid


# ---------------------------------------------------------------------------------------------
# Plots


class Plot:
    """A drawn figure: `image` uint8 (H, W, 3) as written to the PNG, `backend`, and the layout:
    for `plot_history`, `axes[name] = (left, top, right, bottom, (xmin, xmax), (ymin, ymax))` in
    pixels (x to the right, y down) and data units, and `colors[series] = (r, g, b)`; for
    `plot_confusion_matrix`, `cells = (left, top, right, bottom)`, the pixel box of the matrix."""

    def __init__(self, image, backend, axes=None, colors=None, cells=None):
        self.image = image
        self.backend = backend
        self.axes = axes or {}
        self.colors = colors or {}
        self.cells = cells

    def __repr__(self):
        return f"Plot({self.image.shape[1]}x{self.image.shape[0]}, backend={self.backend!r})"


def _backend(who, backend):
    if backend is None:
        try:
            import matplotlib  # noqa: F401
            return "matplotlib"
        except ImportError:
            backend = "pillow"
    if backend == "matplotlib":
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError(f"{who}: backend='matplotlib' needs matplotlib (pip install matplotlib)") from None
    elif backend == "pillow":
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise ImportError(f"{who}: plotting needs matplotlib or Pillow (pip install pillow)") from None
    else:
        raise ValueError(f"{who}: backend must be 'matplotlib', 'pillow' or None, got {backend!r}")
    return backend


def _history_panels(history):
    h = history.history if hasattr(history, "history") else dict(history)
    epochs = list(getattr(history, "epoch", [])) or list(range(1, len(next(iter(h.values()), [])) + 1))
    panels = []
    for name in ("loss", "accuracy"):
        series = [(k, h[k]) for k in (name, "val_" + name) if k in h and len(h[k])]
        if series:
            panels.append((name, series))
    if not panels:
        raise ValueError(f"plot_history: the history has no loss or accuracy (has: {', '.join(h) or 'nothing'})")
    return epochs, panels


def _limits(values, pad=0.05):
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    return lo - pad * span, hi + pad * span


def _nice_ticks(lo, hi, count=5):
    step = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(step))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= step)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _finish(plot, path):
    if path is not None:
        save_png(plot.image, path)
    return plot


def plot_history(history, path=None, backend=None):
    """Loss (training and validation) and accuracy curves of a History (or a dict of lists) over
    the epochs, side by side; written as a PNG to `path` if given. Returns a Plot."""
    epochs, panels = _history_panels(history)
    backend = _backend("plot_history", backend)
    draw = _history_matplotlib if backend == "matplotlib" else _history_pillow
    return _finish(draw(epochs, panels), path)


def _series_color(key):
    return VAL_COLOR if key.startswith("val_") else TRAIN_COLOR


def _history_matplotlib(epochs, panels):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot: the user's backend stays
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(4.5 * len(panels), 4), dpi=100)
    canvas = FigureCanvasAgg(fig)
    axes, colors = {}, {}
    ax_list = [fig.add_subplot(1, len(panels), i + 1) for i in range(len(panels))]
    for ax, (name, series) in zip(ax_list, panels):
        for key, values in series:
            colors[key] = _series_color(key)
            ax.plot(epochs[:len(values)], values, color=np.array(colors[key]) / 255, marker="o",
                    markersize=3, linewidth=2, label=key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(True, color="#dddddd")
        ax.legend(loc="best")
        ax.set_xlim(*_limits(epochs, pad=0.03))
        ax.set_ylim(*_limits([v for _, vals in series for v in vals]))
    fig.tight_layout()
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    height = image.shape[0]
    for ax, (name, _) in zip(ax_list, panels):
        box = ax.get_window_extent()
        axes[name] = (box.x0, height - box.y1, box.x1, height - box.y0, ax.get_xlim(), ax.get_ylim())
    return Plot(image, "matplotlib", axes=axes, colors=colors)


def _font():
    from PIL import ImageFont

    return ImageFont.load_default()


def _text(draw, xy, s, font, anchor, fill=(0, 0, 0)):
    draw.text(xy, s, font=font, anchor=anchor, fill=fill)


def _fmt(v):
    return f"{v:.4g}"


def _history_pillow(epochs, panels):
    from PIL import Image, ImageDraw

    pw, ph = 450, 400  # one panel
    ml, mr, mt, mb = 60, 15, 30, 45  # margins inside a panel
    img = Image.new("RGB", (pw * len(panels), ph), "white")
    d = ImageDraw.Draw(img)
    font = _font()
    axes, colors = {}, {}
    for i, (name, series) in enumerate(panels):
        left, top, right, bottom = i * pw + ml, mt, (i + 1) * pw - mr, ph - mb
        xlim = _limits(epochs, pad=0.03)
        ylim = _limits([v for _, vals in series for v in vals])

        def px(e, v):
            return (left + (e - xlim[0]) / (xlim[1] - xlim[0]) * (right - left),
                    bottom - (v - ylim[0]) / (ylim[1] - ylim[0]) * (bottom - top))

        for t in _nice_ticks(*ylim):
            y = px(xlim[0], t)[1]
            d.line([(left, y), (right, y)], fill=(221, 221, 221))
            _text(d, (left - 5, y), _fmt(t), font, "rm")
        step = max(1, math.ceil(len(epochs) / 10))
        for e in epochs[::step]:
            x = px(e, ylim[0])[0]
            d.line([(x, top), (x, bottom)], fill=(221, 221, 221))
            _text(d, (x, bottom + 5), str(e), font, "mt")
        d.rectangle([left, top, right, bottom], outline=(0, 0, 0))
        _text(d, ((left + right) / 2, top - 8), name, font, "mb")
        _text(d, ((left + right) / 2, bottom + 25), "epoch", font, "mt")
        # the legend goes in the top-right corner, or the bottom-right one when the curves end high
        ends = [(vals[-1] - ylim[0]) / (ylim[1] - ylim[0]) for _, vals in series]
        legend_top = top + 10 if np.mean(ends) < 0.5 else bottom - 10 - 16 * len(series)
        for j, (key, values) in enumerate(series):
            colors[key] = _series_color(key)
            pts = [px(e, v) for e, v in zip(epochs, values)]
            if len(pts) > 1:
                d.line(pts, fill=colors[key], width=2)
            for x, y in pts:
                d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colors[key])
            ly = legend_top + 16 * j
            d.line([(right - 110, ly), (right - 85, ly)], fill=colors[key], width=2)
            _text(d, (right - 80, ly), key, font, "lm")
        axes[name] = (left, top, right, bottom, xlim, ylim)
    return Plot(np.asarray(img).copy(), "pillow", axes=axes, colors=colors)


def _blues(t):
    """White (t=0) to dark blue (t=1), linear in RGB; t (..., ) in [0, 1] -> uint8 (..., 3)."""
    lo, hi = np.array([247, 251, 255], np.float64), np.array([8, 48, 107], np.float64)
    return np.round(lo + np.asarray(t, np.float64)[..., None] * (hi - lo)).astype(np.uint8)


def plot_confusion_matrix(cm, class_names=None, path=None, normalize=False, backend=None,
                          title="confusion matrix"):
    """A confusion matrix (rows true classes, columns predicted, as `metrics.confusion_matrix`
    gives) as a heat map from white to dark blue with each cell's count (or, with `normalize`,
    its fraction of the row), class names on the axes; written as a PNG to `path` if given.
    Returns a Plot whose `cells` is the matrix's pixel box."""
    m = np.asarray(cm)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {m.shape}")
    c = m.shape[0]
    names = [str(i) for i in range(c)] if class_names is None else [str(n) for n in class_names]
    if len(names) != c:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class names for a {c}x{c} matrix")
    values = m.astype(np.float64)
    if normalize:
        values = values / np.maximum(values.sum(1, keepdims=True), 1)
    backend = _backend("plot_confusion_matrix", backend)
    draw = _cm_matplotlib if backend == "matplotlib" else _cm_pillow
    return _finish(draw(values, names, normalize, title), path)


def _cell_text(v, normalize):
    return f"{v:.2f}" if normalize else f"{int(v)}"


def _cm_matplotlib(values, names, normalize, title):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure

    c = len(names)
    size = max(4.0, 0.5 * c + 2)
    fig = Figure(figsize=(size, size), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    cmap = LinearSegmentedColormap.from_list("cn_blues", _blues(np.array([0.0, 1.0])) / 255)
    peak = values.max() if values.max() > 0 else 1
    ax.imshow(values / peak, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    for i in range(c):
        for j in range(c):
            ax.text(j, i, _cell_text(values[i, j], normalize), ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] / peak > 0.5 else "black")
    ax.set_xticks(range(c), names, rotation=45, ha="right")
    ax.set_yticks(range(c), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    box = ax.get_window_extent()
    height = image.shape[0]
    return Plot(image, "matplotlib", cells=(box.x0, height - box.y1, box.x1, height - box.y0))


def _cm_pillow(values, names, normalize, title):
    from PIL import Image, ImageDraw

    c = len(names)
    cell = max(14, min(48, 480 // c))
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(probe.textbbox((0, 0), n, font=font)[2] for n in names)
    left, top = label_w + 40, 50
    right, bottom = left + c * cell, top + c * cell
    img = Image.new("RGB", (right + 20, bottom + label_w + 40), "white")
    d = ImageDraw.Draw(img)
    peak = values.max() if values.max() > 0 else 1
    colors = _blues(values / peak)
    for i in range(c):
        for j in range(c):
            x0, y0 = left + j * cell, top + i * cell
            d.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=tuple(int(v) for v in colors[i, j]))
            if cell >= 20:
                _text(d, (x0 + cell / 2, y0 + cell / 2), _cell_text(values[i, j], normalize), font, "mm",
                      fill=(255, 255, 255) if values[i, j] / peak > 0.5 else (0, 0, 0))
        _text(d, (left - 5, top + i * cell + cell / 2), names[i], font, "rm")
    label = Image.new("RGB", (label_w + 4, cell), "white")
    for j in range(c):  # predicted-class names, rotated to read upwards under their columns
        label.paste((255, 255, 255), (0, 0) + label.size)
        ImageDraw.Draw(label).text((label_w, cell / 2), names[j], font=font, anchor="rm", fill=(0, 0, 0))
        rotated = label.rotate(90, expand=True)
        img.paste(rotated, (left + j * cell, bottom + 5))
    d.rectangle([left - 1, top - 1, right, bottom], outline=(0, 0, 0))
    _text(d, ((left + right) / 2, 10), title, font, "mt")
    _text(d, ((left + right) / 2, bottom + label_w + 15), "predicted", font, "mt")
    _text(d, (5, (top + bottom) / 2), "true", font, "lm")
    return Plot(np.asarray(img).copy(), "pillow", cells=(left, top, right, bottom))


# ---------------------------------------------------------------------------------------------
# Heat maps: what a prediction looks at


def _jet(t):
    """The jet colour map: t (...) in [0, 1] from dark blue through cyan, yellow to dark red ->
    uint8 (..., 3)."""
    t = np.asarray(t, np.float64)[..., None]
    rgb = np.clip(1.5 - np.abs(4 * t - np.array([3.0, 2.0, 1.0])), 0, 1)
    return np.round(rgb * 255).astype(np.uint8)


def overlay_heatmap(image, heat, path=None, alpha=0.5, scale=1):
    """The heat map `heat` (H, W) (scaled by its maximum to [0, 1], negative values as 0) in the jet
    colours, blended with weight `alpha` over the image (C, H, W) or (H, W) (a tensor or an
    array; min-max normalized; one channel is shown grey, three as RGB, others by their mean),
    each pixel enlarged `scale` times. Saved as a PNG at `path` if given. Returns uint8 (H, W, 3)."""
    img = _array(image)
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim == 3:
        img = img.transpose(1, 2, 0) if img.shape[0] == 3 else img.mean(0)
    h = _array(heat)
    if img.ndim not in (2, 3) or h.ndim != 2 or h.shape != img.shape[:2]:
        raise ValueError(f"overlay_heatmap: expected an image (C, H, W) or (H, W) and a heat map (H, W) of "
                         f"the same size, got shapes {_array(image).shape} and {h.shape}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"overlay_heatmap: alpha must be in [0, 1], got {alpha!r}")
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"overlay_heatmap: scale must be a positive int, got {scale!r}")
    base = _normalize(img).astype(np.float64)
    if base.ndim == 2:
        base = np.repeat(base[:, :, None], 3, axis=2)
    h = np.maximum(np.nan_to_num(h), 0)
    colors = _jet(h / h.max() if h.max() > 0 else h).astype(np.float64)
    out = np.round((1 - alpha) * base + alpha * colors).astype(np.uint8)
    out = out.repeat(scale, axis=0).repeat(scale, axis=1)
    if path is not None:
        save_png(out, path)
    return out


def _model_input(who, model, image):
    """The image as a (1, C, H, W) float32 tensor on the model's device, requiring grad."""
    x = image.detach() if isinstance(image, _core.Tensor) else _core.from_numpy(
        np.ascontiguousarray(np.asarray(image, np.float32)))
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"{who}: expected one image (C, H, W) or (1, C, H, W), got shape {tuple(image.shape)}")
    p = next(iter(model.parameters()), None)
    if p is not None and x.device != p.device:
        x = x.to(p.device)
    return x.float().clone().requires_grad_(True)


def _class_score(who, scores, class_idx):
    """scores[0, class_idx] (the top class when None) and the class."""
    if scores.ndim != 2 or scores.shape[0] != 1:
        raise ValueError(f"{who}: the model must return scores (1, num_classes) for one image, got shape "
                         f"{tuple(scores.shape)}")
    if class_idx is None:
        class_idx = int(scores.detach().cpu().numpy()[0].argmax())
    if not isinstance(class_idx, (int, np.integer)) or not 0 <= class_idx < scores.shape[1]:
        raise ValueError(f"{who}: class_idx {class_idx!r} is out of range for {scores.shape[1]} classes")
    return scores[0, int(class_idx)], int(class_idx)


def _run(model, x, hook_layer=None):
    """model(x) in eval mode with gradients recorded; with `hook_layer`, also the outputs of that
    module's calls."""
    from ._tensor import enable_grad

    captured = []
    handle = hook_layer.register_forward_hook(lambda m, i, out: captured.append(out)) if hook_layer else None
    was_training = model.training
    model.eval()
    try:
        with enable_grad():
            scores = model(x)
    finally:
        if handle is not None:
            handle.remove()
        model.train(was_training)
    return scores, captured


def _layer(who, model, target_layer):
    if isinstance(target_layer, str):
        named = dict(model.named_modules())
        if target_layer not in named:
            raise ValueError(f"{who}: the model has no module named {target_layer!r} (have: "
                             f"{', '.join(n for n in named if n)})")
        return named[target_layer]
    return target_layer


def grad_cam(model, image, target_layer, class_idx=None, path=None, alpha=0.5, scale=1):
    """Grad-CAM (Selvaraju et al., 2017) of one image: where `target_layer` (a module of the model,
    or its name in `named_modules()`, usually the last convolutional block) saw evidence for class
    `class_idx` (default: the predicted class).

    The layer's output A (K, h, w) (of its last call, should the forward call it more than once)
    is captured by a forward hook and the gradient of the class's score (before softmax) with
    respect to it by `convnet.autograd.grad` (no parameter's `.grad` changes); the map
    relu(sum_k mean(dScore/dA_k) A_k) is upsampled bilinearly to the input's (H, W) (a layer whose
    outputs cover less than the image, as an unpadded convolution's, is stretched over all of it,
    as Grad-CAM does) and divided by its maximum. Runs in eval mode (the model's mode is restored). `image`
    (C, H, W) or (1, C, H, W), a tensor or an array. With `path`, `overlay_heatmap(image, cam,
    path, alpha, scale)` writes the PNG. Returns float64 (H, W) in [0, 1] (zeros when no region
    speaks for the class)."""
    from .autograd import grad
    from .functional import interpolate

    x = _model_input("grad_cam", model, image)
    layer = _layer("grad_cam", model, target_layer)
    scores, captured = _run(model, x, layer)
    if not captured:
        raise ValueError(f"grad_cam: the target layer {type(layer).__name__} was not called by the model's forward")
    a = captured[-1]
    if not isinstance(a, _core.Tensor) or a.ndim != 4:
        raise ValueError(f"grad_cam: the target layer must output feature maps (1, K, h, w), got "
                         f"{tuple(a.shape) if isinstance(a, _core.Tensor) else type(a).__name__}")
    score, _ = _class_score("grad_cam", scores, class_idx)
    (g,) = grad(score, [a])
    weights = g.detach().mean((2, 3), keepdim=True)  # (1, K, 1, 1): each map's pooled gradient
    cam = (weights * a.detach()).sum(1, keepdim=True).relu()  # (1, 1, h, w)
    cam = interpolate(cam, size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)
    heat = cam[0, 0].cpu().numpy().astype(np.float64)
    peak = heat.max()
    heat = heat / peak if peak > 0 else np.zeros_like(heat)
    if path is not None:
        overlay_heatmap(x.detach()[0].cpu(), heat, path, alpha=alpha, scale=scale)
    return heat


def saliency(model, image, class_idx=None, path=None, alpha=0.5, scale=1):
    """Saliency map (Simonyan et al., 2014) of one image: |d score / d input|, the largest over the
    channels, for class `class_idx` (default: the predicted class), in eval mode. `image` as for
    `grad_cam`. With `path`, the map (scaled by its maximum) is drawn over the image by
    `overlay_heatmap`. Returns float64 (H, W), the gradient magnitudes themselves."""
    from .autograd import grad

    x = _model_input("saliency", model, image)
    scores, _ = _run(model, x)
    score, _ = _class_score("saliency", scores, class_idx)
    (g,) = grad(score, [x])
    sal = np.abs(g[0].cpu().numpy().astype(np.float64)).max(0)
    if path is not None:
        overlay_heatmap(x.detach()[0].cpu(), sal, path, alpha=alpha, scale=scale)
    return sal

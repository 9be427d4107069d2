"""convnet.hub: weights downloaded once into the cache folder, verified and converted to
safetensors, and the zoo's `weights=` argument; against an HTTP server on 127.0.0.1 (a thread of
the test) serving files the test writes with torch.save (no internet here)."""

import collections
import fcntl
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

import convnet as cn
from convnet import hub
from convnet.models import ResNet18_Weights, ResNet34_Weights
from opcheck import msg

torch = pytest.importorskip("torch")
import torch_twins  # noqa: E402


class Server:
    """Serves `files` ({path: bytes}) on 127.0.0.1, counting requests per path; a path in
    `truncated` is announced with its full Content-Length, sent half and the connection closed."""

    def __init__(self):
        self.files, self.requests, self.truncated = {}, collections.Counter(), set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests[self.path] += 1
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2] if self.path in outer.truncated else data)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def add(self, name, data):
        """Serves `data` as /models/<name>; its URL."""
        self.files[f"/models/{name}"] = data
        return self.url(f"/models/{name}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    s = Server()
    yield s
    s.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """CONVNET_HOME in the test's folder; its checkpoints folder."""
    monkeypatch.setenv("CONVNET_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "hub" / "checkpoints"


def pth_bytes(tmp_path, obj, legacy=False):
    path = tmp_path / "written.pth"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path.read_bytes()


def named(stem, data):
    """torch.hub's file name: <stem>-<the first 8 hex digits of the SHA-256>.pth."""
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def small_state():
    g = torch.Generator().manual_seed(0)
    return collections.OrderedDict([("weight", torch.randn(4, 3, generator=g)), ("bias", torch.randn(4, generator=g)),
                                    ("half", torch.randn(5, generator=g).half())])


def assert_state_equal(got, want):
    assert list(got) == list(want)
    for k in want:
        assert str(got[k].dtype) == str(want[k].dtype).replace("torch.", "convnet."), k
        np.testing.assert_array_equal(got[k].float().numpy(), want[k].float().numpy(), err_msg=k)


def test_cache_folder_follows_convnet_home(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVNET_HOME", str(tmp_path / "h"))
    assert hub.get_dir() == str(tmp_path / "h" / "hub")
    monkeypatch.delenv("CONVNET_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == str(tmp_path / "xdg" / "convnet" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert hub.get_dir() == str(tmp_path / "user" / ".cache" / "convnet" / "hub")
    monkeypatch.setattr(hub, "_hub_dir", None)  # set_dir's choice is undone after the test
    hub.set_dir(tmp_path / "mine")
    assert hub.get_dir() == str(tmp_path / "mine")


def test_download_once_verify_convert_and_hit_the_cache(server, home, tmp_path, capsys):
    state = small_state()
    data = pth_bytes(tmp_path, state)
    name = named("tiny", data)
    url = server.add(name, data)
    got = hub.load_state_dict_from_url(url)  # progress on: a message and a bar on stderr
    assert_state_equal(got, state)
    err = capsys.readouterr().err
    assert f'Downloading: "{url}" to {home / name}' in err and "100%" in err
    assert sorted(os.listdir(home)) == [name, name.replace(".pth", ".safetensors")]
    assert (home / name).read_bytes() == data
    assert server.requests[f"/models/{name}"] == 1
    # a cache hit: the converted file is loaded, the server is not asked again, even when it is gone
    server.close()
    assert_state_equal(hub.load_state_dict_from_url(url, progress=False), state)
    assert server.requests[f"/models/{name}"] == 1
    assert capsys.readouterr().err == ""


def test_full_sha256_file_name_model_dir_and_map_location(server, home, tmp_path):
    state = small_state()
    data = pth_bytes(tmp_path, state, legacy=True)
    url = server.add("plain.pth", data)  # no hash in the name: the full digest is the check
    folder = tmp_path / "elsewhere"
    got = hub.load_state_dict_from_url(url, model_dir=folder, progress=False, file_name="mine.pth",
                                       sha256=hashlib.sha256(data).hexdigest().upper(), map_location="cpu")
    assert_state_equal(got, state)
    assert sorted(os.listdir(folder)) == ["mine.pth", "mine.safetensors"]
    assert not home.exists()


def test_a_safetensors_file_is_loaded_as_downloaded(server, home, tmp_path):
    cn.save({"w": cn.ones(3)}, tmp_path / "w.safetensors")
    data = (tmp_path / "w.safetensors").read_bytes()
    url = server.add("w.safetensors", data)
    got = hub.load_state_dict_from_url(url, progress=False, sha256=hashlib.sha256(data).hexdigest())
    np.testing.assert_array_equal(got["w"].numpy(), np.ones(3, np.float32))
    assert os.listdir(home) == ["w.safetensors"]


@pytest.mark.parametrize("how", ["full", "prefix"])
def test_a_hash_mismatch_keeps_nothing(server, home, tmp_path, how):
    data = pth_bytes(tmp_path, small_state())
    digest = hashlib.sha256(data).hexdigest()
    if how == "full":
        url, kw = server.add(named("tiny", data), data), {"sha256": "0" * 64}
        expected = msg("invalid hash value", digest, "expected " + "0" * 64, "the file's published hash",
                       "was not kept")
    else:
        url, kw = server.add("tiny-deadbeef.pth", data), {}
        expected = msg("invalid hash value", digest, "does not start with deadbeef",
                       "the hash prefix in the file name", "was not kept")
    with pytest.raises(RuntimeError, match=expected):
        hub.load_state_dict_from_url(url, progress=False, **kw)
    assert os.listdir(home) == []
    # check_hash=False takes the file as it is
    assert list(hub.load_state_dict_from_url(url, progress=False, check_hash=False, **kw)) == ["weight", "bias", "half"]


def test_an_interrupted_download_leaves_no_half_file(server, home, tmp_path):
    data = pth_bytes(tmp_path, small_state())
    name = named("tiny", data)
    url = server.add(name, data)
    server.truncated.add(f"/models/{name}")
    with pytest.raises(OSError, match=msg(f"download: {url}", f"closed after {len(data) // 2} of {len(data)} bytes",
                                          "nothing was kept")):
        hub.load_state_dict_from_url(url, progress=False)
    assert os.listdir(home) == []
    server.truncated.clear()  # the next try completes
    assert_state_equal(hub.load_state_dict_from_url(url, progress=False), small_state())


def test_ctrl_c_and_missing_files_leave_nothing(server, home, tmp_path, monkeypatch):
    data = pth_bytes(tmp_path, small_state())
    url = server.add(named("tiny", data), data)

    class Interrupting:
        def update(self, n):
            raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(hub, "_progress_bar", lambda *a: Interrupting())
    with pytest.raises(KeyboardInterrupt):
        hub.load_state_dict_from_url(url)
    assert os.listdir(home) == []
    with pytest.raises(OSError, match=msg("download:", "/models/absent-01234567.pth", "404")):
        hub.load_state_dict_from_url(server.url("/models/absent-01234567.pth"), progress=False)
    assert os.listdir(home) == []


def test_stale_temporaries_are_removed_live_ones_kept(server, home, tmp_path):
    home.mkdir(parents=True)
    stale = home / "other-12345678.pth.convnet-tmp-0badcafe"  # left by a download that died
    stale.write_bytes(b"half a file")
    live = home / "busy-12345678.pth.convnet-tmp-00c0ffee"  # another process is writing it
    fd = os.open(live, os.O_WRONLY | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        data = pth_bytes(tmp_path, small_state())
        name = named("tiny", data)
        hub.load_state_dict_from_url(server.add(name, data), progress=False)
        assert sorted(os.listdir(home)) == sorted([live.name, name, name.replace(".pth", ".safetensors")])
    finally:
        os.close(fd)


def torch_resnet18():
    """torchvision's resnet18 (tests/torch_twins.py) with random weights and random batch-norm
    statistics."""
    torch.manual_seed(5)
    model = torch_twins.torch_resnet18()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(1000)
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-without-num_batches_tracked"])
def test_resnet18_weights_through_the_hub_give_torchs_outputs(server, home, tmp_path, monkeypatch, legacy):
    t = torch_resnet18()
    state = t.state_dict()
    if legacy:  # as the files saved before PyTorch 0.4.1: no num_batches_tracked
        state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    data = pth_bytes(tmp_path, state, legacy=legacy)
    name = named("resnet18", data)
    entry = ResNet18_Weights.IMAGENET1K_V1.value  # the registry entry, pointed at the local server
    monkeypatch.setattr(entry, "url", server.add(name, data))
    monkeypatch.setattr(entry, "sha256", hashlib.sha256(data).hexdigest())

    m = cn.models.resnet18(weights="IMAGENET1K_V1", progress=False).eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = t(torch.from_numpy(x)).numpy()
    with cn.no_grad():
        got = m(cn.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert sorted(os.listdir(home)) == [name, name.replace(".pth", ".safetensors")]
    # DEFAULT names the same file: a cache hit; get_model passes weights= through
    again = cn.models.get_model("resnet18", weights=ResNet18_Weights.DEFAULT, progress=False).eval()
    with cn.no_grad():
        np.testing.assert_array_equal(again(cn.tensor(x)).numpy(), got)
    assert server.requests[f"/models/{name}"] == 1


def test_weights_arguments_are_checked_before_any_download():
    with pytest.raises(ValueError, match=msg("lenet5: no pretrained weights", "none are published",
                                             "resnet18", "vgg16_bn", "mobilenet_v2")):
        cn.models.lenet5(weights="DEFAULT")
    with pytest.raises(ValueError, match=msg("googlenet: no pretrained weights", "torchvision's GoogLeNet weights")):
        cn.models.googlenet(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match=msg("resnet20: no pretrained weights")):
        cn.models.get_model("resnet20", weights="DEFAULT")
    with pytest.raises(ValueError, match=msg("resnet18: unknown weights 'IMAGENET1K_V9'",
                                             "ResNet18_Weights.IMAGENET1K_V1", "ResNet18_Weights.DEFAULT")):
        cn.models.resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(ValueError, match=msg("resnet18: weights ResNet34_Weights.IMAGENET1K_V1 are for another model")):
        cn.models.resnet18(weights=ResNet34_Weights.DEFAULT)
    with pytest.raises(ValueError, match=msg("resnet18: the ResNet18_Weights.IMAGENET1K_V1 weights classify 1000",
                                             "num_classes=10")):
        cn.models.resnet18(num_classes=10, weights="DEFAULT")
    with pytest.raises(ValueError, match=msg("alexnet: the AlexNet_Weights.IMAGENET1K_V1 weights", "lrn=True")):
        cn.models.alexnet(lrn=True, weights="DEFAULT")
    with pytest.raises(ValueError, match=msg("mobilenet_v2:", "width_mult=0.5")):
        cn.models.mobilenet_v2(width_mult=0.5, weights="DEFAULT")
    assert cn.models.ResNet50_Weights.verify("ResNet50_Weights.DEFAULT") is cn.models.ResNet50_Weights.IMAGENET1K_V2
    assert cn.models.get_weight("MobileNet_V2_Weights.IMAGENET1K_V1").url.endswith("/mobilenet_v2-b0353104.pth")
    assert cn.models.get_model_weights("vgg11") is cn.models.VGG11_Weights


def test_the_registry_names_torchvisions_files():
    """Every entry is https://download.pytorch.org/models/<model>-<8 hex digits>.pth (the digits:
    the SHA-256 prefix that the download checks), for a builder of the zoo whose parameter count
    is the one torchvision gives for those weights (checked here on the smaller models)."""
    import re
    from convnet.models._weights import WEIGHTS
    for model, enum_cls in WEIGHTS.items():
        assert model in cn.models.list_models()
        for member in enum_cls:
            file = member.url.removeprefix("https://download.pytorch.org/models/")
            stem = "alexnet-owt" if model == "alexnet" else model
            assert re.fullmatch(re.escape(stem) + r"-[0-9a-f]{8}\.pth", file), member.url
            assert hub.HASH_REGEX.search(file).group(1) == file[-12:-4]
        assert enum_cls.DEFAULT in list(enum_cls)
    for model in ("resnet18", "mobilenet_v2"):
        m = cn.models.get_model(model)
        assert sum(p.numel() for p in m.parameters()) == WEIGHTS[model].DEFAULT.meta["num_params"], model


def test_registry_full_digests_extend_the_file_name_prefix():
    """A full SHA-256 in the registry is 64 lowercase hex digits that start with the prefix in its
    file name (the download then checks the whole digest)."""
    import re
    from convnet.models._weights import WEIGHTS
    full = [m for e in WEIGHTS.values() for m in e if m.sha256 is not None]
    assert len(full) >= 12
    for member in full:
        assert re.fullmatch(r"[0-9a-f]{64}", member.sha256), member
        assert member.sha256.startswith(hub.HASH_REGEX.search(member.url.rsplit("/", 1)[1]).group(1)), member


def test_a_full_digest_that_differs_past_the_prefix_is_rejected(server, home, tmp_path, monkeypatch):
    state = small_state()
    data = pth_bytes(tmp_path, state)
    digest = hashlib.sha256(data).hexdigest()
    name = named("resnet18", data)  # the file name carries the right prefix
    url = server.add(name, data)
    entry = ResNet18_Weights.IMAGENET1K_V1.value  # a registry entry with a full digest, served here
    assert entry.sha256 is not None
    monkeypatch.setattr(entry, "url", url)
    wrong = digest[:-1] + ("0" if digest[-1] != "0" else "1")  # the same but for the last digit
    monkeypatch.setattr(entry, "sha256", wrong)
    with pytest.raises(RuntimeError, match=msg("invalid hash value", digest, "expected " + wrong, "was not kept")):
        ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    assert os.listdir(home) == []
    # the prefix in the name alone accepts that file; the entry's right full digest does too
    monkeypatch.setattr(entry, "sha256", digest)
    assert_state_equal(ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False), state)
    assert_state_equal(hub.load_state_dict_from_url(url, progress=False), state)

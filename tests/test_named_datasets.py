import numpy as np
import pytest

from sklearn_fkd.datasets import load_dataset, split_dataset_spec, write_kaggle_csv

from .conftest import data_folder


def test_imm_person_range_and_concatenation():
    data_folder("imm_face_db")
    test = load_dataset("imm:33-40", as_gray=True)
    assert len(test.images) == 48 and set(test.groups) == set(range(33, 41))
    assert test.names[0] == "33-1m.jpg" and test.keypoints.shape == (48, 116)
    both = load_dataset("imm:1-2+imm:39-40")
    assert len(both.keypoints) == 24 and both.groups[0] == "imm:1-2:1"


def test_a_repeated_set_lists_each_face_again_in_the_same_group():
    data_folder("imm_face_db")
    once = load_dataset("imm:1-2")
    mix = load_dataset("imm:39-40+3*imm:1-2")
    assert len(mix.images) == 12 + 3 * 12
    np.testing.assert_array_equal(mix.keypoints[12:24], once.keypoints)
    np.testing.assert_array_equal(mix.keypoints[36:], once.keypoints)
    assert mix.images[12] is mix.images[24]  # listed again, not copied
    # the copies of a person share the group a plain "imm:1-2" part would give
    assert set(mix.groups[12:]) == {"imm:1-2:1", "imm:1-2:2"}
    assert list(load_dataset("2*imm:1-2").names) == list(once.names) * 2
    with pytest.raises(ValueError, match="repeated 1 to 1000 times, not 0 times"):
        load_dataset("0*imm:1-2")


def test_a_spec_splits_into_its_parts_and_their_repeats():
    assert split_dataset_spec("afw") == [(1, "afw")]
    assert split_dataset_spec("youtube:train + 3 * helen+2*lfpw") == [
        (1, "youtube:train"),
        (3, "helen"),
        (2, "lfpw"),
    ]
    assert split_dataset_spec("imm:1-32+12*imm:33-40") == [(1, "imm:1-32"), (12, "imm:33-40")]


def test_concatenating_different_schemas_is_refused():
    data_folder("imm_face_db")
    data_folder("helen_afw_68pt")
    with pytest.raises(ValueError, match="different schemas"):
        load_dataset("imm:1-1+afw")


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("", ValueError, "non-empty"),
        ("celeba", ValueError, "unknown data set 'celeba'; expected one of imm"),
        ("imm:50-60", ValueError, "no IMM person in 50-60"),
        ("missing/folder", FileNotFoundError, "no such folder"),
        ("nothing.csv", FileNotFoundError, "nothing.csv not found"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, error, match):
    if spec.startswith("imm"):
        data_folder("imm_face_db")
    with pytest.raises(error, match=match):
        load_dataset(spec)


def test_kaggle_csv_and_point_csv(tmp_path, rng):
    images = rng.integers(0, 255, (3, 96, 96), dtype=np.uint8)
    y = rng.uniform(10, 80, (3, 30))
    y[1, 4:] = np.nan
    write_kaggle_csv(images, y, tmp_path / "training.csv")
    train = load_dataset(str(tmp_path / "training.csv"))
    np.testing.assert_allclose(train.keypoints, y, atol=1e-6)
    assert train.schema.name == "kaggle15" and list(train.names) == ["1", "2", "3"]
    write_kaggle_csv(images, None, tmp_path / "test.csv", image_ids=[7, 8, 9])
    assert load_dataset(str(tmp_path / "test.csv")).keypoints is None

    from PIL import Image

    for i, im in enumerate(images):
        Image.fromarray(im).save(tmp_path / f"f{i}.png")
    rows = ["name," + ",".join(f"c{j}" for j in range(4))]
    rows += [f"f{i}.png,1,2,3,{4 if i else ''}" for i in range(3)]  # row 0: a missing y
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    pts = load_dataset(str(tmp_path / "points.csv"))
    assert pts.keypoints.shape == (3, 4) and np.isnan(pts.keypoints[0, 3])
    assert len(pts.images) == 3


def test_a_point_csv_naming_absent_images_says_which(tmp_path):
    (tmp_path / "points.csv").write_text("name,x0,y0\nghost.png,1,2\nalso.png,3,4\n")
    with pytest.raises(FileNotFoundError, match=r"2 images listed in .*points\.csv are missing"):
        load_dataset(str(tmp_path / "points.csv"))

"""Start-up: what importing the package and loading a model pull in, the deferred
optimizer of a loaded model, the detector pool, the PIL drawing the
command line writes. Times are measured in benchmarks/bench_startup.py, not here."""

import subprocess
import sys
import threading

import numpy as np
import pytest

from sklearn_fkd import IBUG68, FaceKeypointRegressor
from sklearn_fkd import detection as detection_module
from sklearn_fkd.drawing import FACE_COLOURS, draw_faces
from sklearn_fkd.persistence import load_model, save_model


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    return set(out.split())


def test_importing_the_package_imports_no_torch():
    loaded = modules_after("import sklearn_fkd; sklearn_fkd.__version__")
    assert "torch" not in loaded and "sklearn" not in loaded and "matplotlib" not in loaded


def test_lazy_names_resolve_to_the_defining_objects():
    import sklearn_fkd
    from sklearn_fkd.keypoints import IBUG68 as defined

    assert sklearn_fkd.IBUG68 is defined is IBUG68
    assert set(sklearn_fkd.__all__) - {"__version__"} == set(sklearn_fkd._LAZY)
    assert "load_pretrained" in dir(sklearn_fkd)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sklearn_fkd.nothing  # noqa: B018


def test_loading_a_model_imports_neither_torchvision_nor_the_compiler():
    loaded = modules_after("from sklearn_fkd import load_pretrained; load_pretrained('ibug68')")
    assert "torchvision" not in loaded
    assert "torch._dynamo" not in loaded  # a torch optimizer's construction imports it


def test_a_loaded_model_makes_its_optimizer_when_it_trains(small_imm, tmp_path):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(channels=(4, 8), max_epochs=1, random_state=0)
    est.set_params(optimizer__weight_decay=1e-3).fit(X[:16], y[:16])
    loaded = load_model(save_model(est, tmp_path / "m.fkd"))
    assert loaded.optimizer_ is None
    np.testing.assert_array_equal(loaded.predict(X[:4]), est.predict(X[:4]))
    loaded.partial_fit(X[:16], y[:16])  # warm training from the file
    assert loaded.optimizer_.param_groups[0]["weight_decay"] == 1e-3
    assert len(loaded.history) == 2
    again = load_model(tmp_path / "m.fkd").set_params(warm_start=True).fit(X[:16], y[:16])
    assert len(again.history) == 2  # the cosine schedule resumes on the fresh optimizer
    tuned = load_model(tmp_path / "m.fkd").set_params(lr=5e-4)  # before its optimizer
    assert tuned.optimizer_.param_groups[0]["lr"] == 5e-4
    tuned.set_params(optimizer__weight_decay=1e-4).partial_fit(X[:16], y[:16])
    assert tuned.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    new = FaceKeypointRegressor(channels=(4, 8))  # skorch's weights-only path
    est.save_params(f_params=tmp_path / "w.pt", f_optimizer=tmp_path / "o.pt")
    new.load_params(f_params=tmp_path / "w.pt", f_optimizer=tmp_path / "o.pt")
    assert new.optimizer_ is not None and new.optimizer_.state


def test_detectors_are_lent_one_thread_at_a_time():
    pool = detection_module._NativePool()
    made = []

    def make():
        made.append(threading.get_ident())
        return object()

    with pool.lend(make) as first, pool.lend(make) as second:
        assert first is not second  # two users at once never share one
    with pool.lend(make) as again:
        assert again in (first, second)  # reused afterwards
    assert len(made) == 2


def test_draw_faces_colours_the_points_and_leaves_the_rest():
    image = np.full((60, 80), 128, np.uint8)
    faces = [np.array([[10.0, 10.0], [40.0, 30.0], [np.nan, np.nan]]), np.array([[70.0, 50.0]])]
    drawn = draw_faces(image, faces, boxes=np.array([[5.0, 5, 45, 35], [np.nan] * 4]), radius=2)
    assert drawn.shape == (60, 80, 3) and drawn.dtype == np.uint8
    assert tuple(drawn[10, 10]) == FACE_COLOURS[0]
    assert tuple(drawn[50, 70]) == FACE_COLOURS[1]
    assert tuple(drawn[55, 20]) == (128, 128, 128)  # far from every point and box
    assert (image == 128).all()  # the caller's image untouched
    with pytest.raises(TypeError, match="uint8"):
        draw_faces(image.astype(np.float32), faces)

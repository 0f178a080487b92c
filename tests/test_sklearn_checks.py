"""scikit-learn's estimator checks that apply to image estimators.

Not applicable, and why:

* Every check that fits on generated 2-D tabular data (``check_fit2d_*``,
  ``check_estimators_pickle``, ``check_fit_idempotent``, ``check_n_features_in``,
  ``check_estimators_overwrite_params``, ``check_dont_overwrite_parameters``, ...): the
  estimators take images ``(n, H, W[, C])`` and keypoints ``(n, 2K)``, and their tags say
  ``two_d_array=False``, so ``parametrize_with_checks`` skips them. The same properties
  (pickling, idempotent fit, parameters untouched by fit, clone) are tested on real
  images in ``test_estimators.py``.
* ``check_no_attributes_set_in_init``, ``check_set_params`` and
  ``check_do_not_raise_errors_in_init_or_set_params``: skorch's ``NeuralNet`` sets
  ``history_``, ``initialized_`` and ``virtual_params_`` in ``__init__``, keeps internal
  bookkeeping in ``set_params`` and rebuilds its callbacks eagerly there (so a net built
  with ``callbacks=-1`` raises in ``set_params(callbacks=...)``); skorch's own
  ``NeuralNetRegressor`` fails the same way (asserted below), so they are inherited, not
  ours. Our own parameters defer every check to ``fit`` (asserted below).
"""

import warnings

import pytest
import skorch
import torch
from sklearn.base import clone
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
from sklearn_fkd.face_features import EyeAspectRatio, HeadPose, MouthAspectRatio
from sklearn_fkd.preprocessing import FaceAligner

ESTIMATORS = [
    NoseRegressor(max_epochs=1),
    FaceKeypointRegressor(max_epochs=1),
    HeatmapKeypointEstimator(max_epochs=1),
]
API_CHECKS = [
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_estimators_unfitted,
    ec.check_mixin_order,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_api_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(type(estimator).__name__, clone(estimator))


#: the transformers of points and the aligner: their inputs (points, or images with
#: keypoints) are not what the generic checks generate, so they run the API checks
TRANSFORMERS = [FaceAligner(), HeadPose(), EyeAspectRatio(), MouthAspectRatio()]


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda e: type(e).__name__)
def test_api_checks_of_the_transformers(transformer, check):
    check(type(transformer).__name__, clone(transformer))


@pytest.mark.parametrize("check", [ec.check_no_attributes_set_in_init, ec.check_set_params])
def test_inherited_failures_are_skorchs_own(check):
    with warnings.catch_warnings(), pytest.raises((AssertionError, AttributeError)):
        warnings.simplefilter("ignore", UserWarning)
        check("NeuralNetRegressor", skorch.NeuralNetRegressor(module=torch.nn.Linear))


def test_skorch_rebuilds_callbacks_in_set_params_too():
    with pytest.raises(TypeError):
        skorch.NeuralNetRegressor(module=torch.nn.Linear, callbacks=-1).set_params(callbacks=None)

"""Named, documented presets: pipelines with the settings that measured best.

``make_recipe("ibug68")`` is the in-the-wild face recipe: it trains the shipped
``ibug68`` model (``python benchmarks/train_pretrained.py ibug68``) and is what
``benchmarks/bench_68.py`` measures. It works for any schema (the points come from
``y``), as long as the schema says how its points mirror (``flip_pairs``).

The benchmark trains it on a mix that lists the in-the-wild faces (300-W HELEN and
LFPW) three times per epoch beside the YouTube frames once
(``load_dataset("youtube:train+3*helen+3*lfpw")``): at the same number of images seen
that does better on AFW than listing every face once (the ablation in
``benchmarks/README.md``). With data of your own, list the faces that look like the
ones you will predict on more than once in the same way.

.. code-block:: python

    from sklearn_fkd.recipes import make_recipe

    pipe = make_recipe("ibug68")          # FaceCrop -> Grayscale -> Resize -> estimator
    pipe.fit(images, keypoints)           # lists of photos or crops of any size
    pipe.predict(["photo.jpg"])           # points in the photo's pixels
"""

from __future__ import annotations

from .augment import Augment
from .estimators import HeatmapKeypointEstimator
from .pipeline import KeypointPipeline, make_keypoint_pipeline
from .preprocessing import FaceCrop, Grayscale, Resize

__all__ = ["RECIPES", "make_recipe"]

#: the settings of each recipe (the estimator's parameters, the input size, the crop)
RECIPES = {
    "ibug68": {
        # the numbers (margin, size, scales, epochs) are the keys below, not repeated here
        "description": (
            "68-point faces in the wild: a face crop (a margin around the box, jittered "
            "by the detector's scatter, refined once, predicted at several scales of the "
            "box and averaged), square grey input, a ResNet encoder with a "
            "feature-pyramid decoder predicting stride-4 heatmaps decoded by soft-argmax "
            "(DSNT loss with a Wing coordinate term), mild augmentation, test-time flip "
            "averaging"
        ),
        "size": 160,
        "margin": 0.25,
        "test_scales": (0.85, 1.0, 1.15),
        "estimator": {
            "backbone": "fpn",
            "widths": (32, 64, 128, 256),
            "output_stride": 4,
            "sigma": 4.0,
            "js_weight": 1.0,
            "loss": "wing",
            "lr": 2e-3,
            "batch_size": 32,
            "max_epochs": 50,
            "optimizer__weight_decay": 1e-4,
            "test_flip": True,
        },
        "augment": {"rotation": 10.0, "shift": 0.05, "scale": 0.05},
    },
    "ibug68_fast": {
        "description": (
            "68-point faces at video speed: the ibug68 recipe's crop, network kind and "
            "loss with a quarter of its channels at 96x96, one network pass per face (no "
            "refinement round, no flip or crop-scale averaging at test time)"
        ),
        "size": 96,
        "margin": 0.25,
        "refine": 0,
        "test_scales": (1.0,),
        "estimator": {
            "backbone": "fpn",
            "widths": (16, 32, 64, 128),
            "module__stem_channels": 16,
            "module__decoder_channels": 48,
            "output_stride": 4,
            "sigma": 4.0,
            "js_weight": 1.0,
            "loss": "wing",
            "lr": 3e-3,
            "batch_size": 32,
            "max_epochs": 60,
            "optimizer__weight_decay": 1e-4,
            "test_flip": False,
        },
        "augment": {"rotation": 15.0, "shift": 0.07, "scale": 0.08},
    },
}


def make_recipe(name: str = "ibug68", random_state: int | None = 0, **params) -> KeypointPipeline:
    """An unfitted pipeline with a recipe's settings.

    Parameters
    ----------
    name : str, default="ibug68"
        A key of :data:`RECIPES`.
    random_state : int or None, default=0
    **params
        Override the estimator's settings (``max_epochs=20``, ``device="cuda"``...).

    Returns
    -------
    KeypointPipeline
        ``FaceCrop -> Grayscale -> Resize -> HeatmapKeypointEstimator``.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    settings = {**recipe["estimator"], "random_state": random_state, **params}
    settings.setdefault("augment", Augment(**recipe["augment"]))
    return make_keypoint_pipeline(
        FaceCrop(margin=recipe["margin"], random_state=random_state),
        Grayscale(),
        Resize(recipe["size"]),
        HeatmapKeypointEstimator(**settings),
        refine=recipe.get("refine", 1),
        test_scales=recipe["test_scales"],
    )

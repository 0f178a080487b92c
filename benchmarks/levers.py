"""The ibug68 recipe's levers, one table for both ablations: ``bench_68.py --ablation``
(12 epochs on this machine) and ``bench_68_gpu.py`` (full length, many at once on a GPU).

Each lever: a description and the changes it makes to the recipe: ``"estimator"``,
``"augment"`` parameters, ``"predict"`` (pipeline parameters set after fit, so the
recipe's fitted pipeline is reused), ``"size"``, ``"ema"``, and data levers that drop
sets from the training mix (``"without"``) or set how often an epoch lists a set
(``"repeats"``), at the same number of images seen when ``"same_compute"``.
"""

LEVERS = {
    "recipe": ("recipe", {}),
    "no-lfpw": ("without LFPW in training", {"without": ["lfpw"]}),
    **{
        f"wild-x{n}": (
            f"HELEN and LFPW {('once', 'twice', 'three times', 'four times', 'five times')[n - 1]}"
            " per epoch (same images seen)",
            {"repeats": {"helen": n, "lfpw": n}, "same_compute": True},
        )
        for n in (1, 2, 3, 4, 5)
    },
    "stronger-aug": (
        "stronger augmentation (rotation 20, shift 8 %, zoom 15 %)",
        {"augment": {"rotation": 20.0, "shift": 0.08, "scale": 0.15}},
    ),
    "strong-aug": (
        "strong augmentation (rotation 30, shift 10 %, zoom 25 %)",
        {"augment": {"rotation": 30.0, "shift": 0.1, "scale": 0.25}},
    ),
    "occlusion": ("random occlusion of 30 % of the faces", {"augment": {"occlusion": 0.3}}),
    "mse": ("MSE instead of Wing loss", {"estimator": {"loss": "mse"}}),
    "no-flip": ("no test-time flip", {"predict": {"heatmapkeypointestimator__test_flip": False}}),
    "one-scale": (
        "one crop scale at test time",
        {"predict": {"test_scales": (1.0,)}},
    ),
    "no-offset": (
        "no flip-offset correction",
        {"predict": {"heatmapkeypointestimator__correct_flip_offset": False}},
    ),
    "no-mean-start": ("no mean-shape start", {"estimator": {"mean_shape_start": False}}),
    "96px": ("96x96 input", {"size": 96}),
    "128px": ("128x128 input (same pixels seen)", {"size": 128, "same_compute": True}),
    "float32": ("float32 instead of bfloat16", {"estimator": {"precision": "float32"}}),
    "ema": ("moving average of the weights (EMA, decay 0.998)", {"ema": 0.998}),
    "occlusion-blur": (
        "random occlusion of 50 % of the faces and blur up to 1 px",
        {"augment": {"occlusion": 0.5, "blur": 1.0}},
    ),
    "rot25": ("rotation up to 25 degrees", {"augment": {"rotation": 25.0}}),
    "sigma1": ("heatmap sigma 1 px (recipe: 4)", {"estimator": {"sigma": 1.0}}),
    "sigma2": ("heatmap sigma 2 px (recipe: 4)", {"estimator": {"sigma": 2.0}}),
    "js0.3": ("Jensen-Shannon weight 0.3 (recipe: 1)", {"estimator": {"js_weight": 0.3}}),
    "lr4e-3": ("learning rate 4e-3 (recipe: 2e-3)", {"estimator": {"lr": 0.004}}),
    "sigma2-lr4e-3": (
        "sigma 2 px and learning rate 4e-3",
        {"estimator": {"sigma": 2.0, "lr": 0.004}},
    ),
    "sigma2-js0.3": (
        "sigma 2 px and Jensen-Shannon weight 0.3",
        {"estimator": {"sigma": 2.0, "js_weight": 0.3}},
    ),
    "b64-lr3e-3": ("batch 64, learning rate 3e-3", {"estimator": {"batch_size": 64, "lr": 0.003}}),
    "wide": (
        "encoder widths 48-384 (recipe: 32-256)",
        {"estimator": {"widths": (48, 96, 192, 384)}},
    ),
}

#: the levers ``bench_68.py --ablation`` runs, in its table's order
CPU_ABLATION = (
    "recipe",
    "no-lfpw",
    "wild-x1",
    "wild-x2",
    "wild-x3",
    "wild-x4",
    "wild-x5",
    "stronger-aug",
    "strong-aug",
    "occlusion",
    "mse",
    "no-flip",
    "one-scale",
    "no-offset",
    "no-mean-start",
    "96px",
    "128px",
    "float32",
    "ema",
)
#: the levers ``bench_68_gpu.py`` runs, in its table's order
GPU_ABLATION = (
    "recipe",
    "occlusion",
    "occlusion-blur",
    "rot25",
    "sigma1",
    "sigma2",
    "js0.3",
    "mse",
    "lr4e-3",
    "sigma2-lr4e-3",
    "sigma2-js0.3",
    "b64-lr3e-3",
    "wide",
)
#: levers that cost more per epoch than the recipe (the GPU script gives them their own
#: number of epochs)
COSTLIER = {"b64-lr3e-3", "wide"}

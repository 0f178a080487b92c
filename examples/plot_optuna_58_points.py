"""
Optuna search on the 58-point model, with pruning
=================================================

:class:`sklearn_fkd.search.OptunaSearchCV` tunes the 58-point ``FaceKeypointRegressor``
on IMM persons 1-32 (Nordstrøm et al. 2004) over the library's default search space
(learning rate, batch size, weight decay, CNN width and kernel, augmentation
strengths), on one person-disjoint holdout. After every epoch the holdout is scored,
and the median pruner stops trials that fall behind. The refitted best model is then
scored on persons 33-40, which the search never saw, beside the default parameters.
Small images, 10 epochs and 8 trials keep it around a minute on two CPU cores;
``benchmarks/bench_search.py`` runs 20 trials.
"""

import time

import matplotlib.pyplot as plt
import optuna
from sklearn.base import clone
from sklearn.model_selection import GroupShuffleSplit

from sklearn_fkd import FaceKeypointRegressor, make_keypoint_pipeline
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.preprocessing import Resize
from sklearn_fkd.search import OptunaSearchCV

imm = load_imm_faces(as_gray=True)
train = imm.groups < 33
X, y, groups = imm.images[train], imm.keypoints[train], imm.groups[train]
X_test, y_test = imm.images[~train], imm.keypoints[~train]

pipe = make_keypoint_pipeline(
    Resize((48, 64)), FaceKeypointRegressor(max_epochs=10, random_state=0)
)
search = OptunaSearchCV(
    pipe,
    n_trials=8,
    cv=GroupShuffleSplit(1, test_size=0.25, random_state=0),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    random_state=0,
)
started = time.perf_counter()
search.fit(X, y, groups=groups)
seconds = time.perf_counter() - started
print(f"{search.n_trials_} trials ({search.n_pruned_} pruned) in {seconds:.0f} s")
for name, value in search.best_params_.items():
    print(f"  {name.split('__', 1)[1]:24s} {value}")
default = clone(pipe).fit(X, y)
print(
    f"held-out NME, persons 33-40: tuned {-search.score(X_test, y_test):.4f}, "
    f"default {-default.score(X_test, y_test):.4f}"
)

# the held-out NME after each epoch of each trial: pruned trials stop early
fig, ax = plt.subplots(figsize=(6, 3.4))
for trial in search.study_.trials:
    steps = sorted(trial.intermediate_values)
    ax.plot(
        steps,
        [-trial.intermediate_values[s] for s in steps],
        ls="--" if trial.state == optuna.trial.TrialState.PRUNED else "-",
        label=f"trial {trial.number} ({trial.state.name.lower()})",
    )
ax.set_xlabel("epoch")
ax.set_ylabel("holdout NME")
ax.set_yscale("log")
ax.legend(fontsize=6, ncol=2)
fig.tight_layout()

plt.show()

"""Draw the picture the README and the docs' landing page open with.

    SKLEARN_FKD_DATA=../shared/data .venv/bin/python docs/readme_figure.py

writes ``docs/_static/pretrained_points.png``.

The photos are from the Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0,
the one openly licensed set in the data home), predicted by the shipped ``ibug68``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import get_data_home
from sklearn_fkd.plotting import plot_faces

OUT = Path(__file__).resolve().parent / "_static" / "pretrained_points.png"


def main() -> None:
    folder = get_data_home() / "london_face_189pt"
    photos = [folder / f"{n:03d}_03.jpg" for n in (4, 17, 61)]
    model = load_pretrained("ibug68")
    points = model.predict(photos)  # the three lines of the README, for three photos
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.3), layout="constrained")
    for ax, photo, p in zip(axes, photos, points, strict=True):
        plot_faces(plt.imread(photo), [p.reshape(-1, 2)], ax=ax)
        ax.set_title("")
    fig.text(
        0.5, 0.005, "Photos: Face Research Lab London Set (DeBruine & Jones 2017), CC BY 4.0",
        ha="center", fontsize=7,
    )  # fmt: skip
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=80)
    print(f"written {OUT}")


if __name__ == "__main__":
    main()

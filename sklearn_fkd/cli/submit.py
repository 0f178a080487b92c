"""``sklearn-fkd submit``: a Kaggle submission from a 15-point model and test.csv."""

from __future__ import annotations

from ..datasets import load_kaggle_fkd, write_kaggle_submission
from ..keypoints import KAGGLE15
from . import CommandError
from .common import load_model_for


def run(args) -> None:
    """Predict Kaggle's test images and write the submission file."""
    model = load_model_for(args.model, args)
    schema = getattr(model, "schema_", None)
    if schema is not None and schema.name != KAGGLE15.name:
        raise CommandError(f"{args.model} predicts {schema.name} points, not Kaggle's 15")
    test = load_kaggle_fkd(args.test, subset="test")
    pred = model.predict(test.images)
    path = write_kaggle_submission(pred, args.lookup, args.output, image_ids=test.image_ids)
    print(f"{len(pred)} test images predicted; submission written to {path}")

"""``sklearn-fkd demo``: the README's main job (see :func:`sklearn_fkd.demo.run_demo`)."""

from __future__ import annotations

from ..demo import run_demo


def run(args) -> None:
    """Train and evaluate the three estimators on the IMM faces; write the figures."""
    run_demo(args.output, data_home=args.data_home, max_epochs=args.epochs)

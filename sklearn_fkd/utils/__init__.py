"""Utilities: input validation, finding the estimator in a pipeline, text tables."""

from .meta import final_estimator
from .tables import format_table
from .validation import (
    ImageList,
    check_consistent_length,
    check_images,
    check_in,
    check_number,
)

__all__ = [
    "ImageList",
    "check_consistent_length",
    "check_images",
    "check_in",
    "check_number",
    "final_estimator",
    "format_table",
]

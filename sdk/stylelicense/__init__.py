"""The Style License SDK: an async API client for batch scripts and the `stylelicense` command line."""

from stylelicense.batch import ProvenanceMismatch, RowOutcome, check_provenance, generate_batch
from stylelicense.client import StyleLicense
from stylelicense.errors import ApiError, BatchFileError, StyleLicenseError
from stylelicense.prompts import PromptRow, read_prompts
from stylelicense.retry import RetryNotice, RetryPolicy

__all__ = [
    "ApiError",
    "BatchFileError",
    "PromptRow",
    "ProvenanceMismatch",
    "RetryNotice",
    "RetryPolicy",
    "RowOutcome",
    "StyleLicense",
    "StyleLicenseError",
    "check_provenance",
    "generate_batch",
    "read_prompts",
]

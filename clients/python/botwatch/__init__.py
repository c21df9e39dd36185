"""Python client for botwatch's lookup API (docs/API.md).

    >>> import botwatch
    >>> bw = botwatch.Client("http://127.0.0.1:8080", token="...")
    >>> bw.check_account("@some_handle")["score"]

Standard library only; pandas is needed for DataFrame export alone.
"""
from .client import (BotwatchError, Client, NotFound, SCORE_COLUMNS, flatten_record,
                     to_dataframe)

__all__ = ["BotwatchError", "Client", "NotFound", "SCORE_COLUMNS", "flatten_record",
           "to_dataframe"]
__version__ = "0.1.0"

"""The quality checks evaluated with pandas, with Great Expectations' semantics, without importing GX.

Importing Great Expectations costs 3-5 s of CPU per process, which dominates the gate on a small
matter (milliseconds of work). :func:`validate_builtin` evaluates the same :class:`~lexprep.quality.suites.Check`
list as the GX engine and reports failing rows the same way (positions in the frame, in frame
order), following GX 1.x's pandas execution engine:

- a row condition keeps only the rows meeting it (a comparison with a missing value is false);
- single-column map expectations skip missing values (except ``ExpectColumnValuesToNotBeNull``, for
  which they are the failures); ``Between`` bounds are inclusive; ``MatchRegex`` is ``re.search`` on
  the value as text;
- column-pair expectations drop rows per ``ignore_row_if`` (default ``both_values_are_missing``), then
  compare (a remaining missing value fails the comparison);
- ``ExpectCompoundColumnsToBeUnique`` fails every row of a duplicated combination (missing values equal).

tests/unit/test_quality.py runs both engines on the same stores and frames and compares the reports.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from lexprep.quality.suites import Check

if TYPE_CHECKING:
    import pandas as pd

    from lexprep.quality import CheckResult


def expectation_type(class_name: str) -> str:
    """GX's snake_case type of an expectation class: ``ExpectColumnValuesToBeBetween`` ->
    ``expect_column_values_to_be_between``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _condition_mask(df: pd.DataFrame, condition) -> Any:
    import numpy as np

    mask = np.ones(len(df), dtype=bool)
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }
    for column, op, value in condition or ():
        col = df[column]
        mask &= (ops[op](col, value) & col.notna()).to_numpy(dtype=bool)
    return mask


def _column_map(series: pd.Series, kwargs: dict[str, Any], expectation: str) -> Any:
    """(domain mask, ok mask) over ``series`` for a single-column map expectation."""
    notna = series.notna().to_numpy(dtype=bool)
    if expectation == "ExpectColumnValuesToNotBeNull":
        return None, notna
    if expectation == "ExpectColumnValuesToBeBetween":
        ok = series.notna()
        if kwargs.get("min_value") is not None:
            ok &= (series > kwargs["min_value"]) if kwargs.get("strict_min") else (series >= kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            ok &= (series < kwargs["max_value"]) if kwargs.get("strict_max") else (series <= kwargs["max_value"])
    elif expectation == "ExpectColumnValuesToBeInSet":
        ok = series.isin(list(kwargs["value_set"]))
    elif expectation == "ExpectColumnValuesToMatchRegex":
        ok = series.astype(str).str.contains(kwargs["regex"], regex=True)
    else:
        raise NotImplementedError(f"the built-in quality engine does not know {expectation}")
    return notna, ok.to_numpy(dtype=bool)


def _column_pair(df: pd.DataFrame, kwargs: dict[str, Any], expectation: str) -> Any:
    a, b = df[kwargs["column_A"]], df[kwargs["column_B"]]
    ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
    na_a, na_b = a.isna().to_numpy(dtype=bool), b.isna().to_numpy(dtype=bool)
    if ignore == "both_values_are_missing":
        domain = ~(na_a & na_b)
    elif ignore == "either_value_is_missing":
        domain = ~(na_a | na_b)
    elif ignore == "neither":
        domain = None
    else:
        raise ValueError(f"unknown ignore_row_if {ignore!r}")
    if expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        ok = (a >= b) if kwargs.get("or_equal") else (a > b)
    elif expectation == "ExpectColumnPairValuesToBeEqual":
        ok = a == b
    else:
        raise NotImplementedError(f"the built-in quality engine does not know {expectation}")
    return domain, ok.to_numpy(dtype=bool)


def _compound_unique(df: pd.DataFrame, kwargs: dict[str, Any]) -> Any:
    if kwargs.get("ignore_row_if", "never") != "never":
        raise NotImplementedError("ExpectCompoundColumnsToBeUnique with ignore_row_if")
    return None, (~df[list(kwargs["column_list"])].duplicated(keep=False)).to_numpy(dtype=bool)


def evaluate(df: pd.DataFrame, check: Check) -> tuple[int, list[int]]:
    """(unexpected count, failing row positions in frame order) of one check on ``df`` (a RangeIndex frame).

    Raises:
        NotImplementedError: an expectation this engine does not implement (add it here and to the
            parity test before using it in lexprep.quality.suites).
    """
    import numpy as np

    selected = _condition_mask(df, check.condition)
    if check.expectation == "ExpectCompoundColumnsToBeUnique":
        # GX evaluates uniqueness within the rows the condition keeps
        sub = df[selected]
        domain, ok_sub = _compound_unique(sub, check.kwargs)
        ok = np.ones(len(df), dtype=bool)
        ok[np.flatnonzero(selected)] = ok_sub
    elif "column_A" in check.kwargs:
        domain, ok = _column_pair(df, check.kwargs, check.expectation)
    else:
        domain, ok = _column_map(df[check.kwargs["column"]], check.kwargs, check.expectation)
    in_domain = selected if domain is None else selected & domain
    failing = np.flatnonzero(in_domain & ~ok)
    return len(failing), [int(i) for i in failing]


def validate_builtin(df: pd.DataFrame, table_checks: list[tuple[int, Check]]) -> list[CheckResult]:
    """Every check of one table on its frame; a check that raises is reported failed with its error."""
    from lexprep.quality import CheckResult

    results = []
    for index, check in table_checks:
        try:
            count, positions = evaluate(df, check)
        except (KeyError, TypeError, ValueError, NotImplementedError, re.error) as exc:
            results.append(CheckResult(index, False, None, [], f"{type(exc).__name__}: {exc}".splitlines()[0]))
            continue
        results.append(CheckResult(index, count == 0, count, positions))
    return results


__all__ = ["evaluate", "expectation_type", "validate_builtin"]

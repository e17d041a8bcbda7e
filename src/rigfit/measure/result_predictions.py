"""rigfit's prediction beside a stored result that has none (an imported llama-bench row).

``rigfit bench`` stores its prediction with each measurement; rows imported from llama-bench
output (``rigfit results --import``) arrive without one. :func:`predict_result` predicts such a
row the way ``rigfit predict`` predicts a ground-truth row (:func:`rigfit.estimate.predict.predict_case`,
same hardware and model resolution), so ``rigfit results`` can show measured and predicted side by
side. Nothing is stored: the prediction follows the current speed model.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigfit.estimate.predict import predict_case
from rigfit.measure.groundtruth import case_from_row
from rigfit.measure.importers import export_rows
from rigfit.measure.store import Result


@dataclass(frozen=True)
class ResultPrediction:
    """Predicted tokens/s of a result with its p10–p90 band; ``stored``: made at bench time
    (else estimated now from the row's hardware, model and test); ``why``: the reason when none."""

    tps: float | None
    low: float | None = None
    high: float | None = None
    stored: bool = False
    why: str = ""


def predict_result(result: Result) -> ResultPrediction:
    """The stored prediction of ``result``, else one made now from its hardware, model and test."""
    if result.predicted_tokens_per_s:
        return ResultPrediction(result.predicted_tokens_per_s, stored=True)
    row = export_rows([result])[0]
    tps, low, high, status = predict_case(case_from_row(row))
    if tps is None:
        return ResultPrediction(None, why=status.removeprefix("unresolved: "))
    return ResultPrediction(tps, low, high)

"""Values questionnaires: Hofstede's VSM 2013 and the Inglehart-Welzel cultural map.

Both read a model's option distributions (scoring `distribution`) as survey answers and compare the
resulting scores with published country figures that ship under eval/values/*/reference/.
"""

from tuner.evals.values import iw_map, vsm
from tuner.evals.values.iw_map import (
    MapPoint,
    Projection,
    RefPoint,
    answers,
    distances,
    fit_projection,
    load_projection,
    plot_map,
    reference_points,
    save_projection,
    varimax,
    y002,
    y003,
)
from tuner.evals.values.vsm import (
    Alignment,
    VSMResult,
    alignment,
    anchor_constants,
    argmax_scores,
    expected_scores,
    indices,
    load_countries,
    load_hofstede,
    personas,
    score_countries,
)

__all__ = [
    "iw_map", "vsm",
    "Alignment", "MapPoint", "Projection", "RefPoint", "VSMResult", "alignment", "anchor_constants", "answers",
    "argmax_scores", "distances", "expected_scores", "fit_projection", "indices", "load_countries", "load_hofstede",
    "load_projection", "personas", "plot_map", "reference_points", "save_projection", "score_countries", "varimax",
    "y002", "y003",
]

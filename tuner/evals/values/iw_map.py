"""The Inglehart-Welzel cultural map: place a model among countries on its two value dimensions.

The flow, for one model and one variant (language, persona):
1. ask the 14 questions of `eval/values/iw_map/items.jsonl`;
2. `answers(responses)` -> the ten map variables in WVS codes (expected value under the model's
   option distribution, or argmax), Y002 and Y003 combined from their component questions;
3. `load_projection().project(...)` -> (traditional/secular-rational, survival/self-expression);
4. `reference_points()`, `distances(point, reference)`, `plot_map(...)`.

The projection is the WVS recipe, fitted by `fit_projection` on respondent-level data: standardise
the ten variables, 2-component PCA of their correlations, varimax rotation, orient the factors so
that secular-rational and self-expression are positive, then rescale the factor scores as the WVS
does for its map (TradAgg = 1.61x - 0.10, SurvSAgg = 1.81x + 0.038). tuner ships no fitted
projection: fitting needs respondent-level IVS data, which tuner cannot redistribute and which is
not here. `python -m tuner.evals.values.iw_map fit IVS.csv` writes one (README.md next to the items).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tuner.errors import UserError
from tuner.evals.values._common import How, option_probs, point
from tuner.paths import PROJECT_ROOT

IW_DIR = PROJECT_ROOT / "eval" / "values" / "iw_map"
REFERENCE_DIR = IW_DIR / "reference"
DEFAULT_PROJECTION = IW_DIR / "projection.json"
PROJECTION_FORMAT = "tuner.iw_map.projection/1"

# The ten map variables in the order of a respondent row; trad/secular five first, then survival/self-expression.
ITEMS = ("F063", "Y003", "F120", "G006", "E018", "Y002", "A008", "F118", "E025", "A165")
TRADITIONAL = ITEMS[:5]
SURVIVAL = ITEMS[5:]
# Direction of each variable's WVS code towards its dimension's positive pole (secular-rational,
# self-expression): e.g. F063 "God is important" is coded 1 (not at all) .. 10 (very), so higher
# codes are more traditional (-1); A008 happiness is coded 1 (very happy) .. 4, so lower codes lean
# to self-expression (-1). Used only to orient the fitted factors, never to score.
POLE = {"F063": -1, "Y003": 1, "F120": 1, "G006": 1, "E018": 1, "Y002": 1, "A008": -1, "F118": 1, "E025": -1, "A165": -1}
# Valid WVS codes per variable; anything else in respondent data (the IVS's negative missing codes) is missing.
VALID = {"A008": (1, 4), "A165": (1, 2), "E018": (1, 3), "E025": (1, 3), "F063": (1, 10), "F118": (1, 10),
         "F120": (1, 10), "G006": (1, 4), "Y002": (1, 3), "Y003": (-2, 2)}
# Questions asked: the eight direct variables plus the components of Y002 and Y003, with their scale sizes.
QUESTIONS = {"A008": 4, "A165": 2, "E018": 3, "E025": 3, "F063": 10, "F118": 10, "F120": 10, "G006": 4,
             "E003": 4, "E004": 4, "A029": 2, "A039": 2, "A040": 2, "A042": 2}
# E003/E004 options in WVS code order: 1 keeping order, 2 more say, 3 fighting prices, 4 free speech.
MATERIALIST = (0, 2)
POSTMATERIALIST = (1, 3)
# WVS rescaling of the oriented factor scores onto the published map scale: (slope, intercept).
RESCALE = {"trad": (1.61, -0.10), "selfexp": (1.81, 0.038)}


class MapPoint(NamedTuple):
    trad: float  # traditional (-) .. secular-rational (+)
    selfexp: float  # survival (-) .. self-expression (+)


# -- 1. the model's answers as WVS variables ------------------------------------------------------

def y002(first: Sequence[float], second: Sequence[float], how: How = "expected") -> float:
    """4-item post-materialism index: 1 materialist, 2 mixed, 3 post-materialist (WVS Y002).

    A respondent's first (E003) and second (E004) choice among the four aims; both materialist
    (order, prices) -> 1, both post-materialist (say, speech) -> 3, otherwise 2. The model answers
    E004 without seeing its E003 answer, so its second choice is read conditioned on differing from
    the first: P(i, j) = p1[i] * p2[j] / (1 - p2[i]) for j != i; argmax takes the best j != i.
    """
    if len(first) != 4 or len(second) != 4:
        raise UserError(f"Y002: E003 and E004 need 4 option probabilities each, got {len(first)} and {len(second)}")
    if how == "argmax":
        i = max(range(4), key=lambda k: first[k])
        j = max((k for k in range(4) if k != i), key=lambda k: second[k])
        return float(_y002_code(i, j))
    expected = 0.0
    for i in range(4):
        rest = 1.0 - second[i]
        for j in range(4):
            if j == i:
                continue
            # all of E004's mass on i leaves no preference among the others: spread it evenly
            cond = second[j] / rest if rest > 1e-12 else 1.0 / 3.0
            expected += first[i] * cond * _y002_code(i, j)
    return expected


def _y002_code(i: int, j: int) -> int:
    if i in MATERIALIST and j in MATERIALIST:
        return 1
    if i in POSTMATERIALIST and j in POSTMATERIALIST:
        return 3
    return 2


def y003(mentioned: Mapping[str, float]) -> float:
    """Autonomy index (WVS Y003): (independence + determination) - (religious faith + obedience).

    Each component is 1 if the quality is named as especially important for children, else 0
    (WVS longitudinal coding), so Y003 runs from -2 (obedience and faith only) to +2. Given mention
    probabilities it is the expected index (linearity of expectation); given 0/1 it is the index.
    """
    missing = [k for k in ("A029", "A039", "A040", "A042") if k not in mentioned]
    if missing:
        raise UserError(f"Y003 needs the child-quality answers {', '.join(missing)} (ask every item of eval/values/iw_map/items.jsonl)")
    return mentioned["A029"] + mentioned["A039"] - mentioned["A040"] - mentioned["A042"]


def answers(responses: Iterable[dict[str, Any]], how: How = "expected") -> dict[str, float]:
    """The ten map variables in WVS codes from the Responses of one variant (option k = code k + 1)."""
    probs = option_probs(responses, QUESTIONS)
    missing = [q for q in QUESTIONS if q not in probs]
    if missing:
        raise UserError(f"IW map: no answers for {', '.join(missing)}; ask every item of eval/values/iw_map/items.jsonl")
    out = {v: point(probs[v], how) for v in ITEMS if v in probs}
    out["Y002"] = y002(probs["E003"], probs["E004"], how)
    # option 0 is "yes, would name it": mention probability, or 0/1 for the argmax answer
    child = ("A029", "A039", "A040", "A042")
    out["Y003"] = y003({q: probs[q][0] if how == "expected" else float(point(probs[q], "argmax") == 1) for q in child})
    return {v: out[v] for v in ITEMS}


# -- 2. the projection ---------------------------------------------------------------------------

def varimax(loadings: np.ndarray, normalize: bool = True, max_iter: int = 100, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Varimax rotation (Kaiser 1958): the orthogonal rotation maximising the variance of squared loadings.

    Returns (rotated loadings, rotation matrix T) with rotated = loadings @ T. Kaiser's own
    algorithm: sweep over factor pairs, rotating each pair by the angle that maximises the
    criterion in its plane, phi = atan2(D - 2AB/p, C - (A^2 - B^2)/p) / 4 with u = x^2 - y^2,
    v = 2xy, A = sum u, B = sum v, C = sum(u^2 - v^2), D = 2 sum uv; until no angle is left. With
    two factors one step is exact. (The popular SVD update can oscillate between two rotations on
    symmetric loadings; the planar form cannot.) `normalize`: Kaiser normalisation, rows scaled to
    unit communality while rotating, as SPSS does by default, so that weak items do not steer it.
    """
    L = np.asarray(loadings, dtype=float)
    p, k = L.shape
    h = np.sqrt((L**2).sum(axis=1, keepdims=True)) if normalize else np.ones((p, 1))
    h[h == 0] = 1.0
    A = L / h
    T = np.eye(k)
    for _ in range(max_iter):
        largest = 0.0
        for i in range(k - 1):
            for j in range(i + 1, k):
                x, y = A[:, i], A[:, j]
                u, v = x * x - y * y, 2 * x * y
                a, b, c, d = u.sum(), v.sum(), (u * u - v * v).sum(), 2 * (u * v).sum()
                phi = 0.25 * math.atan2(d - 2 * a * b / p, c - (a * a - b * b) / p)
                if abs(phi) < tol:
                    continue
                largest = max(largest, abs(phi))
                G = np.array([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
                A[:, [i, j]] = A[:, [i, j]] @ G
                T[:, [i, j]] = T[:, [i, j]] @ G
        if largest < tol:
            break
    return A * h, T


@dataclass
class Projection:
    """A fitted map projection: z = (x - mean) / std; f = z @ coefficients; then the WVS rescaling."""

    mean: np.ndarray  # (10,) item means of the respondents, WVS codes, in ITEMS order
    std: np.ndarray  # (10,) item standard deviations
    coefficients: np.ndarray  # (10, 2) factor score coefficients (columns: secular, self-expression)
    loadings: np.ndarray  # (10, 2) rotated, oriented loadings, for reading the fit
    eigenvalues: np.ndarray  # (2,) variance explained by the two components before rotation
    n_respondents: int
    source: str

    def project(self, values: Mapping[str, float] | Sequence[float]) -> MapPoint:
        """Map coordinates of one answer vector (a dict by variable, or a row in ITEMS order)."""
        x = np.array([values[v] for v in ITEMS] if isinstance(values, Mapping) else values, dtype=float)
        f = ((x - self.mean) / self.std) @ self.coefficients
        (a, b), (c, d) = RESCALE["trad"], RESCALE["selfexp"]
        return MapPoint(a * f[0] + b, c * f[1] + d)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PROJECTION_FORMAT,
            "doc": "z = (x - mean) / std per variable (WVS codes, order `items`); f = z @ coefficients; "
            "tradagg = 1.61 f[0] - 0.10 (secular-rational +); selfexp = 1.81 f[1] + 0.038 (self-expression +). "
            "Fitted by tuner.evals.values.iw_map.fit_projection: standardise, 2-component PCA, varimax, orientation.",
            "items": list(ITEMS),
            "mean": self.mean.tolist(), "std": self.std.tolist(),
            "coefficients": self.coefficients.tolist(), "loadings": self.loadings.tolist(),
            "eigenvalues": self.eigenvalues.tolist(), "rescale": {k: list(v) for k, v in RESCALE.items()},
            "n_respondents": self.n_respondents, "source": self.source,
        }


def fit_projection(respondents: np.ndarray, weights: np.ndarray | None = None, source: str = "") -> Projection:
    """Fit the map projection on respondent rows (n x 10, WVS codes in ITEMS order; NaN = missing).

    Rows with a missing value are dropped (listwise deletion). `weights`
    (the IVS weight, e.g. S017) weight means, SDs and correlations.
    """
    X = np.asarray(respondents, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(ITEMS):
        raise UserError(f"fit_projection: expected an n x {len(ITEMS)} array with columns {', '.join(ITEMS)}, got shape {X.shape}")
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(X).any(axis=1) & ~np.isnan(w) & (w > 0)
    X, w = X[keep], w[keep]
    if len(X) < 3 * len(ITEMS):
        raise UserError(f"fit_projection: {len(X)} complete respondent rows; a stable fit needs far more (the IVS holds ~10^5 and up)")
    w = w / w.sum()
    mean = w @ X
    std = np.sqrt(w @ (X - mean) ** 2)
    flat = [ITEMS[i] for i in np.flatnonzero(std == 0)]
    if flat:
        raise UserError(f"fit_projection: {', '.join(flat)} never varies in the respondent data; check the column export")
    Z = (X - mean) / std
    corr = (Z * w[:, None]).T @ Z
    values, vectors = np.linalg.eigh(corr)  # ascending
    order = np.argsort(values)[::-1][:2]
    eig, V = values[order], vectors[:, order]
    L = V * np.sqrt(eig)  # unrotated loadings: correlations of items with the two components
    L_rot, T = varimax(L)
    # Score coefficients: for PCA components, W = V diag(1/sqrt(eig)) gives unit-variance scores;
    # rotating the loadings by T rotates the coefficients by the same T (T orthogonal).
    W = (V / np.sqrt(eig)) @ T
    # Orientation: the factor carrying the traditional items is the first, and each factor's sign
    # makes the secular / self-expression pole positive.
    pole = np.array([POLE[v] for v in ITEMS], dtype=float)
    is_trad = np.array([v in TRADITIONAL for v in ITEMS])
    key = np.stack([pole * is_trad, pole * ~is_trad], axis=1)  # (10, 2): trad key, survival key
    fit = key.T @ L_rot  # fit[d, j]: how factor j lines up with dimension d's items
    perm = [0, 1] if abs(fit[0, 0]) + abs(fit[1, 1]) >= abs(fit[0, 1]) + abs(fit[1, 0]) else [1, 0]
    signs = np.sign([fit[0, perm[0]], fit[1, perm[1]]])
    signs[signs == 0] = 1.0
    return Projection(mean, std, W[:, perm] * signs, L_rot[:, perm] * signs, eig, len(X), source)


def save_projection(projection: Projection, path: Path = DEFAULT_PROJECTION) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(projection.to_json(), indent=2) + "\n", encoding="utf-8")
    return path


def load_projection(path: Path = DEFAULT_PROJECTION) -> Projection:
    """Read a fitted projection; without one, say exactly which data fits it and how."""
    if not path.is_file():
        raise UserError(
            f"{path}: no Inglehart-Welzel projection (tuner ships none: fitting needs respondent-level data); download the "
            "Integrated Values Surveys (EVS Trend File 1981-2017 doi:10.4232/1.14021 merged with the WVS Trend File 1981-2022 "
            "doi:10.14281/18241.27), export the columns A008,A165,E018,E025,F063,F118,F120,G006,Y002,Y003 (and the weight S017) "
            f"to CSV, then run: python -m tuner.evals.values.iw_map fit IVS.csv --weight S017 --out {path}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != PROJECTION_FORMAT or data.get("items") != list(ITEMS):
            raise ValueError(f"format must be {PROJECTION_FORMAT} with items {list(ITEMS)}")
        proj = Projection(
            np.array(data["mean"], dtype=float), np.array(data["std"], dtype=float), np.array(data["coefficients"], dtype=float),
            np.array(data["loadings"], dtype=float), np.array(data["eigenvalues"], dtype=float), int(data["n_respondents"]),
            str(data.get("source", "")),
        )
        if proj.mean.shape != (10,) or proj.std.shape != (10,) or proj.coefficients.shape != (10, 2):
            raise ValueError("mean and std need 10 values, coefficients 10 x 2")
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a tuner projection file ({e}); refit: python -m tuner.evals.values.iw_map fit IVS.csv") from None
    return proj


def read_respondents(path: Path, weight: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Respondent rows from a CSV export of the IVS: the ten variables by name, invalid codes -> NaN."""
    if not path.is_file():
        raise UserError(f"{path}: not found; export the IVS columns {','.join(ITEMS)} to this CSV")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().upper(): c for c in reader.fieldnames or []}
        wanted = [*ITEMS, *([weight.upper()] if weight else [])]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise UserError(f"{path}: column(s) {', '.join(missing)} missing; export them from the IVS data file")
        rows, weights = [], []
        for n, row in enumerate(reader, 2):
            values = []
            for v in ITEMS:
                try:
                    x = float(row[columns[v]])
                except (TypeError, ValueError):
                    x = math.nan  # blank or text: missing
                lo, hi = VALID[v]
                values.append(x if lo <= x <= hi else math.nan)  # IVS missing codes are negative (or -5 for Y003)
            rows.append(values)
            if weight:
                try:
                    weights.append(float(row[columns[weight.upper()]]))
                except (TypeError, ValueError):
                    raise UserError(f"{path} line {n}, column '{weight}': '{row[columns[weight.upper()]]}' is not a number") from None
    return np.array(rows, dtype=float).reshape(-1, len(ITEMS)), (np.array(weights) if weight else None)


# -- 3. reference points, distances, the map -------------------------------------------------------

@dataclass(frozen=True)
class RefPoint:
    geo: str
    name: str
    year: int
    trad: float  # tradagg: traditional (-) .. secular-rational (+)
    selfexp: float  # -survsagg: survival (-) .. self-expression (+)


def _read_ddf(path: Path, value: str) -> dict[tuple[str, int], float]:
    if not path.is_file():
        raise UserError(f"{path}: not found; it ships with tuner (eval/values/iw_map/reference/), restore it from the repository")
    out: dict[tuple[str, int], float] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["geo", "year", value]:
            raise UserError(f"{path}: header {reader.fieldnames} is not ['geo', 'year', '{value}']")
        for n, row in enumerate(reader, 2):
            try:
                out[(row["geo"], int(row["year"]))] = float(row[value])
            except (TypeError, ValueError):
                raise UserError(f"{path} line {n}: year '{row['year']}' or {value} '{row[value]}' is not a number") from None
    return out


def reference_points(folder: Path = REFERENCE_DIR) -> dict[str, RefPoint]:
    """geo -> the country's latest survey that has both coordinates, on the usual axes.

    SIGN NOTE: the open-numbers `survsagg` runs the other way from its own README (Sweden 2017 is
    -3.11, Zimbabwe 2020 +1.93), so self-expression = -survsagg; `tradagg` is used as it is.
    """
    trad = _read_ddf(folder / "ddf--datapoints--tradagg--by--geo--year.csv", "tradagg")
    surv = _read_ddf(folder / "ddf--datapoints--survsagg--by--geo--year.csv", "survsagg")
    names_file = folder / "ddf--entities--geo--country.csv"
    if not names_file.is_file():
        raise UserError(f"{names_file}: not found; it ships with tuner (eval/values/iw_map/reference/), restore it from the repository")
    with names_file.open(encoding="utf-8", newline="") as fh:
        names = {row["country"]: row["name"] for row in csv.DictReader(fh)}
    latest: dict[str, int] = {}
    for geo, year in trad.keys() & surv.keys():
        latest[geo] = max(year, latest.get(geo, year))
    return {geo: RefPoint(geo, names.get(geo, geo), year, trad[(geo, year)], -surv[(geo, year)]) for geo, year in sorted(latest.items())}


def distances(
    point: MapPoint | tuple[float, float], reference: Mapping[str, RefPoint], to: Sequence[str] = ("india", "united_states")
) -> dict[str, float]:
    """Euclidean distance on the map from `point` (trad, selfexp) to each country in `to` (geo ids)."""
    out: dict[str, float] = {}
    for geo in to:
        if geo not in reference:
            raise UserError(f"IW map: '{geo}' has no reference point in {REFERENCE_DIR}; known e.g. {', '.join(list(reference)[:5])}")
        ref = reference[geo]
        out[ref.name] = math.hypot(point[0] - ref.trad, point[1] - ref.selfexp)
    return out


HIGHLIGHT = {"india": "#e8710a", "united_states": "#1f5fbf"}
MODEL_MARKERS = "*DP^sXv<>"


def plot_map(
    points_by_model: Mapping[str, MapPoint | tuple[float, float]], reference: Mapping[str, RefPoint], out_png: Path, note: str | None = None
) -> Path:
    """The map: countries as labelled grey points (India and the USA in colour), models as coloured markers.

    x is survival (-) .. self-expression (+), y traditional (-) .. secular-rational (+), the layout of
    the published WVS map. With no models (no projection fitted) the map still shows the countries,
    and `note` says why the models are missing.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(11, 8.5), dpi=120)
    ax = fig.add_subplot()
    ax.axhline(0, color="#dddddd", lw=0.8, zorder=0)
    ax.axvline(0, color="#dddddd", lw=0.8, zorder=0)
    for geo, ref in reference.items():
        color = HIGHLIGHT.get(geo)
        ax.scatter(ref.selfexp, ref.trad, s=60 if color else 14, color=color or "#9a9a9a", zorder=3 if color else 2,
                   edgecolors="black" if color else "none", linewidths=0.6)
        ax.annotate(f"{ref.name} {ref.year}" if color else ref.name, (ref.selfexp, ref.trad), xytext=(3, 2), textcoords="offset points",
                    fontsize=9 if color else 5.5, color=color or "#7a7a7a", fontweight="bold" if color else "normal", zorder=4)
    palette = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#000000"]
    for i, (label, pt) in enumerate(points_by_model.items()):
        ax.scatter(pt[1], pt[0], s=170, marker=MODEL_MARKERS[i % len(MODEL_MARKERS)], color=palette[i % len(palette)],
                   edgecolors="black", linewidths=0.7, zorder=5, label=label)
    if points_by_model:
        ax.legend(loc="upper left", fontsize=8, title="models", title_fontsize=8, framealpha=0.9)
    if note:
        ax.text(0.99, 0.01, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#b00000")
    ax.set_xlabel("survival values  \u2190      \u2192  self-expression values")
    ax.set_ylabel("traditional values  \u2190      \u2192  secular-rational values")
    ax.set_title("Inglehart-Welzel cultural map: models among countries (latest survey per country)")
    fig.text(0.01, 0.005, "Countries: EVS/WVS trend files via open-numbers (self-expression = -survsagg). Models: tuner projection.",
             fontsize=6.5, color="#555555")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, bbox_inches="tight")
    return out_png


def summarize(
    responses_by_variant: Mapping[str, Iterable[dict[str, Any]]], out_png: Path, label: str = "model",
    projection_path: Path = DEFAULT_PROJECTION,
) -> dict[str, Any]:
    """The benchmark's report hook: {variant name: responses} -> answers, map points, distances, the PNG.

    Without a fitted projection the answers are still reported and the map shows the countries only,
    with the reason on it and in `projection_error`; nothing is guessed.
    """
    reference = reference_points()
    try:
        projection: Projection | None = load_projection(projection_path)
        error = None
    except UserError as e:
        projection, error = None, str(e)
    out: dict[str, Any] = {"projection": str(projection_path) if projection else None, "projection_error": error, "variants": {}}
    points: dict[str, MapPoint] = {}
    for name, responses in responses_by_variant.items():
        responses = list(responses)
        entry: dict[str, Any] = {"answers": answers(responses), "answers_argmax": answers(responses, "argmax")}
        if projection is not None:
            pt, top = projection.project(entry["answers"]), projection.project(entry["answers_argmax"])
            points[f"{label} {name}"] = pt
            entry |= {"point": pt._asdict(), "point_argmax": top._asdict(), "distances": distances(pt, reference),
                      "distances_argmax": distances(top, reference)}
        out["variants"][name] = entry
    note = None if projection else "no projection fitted: models not placed (eval/values/iw_map/README.md)"
    out["map"] = str(plot_map(points, reference, out_png, note))
    return out


def _main(argv: Sequence[str] | None = None) -> None:
    """`python -m tuner.evals.values.iw_map fit IVS.csv [--weight S017] [--out PATH]`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tuner.evals.values.iw_map", description="Fit the Inglehart-Welzel map projection on IVS respondent data."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit on a CSV export of the IVS and write the projection JSON")
    fit.add_argument("csv", type=Path)
    fit.add_argument("--weight", default=None, help="weight column, e.g. S017")
    fit.add_argument("--out", type=Path, default=DEFAULT_PROJECTION)
    args = parser.parse_args(argv)
    X, w = read_respondents(args.csv, args.weight)
    proj = fit_projection(X, w, source=f"fitted on {args.csv.name} ({args.weight or 'unweighted'})")
    print(f"fitted on {proj.n_respondents} respondents; wrote {save_projection(proj, args.out)}")


if __name__ == "__main__":
    try:
        _main()
    except UserError as e:
        raise SystemExit(f"error: {e}") from None


def summarize_runs(runs: Sequence[Any], out: Path, label: str) -> dict[str, Any]:
    """`tuner eval`'s hook: the model's answers and map point per variant, and iw_map.png."""
    return summarize({r.variant.label: r.responses for r in runs}, out / "iw_map.png", label=label)

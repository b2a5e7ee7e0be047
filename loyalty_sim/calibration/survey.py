"""A small customer survey: what a transaction log cannot tell (segment mix, willingness to join).

A survey CSV has one row per respondent with, at least, how much price and service
matter to them (e.g. 1-5) and whether they would join the scheme. From it:

* the segment mix: *habitual* if neither price nor service matters much (both at or
  below ``habitual_max``), else *price-sensitive* or *service-sensitive* by whichever
  matters more (ties split evenly);
* the enrolment take-up: the share who would join.

Both are estimates from a sample, so they carry sampling uncertainty: the posterior
of the mix is Dirichlet(counts + 1/2) and of the take-up Beta(yes + 1/2, no + 1/2)
(Jeffreys priors). :meth:`SurveyEstimate.draw` samples them, so a comparison can
redraw them in every replication and its intervals include the survey's uncertainty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..population import SEGMENTS
from ..streams import as_generator

_YES = {"1", "yes", "y", "true", "t", "oui", "ja", "si"}
_NO = {"0", "no", "n", "false", "f", "non", "nein"}


@dataclass(frozen=True)
class SurveyEstimate:
    """Segment counts and join intentions from a survey.

    Attributes
    ----------
    counts : dict
        Respondents per segment.
    join_yes, join_no : int
        Respondents who would / would not join.
    source : str or None
    """

    counts: dict[str, int]
    join_yes: int
    join_no: int
    source: str | None = None

    @property
    def n(self) -> int:
        """Respondents classified."""
        return int(sum(self.counts.values()))

    @property
    def segment_mix(self) -> dict[str, float]:
        """Posterior mean of the segment shares."""
        a = np.array([self.counts.get(s, 0) + 0.5 for s in SEGMENTS])
        return dict(zip(SEGMENTS, (a / a.sum()).tolist()))

    @property
    def take_up(self) -> float:
        """Posterior mean of the share who would join."""
        return (self.join_yes + 0.5) / (self.join_yes + self.join_no + 1.0)

    def draw(self, rng: np.random.Generator | int | None) -> tuple[dict[str, float], float]:
        """One draw of (segment mix, take-up) from their posteriors."""
        g = as_generator(rng)
        mix = g.dirichlet([self.counts.get(s, 0) + 0.5 for s in SEGMENTS])
        take = g.beta(self.join_yes + 0.5, self.join_no + 0.5)
        mix = mix / mix.sum()
        return dict(zip(SEGMENTS, mix.tolist())), float(take)

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Posterior intervals of each share and of the take-up."""
        from scipy import stats

        q = (0.5 - level / 2, 0.5 + level / 2)
        a = np.array([self.counts.get(s, 0) + 0.5 for s in SEGMENTS])
        rows = []
        for s, ai in zip(SEGMENTS, a):
            d = stats.beta(ai, a.sum() - ai)
            rows.append({"quantity": f"share {s}", "estimate": ai / a.sum(), "low": d.ppf(q[0]), "high": d.ppf(q[1])})
        d = stats.beta(self.join_yes + 0.5, self.join_no + 0.5)
        rows.append({"quantity": "take-up", "estimate": self.take_up, "low": d.ppf(q[0]), "high": d.ppf(q[1])})
        return pd.DataFrame(rows).set_index("quantity")

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "join_yes": self.join_yes, "join_no": self.join_no,
                "segment_mix": self.segment_mix, "take_up": self.take_up, "n": self.n, "source": self.source}


def read_survey(path: str | os.PathLike, *, price: str = "price_importance", service: str = "service_importance",
                join: str = "would_join", habitual_max: float = 2.0) -> SurveyEstimate:
    """Read a survey CSV (never modified) and classify respondents.

    Parameters
    ----------
    path : path-like
    price, service : str
        Columns with how much price / service matter (numbers, e.g. 1-5).
    join : str
        Column with yes/no (or 1/0) on joining the scheme.
    habitual_max : float
        A respondent for whom neither matters more than this is habitual.

    Raises
    ------
    DataError
        Missing columns, non-numeric answers or unreadable yes/no, naming the file,
        the column and the first rows (line numbers, header = 1).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found", source=str(p))
    df = _read_survey_csv(p, (price, service, join))
    missing = [c for c in (price, service, join) if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the file has {list(df.columns)}", source=str(p),
                        column=missing[0])
    if df.empty:
        raise DataError("the survey has a header but no answers; expected one row per respondent after "
                        "the header", source=str(p), rows=[1])
    vals = {}
    for col in (price, service):
        v = pd.to_numeric(df[col].str.strip(), errors="coerce")
        bad = np.flatnonzero(v.isna().to_numpy())
        if bad.size:
            raise DataError(f"expected a number (how much it matters), got {df[col].iloc[bad[0]]!r}",
                            source=str(p), column=col, rows=(bad + 2).tolist())
        vals[col] = v.to_numpy()
    ans = df[join].str.strip().str.lower()
    yes, no = ans.isin(_YES).to_numpy(), ans.isin(_NO).to_numpy()
    bad = np.flatnonzero(~(yes | no))
    if bad.size:
        raise DataError(f"expected yes/no or 1/0, got {df[join].iloc[bad[0]]!r}", source=str(p), column=join,
                        rows=(bad + 2).tolist())
    pr, sv = vals[price], vals[service]
    habitual = np.maximum(pr, sv) <= habitual_max
    price_s = ~habitual & (pr > sv)
    service_s = ~habitual & (sv > pr)
    ties = ~habitual & (pr == sv)
    n_ties = int(ties.sum())
    counts = {"price_sensitive": int(price_s.sum()) + n_ties // 2,
              "service_sensitive": int(service_s.sum()) + n_ties - n_ties // 2,
              "habitual": int(habitual.sum())}
    return SurveyEstimate(counts=counts, join_yes=int(yes.sum()), join_no=int(no.sum()), source=str(p))


def _read_survey_csv(p: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    """The survey's rows as text; DataError for an empty file or bytes that are not UTF-8."""
    expected = f"a UTF-8 CSV with a header row ({', '.join(wanted)}) and one row per respondent"
    raw = p.read_bytes()
    if not raw.strip():
        raise DataError(f"the file is empty; expected {expected}", source=str(p))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"byte {exc.start + 1} (0x{raw[exc.start]:02x}) is not UTF-8; expected {expected}. "
                        "Save the file as UTF-8 (e.g. from Latin-1: iconv -f latin1 -t utf-8)",
                        source=str(p), rows=[line]) from None
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"the file has no header row; expected {expected}", source=str(p)) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"malformed CSV ({exc}); expected {expected}", source=str(p)) from None


def apply_survey(params: Any, survey: SurveyEstimate, draw: tuple[dict[str, float], float] | None = None) -> Any:
    """Population parameters with the survey's segment mix (posterior mean, or a draw)."""
    mix = draw[0] if draw is not None else survey.segment_mix
    if not hasattr(params, "replace"):
        raise ConfigError("expected PopulationParams", field="params")
    return params.replace(segment_mix=mix)

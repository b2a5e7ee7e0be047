"""Synthetic customers: latent traits, presets and the arrival schedule.

A customer is a BG/NBD buy-till-you-die process (Fader, Hardie & Lee 2005):
purchase rate ``lam ~ Gamma(r, alpha)`` per week and, after each purchase,
dropout with probability ``p ~ Beta(a, b)``. Each customer has a stable mean
ticket from the Gamma-Gamma spend model (Fader, Hardie & Lee 2005b): ticket
``~ Gamma(spend_p, rate=nu)`` with ``nu ~ Gamma(spend_q, rate=spend_gamma)``.
On top come a behavioural segment, category affinities, life events, e-mail
propensities and an acquisition week.

Traits are drawn lazily, one fixed-size *granule* of customers at a time, from a
random stream keyed by ``(seed, "traits", granule)``. The same customer therefore
has the same traits whatever the block size or number of workers.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value
curves for customer base analysis. Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.special import roots_jacobi

from .errors import ConfigError
from .streams import GRANULE, stream
from .validation import check_count, check_positive, check_probability, check_shares, from_mapping

#: Behavioural segments, in code order (the ``segment`` trait stores the index).
SEGMENTS: tuple[str, ...] = ("price_sensitive", "service_sensitive", "habitual")

#: Folder of the preset YAML files: package data (``loyalty_sim/presets``), read with importlib.resources.
PRESET_DIR = Path(str(resources.files(__package__) / "presets"))  # a regular install is a folder on disk

_TRAITS = "traits"


@dataclass(frozen=True)
class LifeEvent:
    """A change of needs: buyers of ``from_category`` later buy ``to_category``.

    Parameters
    ----------
    name : str
        Label, e.g. ``"new_baby"``.
    from_category, to_category : str
        Catalogue categories before and after the event.
    share : float
        Fraction of customers who go through the event during the horizon.
    delay_weeks : float
        Weeks between the start of the event (buying ``from_category``) and the
        switch to ``to_category`` (prenatal vitamins to baby products: about 30).
    """

    name: str
    from_category: str
    to_category: str
    share: float
    delay_weeks: float

    def __post_init__(self) -> None:
        check_probability(f"life_events.{self.name}.share", self.share, interval="[0, 1]")
        check_positive(f"life_events.{self.name}.delay_weeks", self.delay_weeks, allow_zero=True)


@dataclass(frozen=True)
class PopulationParams:
    """Every parameter of the customer model, with units.

    Parameters
    ----------
    r, alpha : float
        Purchase rate ``lam ~ Gamma(shape=r, rate=alpha)``; ``alpha`` in weeks,
        so the mean rate is ``r / alpha`` purchases per week.
    a, b : float
        Dropout probability after each purchase ``p ~ Beta(a, b)`` (dimensionless).
    spend_p, spend_q, spend_gamma : float
        Gamma-Gamma spend model: ticket ``~ Gamma(spend_p, rate=nu)``,
        ``nu ~ Gamma(spend_q, rate=spend_gamma)``; ``spend_gamma`` in currency.
        Mean ticket ``spend_p * spend_gamma / (spend_q - 1)`` (currency).
    segment_mix : dict
        Share of each segment in :data:`SEGMENTS`; sums to 1.
    catalogue : dict
        Category -> mean share of a customer's purchases; sums to 1.
    affinity_concentration : float
        Dirichlet concentration of individual category affinities around the
        catalogue shares (small = customers specialise).
    life_events : tuple of LifeEvent
        Changes of needs that make targeted offers meaningful.
    email_opt_in : float
        Share of customers who accept marketing e-mail.
    email_open_rate, email_click_rate : float
        Mean per-e-mail open probability, and click probability given an open.
    email_concentration : float
        Beta concentration of the individual open/click propensities.
    arrivals : str or float
        ``"steady"`` (new customers replace expected baseline dropouts so the
        alive base stays level), ``"none"`` (closed cohort) or a number of new
        customers per week as a fraction of the initial base.
    initial_base : str
        ``"established"``: the customers alive at week 0 are those a business that
        has been acquiring customers steadily for ``history_weeks`` still has, so
        long-lived (low ``lam * p``) customers are over-represented and the base
        does not drift at the start; ``"new"``: a fresh cohort acquired at week 0
        (as in the BG/NBD papers). Closed cohorts (``arrivals: none``) are always new.
    history_weeks : float
        Age of the oldest customers in an established base (weeks).
    name : str
        Preset name, for reports.
    """

    r: float
    alpha: float
    a: float
    b: float
    spend_p: float
    spend_q: float
    spend_gamma: float
    segment_mix: Mapping[str, float] = field(default_factory=lambda: {
        "price_sensitive": 0.4, "service_sensitive": 0.3, "habitual": 0.3})
    catalogue: Mapping[str, float] = field(default_factory=lambda: {"general": 1.0})
    affinity_concentration: float = 5.0
    life_events: tuple[LifeEvent, ...] = ()
    email_opt_in: float = 0.4
    email_open_rate: float = 0.157
    email_click_rate: float = 0.127
    email_concentration: float = 4.0
    arrivals: str | float = "steady"
    initial_base: str = "established"
    history_weeks: float = 260.0
    name: str = "custom"

    def __post_init__(self) -> None:
        for f in ("r", "alpha", "a", "b", "spend_p", "spend_q", "spend_gamma",
                  "affinity_concentration", "email_concentration"):
            object.__setattr__(self, f, check_positive(f, getattr(self, f)))
        if self.spend_q <= 1:
            raise ConfigError(f"must be > 1 for the mean ticket to exist, got {self.spend_q}",
                              field="spend_q")
        object.__setattr__(self, "segment_mix", check_shares("segment_mix", self.segment_mix, SEGMENTS))
        object.__setattr__(self, "catalogue", check_shares("catalogue", self.catalogue))
        for f in ("email_opt_in", "email_open_rate", "email_click_rate"):
            object.__setattr__(self, f, check_probability(f, getattr(self, f), interval="[0, 1]"))
        events = tuple(e if isinstance(e, LifeEvent) else LifeEvent(**e) for e in self.life_events)
        for e in events:
            for side in ("from_category", "to_category"):
                if getattr(e, side) not in self.catalogue:
                    raise ConfigError(f"'{getattr(e, side)}' is not in the catalogue {list(self.catalogue)}",
                                      field=f"life_events.{e.name}.{side}")
        if sum(e.share for e in events) > 1:
            raise ConfigError("life-event shares sum to more than 1", field="life_events")
        object.__setattr__(self, "life_events", events)
        if self.initial_base not in ("established", "new"):
            raise ConfigError(f"expected 'established' or 'new', got {self.initial_base!r}", field="initial_base")
        object.__setattr__(self, "history_weeks", check_positive("history_weeks", self.history_weeks))
        if isinstance(self.arrivals, str):
            if self.arrivals not in ("steady", "none"):
                raise ConfigError(f"expected 'steady', 'none' or a rate >= 0, got {self.arrivals!r}",
                                  field="arrivals")
        else:
            object.__setattr__(self, "arrivals", check_positive("arrivals", self.arrivals, allow_zero=True))

    # ----------------------------------------------------------------- derived
    @property
    def mean_rate(self) -> float:
        """Mean purchase rate, purchases per week."""
        return self.r / self.alpha

    @property
    def mean_dropout(self) -> float:
        """Mean dropout probability per purchase."""
        return self.a / (self.a + self.b)

    @property
    def mean_ticket(self) -> float:
        """Expected ticket (currency) under the Gamma-Gamma model."""
        return self.spend_p * self.spend_gamma / (self.spend_q - 1.0)

    @property
    def categories(self) -> tuple[str, ...]:
        """Catalogue categories in order."""
        return tuple(self.catalogue)

    def replace(self, **changes: Any) -> "PopulationParams":
        """Return a copy with some fields changed (validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"unknown population parameters {unknown}", field=unknown[0])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, written into every output."""
        d = dataclasses.asdict(self)
        d["segment_mix"] = dict(self.segment_mix)
        d["catalogue"] = dict(self.catalogue)
        return d

    # --------------------------------------------------------- closed forms
    @property
    def established(self) -> bool:
        """True if the week-0 base is an established (steady-state) one."""
        return self.initial_base == "established" and self.arrivals != "none"

    def survival_initial(self, t: np.ndarray | float) -> np.ndarray:
        """P(a customer of the week-0 base is still alive at ``t``).

        For an established base (acquired uniformly over ``history_weeks`` = A, still
        alive at 0) this is ``int_t^{t+A} S(s) ds / int_0^A S(s) ds`` with ``S`` the
        survival of a new customer; for a new cohort it is ``S`` itself.
        """
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if not self.established:
            return self.survival(t)
        A = self.history_weeks
        grid = np.linspace(0.0, 1.0, 201)
        def integral(lo: np.ndarray) -> np.ndarray:
            s = lo[:, None] + A * grid[None, :]
            vals = self.survival(s.ravel()).reshape(s.shape)
            return np.trapezoid(vals, dx=A / (len(grid) - 1), axis=1)
        return integral(t) / integral(np.zeros(1))[0]

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        """P(a new customer is still alive ``t`` weeks after acquisition).

        ``E[exp(-lam * p * t)] = E_p[(alpha / (alpha + p t))^r]``, integrated over
        ``p ~ Beta(a, b)`` by Gauss-Jacobi quadrature.
        """
        t = np.atleast_1d(np.asarray(t, dtype=float))
        x, w = roots_jacobi(96, self.b - 1.0, self.a - 1.0)
        p = (1.0 + x) / 2.0
        w = w / w.sum()
        vals = (self.alpha / (self.alpha + np.outer(t, p))) ** self.r
        return vals @ w


def load_preset(name: str, **overrides: Any) -> PopulationParams:
    """Read preset ``NAME`` (``loyalty_sim/presets/NAME.yaml``) into :class:`PopulationParams`.

    Parameters
    ----------
    name : str
        Preset name; :func:`available_presets` lists them.
    **overrides
        Fields to change after loading.

    Raises
    ------
    ConfigError
        Unknown preset (the message lists the available ones) or invalid field.
    """
    raw, source = read_preset(name)
    params = params_from_mapping(raw, source=source)
    return params.replace(**overrides) if overrides else params


def read_preset(name: str) -> tuple[Any, str]:
    """The parsed YAML of preset ``name`` and where it came from: the one reader of preset files.

    :func:`load_preset` builds the population from it and
    :func:`loyalty_sim.economics.preset_economics` takes its ``economics:`` section.

    Raises
    ------
    ConfigError
        ``name`` is not a shipped preset (the message lists them).
    """
    from .files import parse_yaml

    if not isinstance(name, str) or name not in available_presets():
        raise ConfigError(f"unknown preset '{name}'; available presets: {', '.join(available_presets())}",
                          field="preset")
    entry = PRESET_DIR / f"{name}.yaml"
    source = str(entry)
    return parse_yaml(entry.read_text(encoding="utf-8"), source=source), source


def available_presets() -> list[str]:
    """Names of the presets shipped in ``loyalty_sim/presets``."""
    return sorted(p.name[:-5] for p in PRESET_DIR.iterdir() if p.is_file() and p.name.endswith(".yaml"))


def params_from_mapping(raw: Mapping[str, Any], *, source: str | None = None) -> PopulationParams:
    """Build :class:`PopulationParams` from a preset mapping.

    Each field may be a bare value or ``{value: ..., unit: ..., source: ...}``.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError("a preset must be a mapping of fields", source=source)
    kwargs: dict[str, Any] = {}
    for key, entry in raw.items():
        if key in ("description", "notes", "economics"):
            continue
        value = entry["value"] if isinstance(entry, Mapping) and "value" in entry else entry
        if key == "life_events":
            value = tuple(LifeEvent(**e) for e in (value or []))
        kwargs[key] = value
    return from_mapping(PopulationParams, kwargs, what="preset field(s)", source=source)


def arrival_schedule(params: PopulationParams, size: int, weeks: int) -> np.ndarray:
    """New customers arriving at the start of each week ``1 .. weeks-1`` (index 0 is the initial base).

    ``"steady"`` solves the renewal equation ``size = size S(w) + sum_c A_c S(w-c)``
    for the arrivals ``A_c`` so that the expected number of alive customers stays at
    ``size`` in the baseline; counts are rounded on the cumulative sum so no drift builds up.
    """
    out = np.zeros(weeks, dtype=np.int64)
    out[0] = size
    if weeks <= 1 or params.arrivals == "none":
        return out
    if not isinstance(params.arrivals, str):
        cum = np.round(np.arange(1, weeks) * params.arrivals * size)
        out[1:] = np.diff(np.concatenate([[0.0], cum])).astype(np.int64)
        return out
    surv = params.survival(np.arange(weeks))
    surv0 = params.survival_initial(np.arange(weeks))
    arr = np.zeros(weeks)
    for w in range(1, weeks):
        alive = size * surv0[w] + np.dot(arr[1:w], surv[w - 1:0:-1])
        arr[w] = max(size - alive, 0.0)
    cum = np.round(np.cumsum(arr[1:]))
    out[1:] = np.diff(np.concatenate([[0.0], cum])).astype(np.int64)
    return out


@dataclass(frozen=True)
class Traits:
    """Latent traits of a contiguous range of customers (one array per trait).

    Attributes
    ----------
    customer_id : ndarray of int64
    acquisition_week : ndarray of int32
    lam : purchase rate per week
    p : dropout probability per purchase
    hazard_budget : Exp(1) draw; the customer drops out when the summed per-purchase
        hazards ``-log(1 - p)`` exceed it (exactly BG/NBD when ``p`` is constant)
    nu : Gamma-Gamma rate; mean ticket is ``spend_p / nu``
    segment : index into :data:`SEGMENTS`
    affinity : (n, n_categories) category shares
    life_event : index into ``params.life_events`` or -1
    life_event_week : week the customer switches to the event's ``to_category`` (or -1)
    email_opt_in, email_open, email_click : e-mail consent and propensities
    """

    customer_id: np.ndarray
    acquisition_week: np.ndarray
    lam: np.ndarray
    p: np.ndarray
    hazard_budget: np.ndarray
    nu: np.ndarray
    segment: np.ndarray
    affinity: np.ndarray
    life_event: np.ndarray
    life_event_week: np.ndarray
    email_opt_in: np.ndarray
    email_open: np.ndarray
    email_click: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_id)

    def take(self, idx: np.ndarray) -> "Traits":
        """Traits of a subset (positions ``idx``)."""
        return Traits(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    @staticmethod
    def concat(parts: list["Traits"]) -> "Traits":
        """Stack several trait blocks."""
        return Traits(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                         for f in dataclasses.fields(Traits)})


class Population:
    """A seeded synthetic customer base, materialised lazily by granule.

    Parameters
    ----------
    params : PopulationParams or str
        Parameters, or a preset name.
    size : int
        Customers alive at week 0.
    weeks : int
        Horizon in weeks (the arrival schedule covers it).
    seed : int
        Seed of the traits; the same seed gives the same customers.

    Examples
    --------
    >>> pop = Population("coffee_shop", size=1000, weeks=52, seed=1)
    >>> pop.n_customers >= 1000
    True
    """

    def __init__(self, params: PopulationParams | str, size: int, weeks: int, seed: int = 0):
        if isinstance(params, str):
            params = load_preset(params)
        if not isinstance(params, PopulationParams):
            raise ConfigError(f"expected PopulationParams or a preset name, got {type(params).__name__}",
                              field="params")
        self.params = params
        self.size = check_count("size", size, minimum=1)
        self.weeks = check_count("weeks", weeks, minimum=1)
        self.seed = check_count("seed", seed, minimum=0)
        self.arrivals = arrival_schedule(params, self.size, self.weeks)
        # refuse before allocating anything per customer: the least any run of this population needs
        check_memory(estimate_memory(int(self.arrivals.sum()), self.weeks, params=params, size=self.size))
        self.acquisition_week = np.repeat(np.arange(self.weeks, dtype=np.int32), self.arrivals)
        self.n_customers = int(self.arrivals.sum())

    @classmethod
    def from_params(cls, size: int, weeks: int, seed: int = 0, **params: Any) -> "Population":
        """Build a population from explicit parameters (keywords of :class:`PopulationParams`)."""
        return cls(PopulationParams(**params), size=size, weeks=weeks, seed=seed)

    @classmethod
    def from_fit(cls, transactions: Any, spend: Any = None, *, size: int, weeks: int, seed: int = 0,
                 assumptions: PopulationParams | str = "coffee_shop", survey: Any = None,
                 **overrides: Any) -> "Population":
        """Customers built from fitted BG/NBD (and Gamma-Gamma) parameters: "your customers".

        Parameters
        ----------
        transactions : FitResult or mapping
            A BG/NBD fit (``model == "bgnbd"``) or its ``params`` dict (``r, alpha, a, b``);
            rates in the fit's time unit are converted to weeks.
        spend : FitResult or mapping, optional
            A Gamma-Gamma fit or ``{p, q, gamma}``; default: keep the assumption preset's.
        size, weeks, seed
            As for :class:`Population`.
        assumptions : PopulationParams or str
            Where everything a log cannot identify comes from (segment mix, catalogue,
            e-mail propensities, arrivals): a preset name or parameters. These stay
            labelled as assumptions in :meth:`assumed_fields`.
        survey : SurveyEstimate, optional
            Sets the segment mix from a customer survey (see :mod:`loyalty_sim.calibration.survey`).
        **overrides
            Any other field of :class:`PopulationParams`.
        """
        base = load_preset(assumptions) if isinstance(assumptions, str) else assumptions
        tparams, tmodel, tunit = _fit_parts(transactions)
        if tmodel not in (None, "bgnbd"):
            raise ConfigError(f"the simulator is a BG/NBD process; got a '{tmodel}' fit. Fit BG/NBD "
                              "(loyalty-sim fit --model bgnbd) to build a population", field="transactions")
        missing = [k for k in ("r", "alpha", "a", "b") if k not in tparams]
        if missing:
            raise ConfigError(f"BG/NBD parameters {missing} missing", field="transactions")
        days = 7.0
        if tunit is not None:
            from .btyd.rfm import unit_days

            days = unit_days(tunit)
        fitted: dict[str, Any] = {"r": tparams["r"], "alpha": tparams["alpha"] * days / 7.0,
                                  "a": tparams["a"], "b": tparams["b"]}
        if spend is not None:
            sp, smodel, _ = _fit_parts(spend)
            if smodel not in (None, "gamma_gamma"):
                raise ConfigError(f"expected a Gamma-Gamma fit for spend, got '{smodel}'", field="spend")
            fitted.update(spend_p=sp["p"], spend_q=sp["q"], spend_gamma=sp["gamma"])
        if survey is not None:
            fitted["segment_mix"] = survey.segment_mix
        params = base.replace(**fitted, name=overrides.pop("name", "fitted"), **overrides)
        pop = cls(params, size=size, weeks=weeks, seed=seed)
        pop.fitted_fields = tuple(fitted)
        return pop

    def assumed_fields(self) -> list[str]:
        """Fields not estimated from data (for a population built by :meth:`from_fit`)."""
        fitted = set(getattr(self, "fitted_fields", ()))
        if not fitted:
            return []
        return [f.name for f in dataclasses.fields(self.params) if f.name not in fitted and f.name != "name"]

    def __repr__(self) -> str:
        return (f"Population(params={self.params.name!r}, size={self.size}, weeks={self.weeks}, "
                f"seed={self.seed}, n_customers={self.n_customers})")

    @property
    def n_granules(self) -> int:
        """Number of random-stream granules covering the customers."""
        return -(-self.n_customers // GRANULE)

    def traits(self, start: int = 0, stop: int | None = None) -> Traits:
        """Traits of customers ``start .. stop-1`` (granule-aligned ranges are fastest)."""
        stop = self.n_customers if stop is None else min(stop, self.n_customers)
        g0, g1 = start // GRANULE, -(-stop // GRANULE)
        parts = [self._granule_traits(g) for g in range(g0, g1)]
        block = Traits.concat(parts) if len(parts) != 1 else parts[0]
        off = start - g0 * GRANULE
        return block.take(slice(off, off + (stop - start)))

    def referral_pool(self, g: int) -> Traits:
        """Potential referred customers attached to granule ``g`` (one granule of them).

        They exist only if a referral scheme brings them in: until then their
        ``acquisition_week`` is ``weeks`` (never). Their ids follow every regular
        customer's: ``n_granules * GRANULE + g * GRANULE + slot``.
        """
        return self._granule_traits(g, pool=True)

    def _granule_traits(self, g: int, pool: bool = False) -> Traits:
        prm = self.params
        if pool:
            lo = (self.n_granules + g) * GRANULE
            hi = lo + GRANULE
        else:
            lo, hi = g * GRANULE, min((g + 1) * GRANULE, self.n_customers)
        n = hi - lo
        rng = np.random.Generator(stream(self.seed, "referral_traits" if pool else _TRAITS, g))
        lam = rng.gamma(prm.r, 1.0 / prm.alpha, size=n)
        p = rng.beta(prm.a, prm.b, size=n)
        if prm.established and not pool:
            base = np.flatnonzero(np.arange(lo, hi) < self.size)
            if base.size:
                lam[base], p[base] = _established_draws(rng, prm, base.size)
        hazard = rng.standard_exponential(size=n)
        nu = rng.gamma(prm.spend_q, 1.0 / prm.spend_gamma, size=n)
        seg_p = np.array([prm.segment_mix.get(s, 0.0) for s in SEGMENTS])
        segment = np.searchsorted(np.cumsum(seg_p), rng.random(n) * seg_p.sum(), side="right")
        segment = np.minimum(segment, len(SEGMENTS) - 1).astype(np.int8)
        shares = np.array(list(prm.catalogue.values()))
        affinity = _dirichlet_rows(rng, shares, prm.affinity_concentration, n)
        life_event = np.full(n, -1, dtype=np.int8)
        life_week = np.full(n, -1, dtype=np.int32)
        if prm.life_events:
            cut = np.cumsum([e.share for e in prm.life_events])
            draw = rng.random(n)
            which = np.searchsorted(cut, draw, side="right")
            start = rng.random(n) * self.weeks
            cats = prm.categories
            for k, ev in enumerate(prm.life_events):
                m = which == k
                life_event[m] = k
                life_week[m] = np.floor(start[m] + ev.delay_weeks).astype(np.int32)
                # before the switch the customer buys the event's first category heavily
                fi = cats.index(ev.from_category)
                affinity[m, fi] += 0.5
                affinity[m] /= affinity[m].sum(axis=1, keepdims=True)
        opt_in = rng.random(n) < prm.email_opt_in
        email_open = _beta_mean(rng, prm.email_open_rate, prm.email_concentration, n)
        email_click = _beta_mean(rng, prm.email_click_rate, prm.email_concentration, n)
        return Traits(
            customer_id=np.arange(lo, hi, dtype=np.int64),
            acquisition_week=(np.full(n, self.weeks, dtype=np.int32) if pool else self.acquisition_week[lo:hi]),
            lam=lam, p=p, hazard_budget=hazard, nu=nu, segment=segment,
            affinity=affinity.astype(np.float32), life_event=life_event, life_event_week=life_week,
            email_opt_in=opt_in, email_open=email_open.astype(np.float32),
            email_click=email_click.astype(np.float32),
        )

    def customers(self) -> pd.DataFrame:
        """All customers' traits as a DataFrame (one row per customer; affinities as columns)."""
        t = self.traits()
        frame = pd.DataFrame({
            "customer_id": t.customer_id, "acquisition_week": t.acquisition_week,
            "purchase_rate": t.lam, "dropout_probability": t.p,
            "mean_ticket": self.params.spend_p / t.nu,
            "segment": pd.Categorical.from_codes(t.segment, SEGMENTS),
            "life_event": pd.Categorical.from_codes(
                t.life_event.astype(int), [e.name for e in self.params.life_events]) if self.params.life_events
            else pd.Categorical.from_codes(np.full(len(t), -1), ["none"]),
            "email_opt_in": t.email_opt_in, "email_open": t.email_open, "email_click": t.email_click,
        })
        for j, c in enumerate(self.params.categories):
            frame[f"affinity_{c}"] = t.affinity[:, j]
        return frame


def _established_draws(rng: np.random.Generator, prm: PopulationParams, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rates and dropout probabilities of customers alive in an established base.

    Rejection sampling from the prior with acceptance ``(1 - exp(-lam p A)) / (lam p A)``:
    the chance that a customer acquired uniformly over the last ``A`` weeks is still alive.
    """
    A = prm.history_weeks
    lam_out = np.empty(n)
    p_out = np.empty(n)
    filled = 0
    while filled < n:
        m = max(2 * (n - filled), 256)
        lam = rng.gamma(prm.r, 1.0 / prm.alpha, size=m)
        p = rng.beta(prm.a, prm.b, size=m)
        x = lam * p * A
        accept = rng.random(m) < np.where(x > 1e-12, -np.expm1(-x) / np.maximum(x, 1e-300), 1.0)
        k = min(int(accept.sum()), n - filled)
        lam_out[filled:filled + k] = lam[accept][:k]
        p_out[filled:filled + k] = p[accept][:k]
        filled += k
    return lam_out, p_out


def _fit_parts(fit: Any) -> tuple[dict[str, float], str | None, Any]:
    """(params, model, time unit) of a FitResult or a plain mapping of parameters."""
    if isinstance(fit, Mapping):
        return {k: float(v) for k, v in fit.items()}, None, None
    params = getattr(fit, "params", None)
    if not isinstance(params, Mapping):
        raise ConfigError(f"expected a fit result or a mapping of parameters, got {type(fit).__name__}",
                          field="fit")
    if not getattr(fit, "converged", True):
        raise ConfigError(f"the fit did not converge: {getattr(fit, 'message', '')}", field="fit")
    return {k: float(v) for k, v in params.items()}, getattr(fit, "model", None), getattr(fit, "time_unit", None)


def _dirichlet_rows(rng: np.random.Generator, shares: np.ndarray, concentration: float, n: int) -> np.ndarray:
    if len(shares) == 1:
        return np.ones((n, 1))
    g = rng.standard_gamma(np.maximum(shares * concentration, 1e-3), size=(n, len(shares)))
    s = g.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return g / s


def _beta_mean(rng: np.random.Generator, mean: float, concentration: float, n: int) -> np.ndarray:
    if mean <= 0 or mean >= 1:
        return np.full(n, mean)
    return rng.beta(mean * concentration, (1 - mean) * concentration, size=n)


# --------------------------------------------------------------------------- memory
#: Bytes per customer of a block's engine state besides its traits (engine.py ``_simulate_block``):
#: remaining, h0, inv_nu, order (float64/int64: 4 x 8), alive, established, trial_due (3 x 1),
#: the per-customer totals discount, reward_retail, reward_cost (3 x 8) and first/last/dropout
#: week (3 x 4), the per-window transactions and revenue (2 x 8 per window), BlockContext's
#: granule_of, slot_of and flat position (4 + 8 + 8).
BLOCK_STATE_BYTES = 4 * 8 + 3 + 3 * 8 + 3 * 4 + 4 + 8 + 8
#: Bytes per customer-window of the per-window totals (transactions int64, revenue float64).
WINDOW_BYTES = 16
#: Bytes per alive customer of one simulated week's temporaries (idx, gi, flat, u_count, u_spend,
#: lam, h, k, rem, k_death, made, gross, discount, revenue and the gathers feeding them: 17 x 8,
#: plus died and buyers) -- the week's working set.
WEEK_TEMP_BYTES = 17 * 8 + 2
#: Bytes per customer a scheme runtime keeps (schemes/common.py ``MemberRuntime``: mean_ticket,
#: heaviness, gradient_weight, rate_sens, dropout_sens, perk_sens, enrol_week: 7 x 8, one spare 8,
#: members_ever and will_join, plus _visited within the spare) plus a family's own state (points, stamps, tiers: about 10 x 8).
SCHEME_BYTES = 8 * 8 + 2 + 10 * 8
#: Bytes per customer of a result's ``customers`` frame (engine.py ``_assemble``): customer_id,
#: transactions, revenue, gross_sales, discount, reward_retail, reward_cost (7 x 8), first/last/
#: dropout week and acquisition week (4 x 4), segment (1); per extra window 16.
RESULT_BYTES = 7 * 8 + 4 * 4 + 1
#: Bytes per row of the transaction log (engine.py ``LOG_COLUMNS``): customer_id, time, timestamp,
#: amount, discount, points_earned, points_redeemed, reward_cost (8 x 8), week (4), category (1).
LOG_ROW_BYTES = 8 * 8 + 4 + 1
#: Copies of the log alive at once at the end of a run (block frames, their concatenation, the sort).
LOG_COPIES = 3
#: Interpreter, numpy, pandas and scipy once imported (bytes).
BASE_BYTES = 200 << 20


def _trait_bytes(n_categories: int) -> int:
    """Bytes per customer of :class:`Traits` (from the dtypes :meth:`Population._granule_traits` uses)."""
    # customer_id i8, acquisition_week i4, lam/p/hazard_budget/nu f8, segment i1, affinity f4 x categories,
    # life_event i1, life_event_week i4, email_opt_in bool, email_open/email_click f4
    return 8 + 4 + 4 * 8 + 1 + 4 * n_categories + 1 + 4 + 1 + 2 * 4


def estimate_memory(n_customers: int, weeks: int, *, params: PopulationParams | None = None,
                    output: str = "aggregate", block_size: int = 16 * GRANULE, workers: int = 1,
                    scheme: bool = False, n_windows: int = 1, results_held: int = 1,
                    size: int | None = None) -> int:
    """Bytes of memory a simulation needs at its peak (an estimate, before anything is allocated).

    Parameters
    ----------
    n_customers : int
        Customers including arrivals (:attr:`Population.n_customers`).
    weeks : int
        Horizon.
    params : PopulationParams, optional
        For the number of categories and the mean purchase rate (log size); defaults used when None.
    output : {"aggregate", "log"}
    block_size, workers : int
        Customers per block and blocks in memory at once (one per worker).
    scheme : bool
        Whether a scheme runs (its per-customer state; with referrals, a pool per granule too).
    n_windows : int
        Per-customer windows of the run.
    results_held : int
        Results kept at once (a scenario keeps the baseline and every scheme's).
    size : int, optional
        Customers alive at week 0; arrivals at most replace dropouts, so at most ``size``
        customers are alive in a week (default: ``n_customers``, an upper bound).

    Returns
    -------
    int
        Bytes: the results held (customers frames, logs) plus every worker's block working set.
    """
    n = int(n_customers)
    n_cat = len(params.catalogue) if params is not None else 1
    rate = params.mean_rate if params is not None else 1.0
    block = min(int(block_size), -(-n // GRANULE) * GRANULE)
    # a referral scheme carries a pool as large as its block
    per_block_customer = (_trait_bytes(n_cat) + BLOCK_STATE_BYTES + WINDOW_BYTES * n_windows + WEEK_TEMP_BYTES
                          + (SCHEME_BYTES + _trait_bytes(n_cat) if scheme else 0))
    blocks = block * per_block_customer * max(1, min(int(workers), -(-n // max(block, 1))))
    result = n * (RESULT_BYTES + (WINDOW_BYTES * n_windows if n_windows > 1 else 0) + (16 if scheme else 0))
    # the parent holds every block's customers and their concatenation while assembling
    held = 2 * result + (results_held - 1) * result
    if output == "log":
        # transactions: the mean rate per alive customer-week (at most `size` alive a week), plus trials
        alive = n if size is None else min(int(size), n)
        rows = alive * rate * weeks + n
        held += results_held * rows * LOG_ROW_BYTES * LOG_COPIES
    weekly = 20 * (-(-n // GRANULE)) * weeks * 8 * 3   # per-granule weekly series (blocks, scatter, sum)
    return int(BASE_BYTES + blocks + held + weekly)


def memory_limit() -> tuple[int, str]:
    """The memory a run may use (bytes) and where that limit comes from.

    ``LOYALTY_SIM_MEMORY_LIMIT`` (e.g. ``64GiB``, ``500MB``, a number of bytes) overrides the
    machine's physical memory (``os.sysconf`` or ``/proc/meminfo``).
    """
    import os

    env = os.environ.get("LOYALTY_SIM_MEMORY_LIMIT", "").strip()
    if env:
        return parse_size(env, field="LOYALTY_SIM_MEMORY_LIMIT"), "the limit is"
    total = 0
    try:
        total = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) * 1024
        except OSError:
            pass
    if total <= 0:
        return 1 << 62, "no limit is known:"
    return total, "this machine has"


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3,
          "gb": 1000 ** 3, "t": 1000 ** 4, "tb": 1000 ** 4, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
          "tib": 1 << 40}


def parse_size(text: str, *, field: str = "memory_limit") -> int:
    """Bytes from ``"64GiB"``, ``"500 MB"``, ``"2e9"`` (decimal and binary units)."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS or float(m.group(1)) <= 0:
        raise ConfigError(f"expected a size like 16GiB, 500MB or a number of bytes, got {text!r}", field=field)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n: float) -> str:
    """``5.8 TiB``, ``23 GiB``, ``640 MiB`` (binary units, two or three significant digits)."""
    for unit, scale in (("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{int(n)} B"


def check_memory(needed: int, *, what: str = "this run") -> None:
    """Raise ConfigError if ``needed`` bytes exceed :func:`memory_limit` (with both numbers)."""
    limit, how = memory_limit()
    if needed > limit:
        raise ConfigError(
            f"{what} needs about {format_size(needed)} of memory; {how} {format_size(limit)} (set "
            "LOYALTY_SIM_MEMORY_LIMIT or --memory-limit to change the limit).\nFewer --customers or --weeks, "
            "or aggregate output instead of a transaction log, need less", field="customers")

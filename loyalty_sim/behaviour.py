"""How customers respond to a scheme: value, discount depth, progress, status, perks.

The behaviour model turns what a scheme offers a customer into multipliers on the
purchase rate, the per-purchase dropout probability and the ticket:

* **value response**: to a price discount ``g(d)`` zero below a threshold (a tiny
  discount changes nothing), then S-shaped up to saturation (Gupta & Cooper 1992); to
  accumulated rewards concave from (almost) zero value, since 1% cash-back still
  drives about 1.74% of sales (Nastasoiu et al. 2021);
* **price discounts** move demand with the meta-analytic price elasticity
  (Bijmolt, van Heerde & Pieters 2005) once noticed, split between visits and basket;
* **segments**: price-sensitive customers respond to money, service-sensitive ones
  to perks and care, habitual ones little (Kopalle et al. 2012);
* **heavy buyers change little**, light and moderate buyers more (Liu 2007);
* **erosion**: effects fade after enrolment (Meyer-Waarden 2008);
* **goal gradient**: the rate rises with progress towards a reward and partly resets
  after it (Kivetz, Urminsky & Zheng 2006); head-start stamps count as progress
  once the customer holds the card (Nunes & Dreze 2006);
* **devaluation**: past a depth, discounts lower the reference price and the
  full-price demand that follows once they end (DelVecchio, Krishnan & Smith 2007),
  recovering with a half-life as the reference price adapts (Kalyanaram & Winer 1995);
* **status**: tiers lower dropout; demotion raises it above the never-promoted
  level (Wagner, Hennig-Thurau & Rudolph 2009).

Every default is a row of :data:`PARAMETER_TABLE` with its unit and source;
figures without a published source are marked as assumptions. Any of them can be
overridden (``BehaviourParams(...)`` or the ``behaviour:`` section of a scenario).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    """One row of the parameter table.

    ``prior_weight`` is the weight of the default in the row's prior, a Beta-PERT over the
    plausible range with its mode at the default (:mod:`loyalty_sim.uncertainty.priors`): the
    larger, the narrower. None means 4 (the classic PERT) for an assumption and
    :data:`MEASURED_PRIOR_WEIGHT` for a row a study measured.
    """

    name: str
    default: float
    unit: str
    plausible: tuple[float, float]
    source: str
    assumption: bool
    prior_weight: float | None = None

    @property
    def prior_shape(self) -> float:
        """The Beta-PERT weight of the default (see the class docstring)."""
        if self.prior_weight is not None:
            return float(self.prior_weight)
        return ASSUMPTION_PRIOR_WEIGHT if self.assumption else MEASURED_PRIOR_WEIGHT


#: Beta-PERT weight of the default for an assumption: the classic PERT (mean (a + 4m + b) / 6)
ASSUMPTION_PRIOR_WEIGHT = 4.0
#: ... and for a row a study measured: about 0.6 times the spread of an assumption over the same range
MEASURED_PRIOR_WEIGHT = 16.0


#: The one table of behavioural defaults (PARAMETERS.md rows cited by source).
PARAMETER_TABLE: tuple[Parameter, ...] = (
    Parameter("discount_threshold", 0.10, "share of price", (0.05, 0.25),
              "Gupta & Cooper (1992), JCR 19(3), survey of purchase intentions by advertised discount depth: "
              "intentions do not move below a threshold of about 15% (unverified); lower end of their 10-25% "
              "range used for store-wide discounts. Measured by a depth sweep (grocery, store-wide discount, 26 "
              "weeks): no incremental purchases at 5% and 10%, +1.4% at 15%, S-shaped to +20% at 30% and "
              "saturating (+34% at 60%)", True),
    Parameter("discount_saturation", 0.35, "share of price", (0.25, 0.6),
              "Gupta & Cooper (1992), JCR 19(3): S-shaped response with saturation (direction); depth of full "
              "response is an assumption. Measured by the depth sweep: incremental purchases rise fastest between "
              "20% and 30% off, at less than half that pace from 40% on", True),
    Parameter("reward_threshold", 0.0, "reward value per unit of spend", (0.0, 0.01),
              "Nastasoiu et al. (2021), JAMS 49(6), AIR MILES Cash: modest 1% cash-back points still drive "
              "about 1.74% of sales (plausible 1..3%), so accumulated rewards have no threshold to speak of "
              "(0 here; Gupta & Cooper's threshold is for price discounts). Measured here: 1% cash-back gives "
              "2.3% (grocery) and 2.7% (coffee_shop) of gross sales", False),
    Parameter("reward_saturation", 0.12, "reward value per unit of spend", (0.08, 0.25),
              "assumption: a 10% stamp card is near full effect", True),
    Parameter("reward_response_exponent", 0.33, "exponent of the concave reward response z^k between threshold "
              "and saturation", (0.3, 1.0),
              "chosen so that 1% cash-back (automatic enrolment, grocery and coffee_shop presets, 52 weeks) "
              "gives an incentive-driven share of gross sales (scheme - counterfactual) / scheme within "
              "Nastasoiu et al. (2021)'s 1..3% (2.3-2.7%, above their 1.74%: a smaller exponent is needed for "
              "light and moderate buyers to reach Liu (2007)'s +5% under a 1% points programme when heavy buyers "
              "do not respond); concavity (diminishing returns to value) is an assumption", True),
    Parameter("rate_lift_price", 0.20, "max relative rise in purchase rate", (0.05, 0.6),
              "Liu (2007), J. Marketing 71(4): light/moderate buyers +5..30% in frequency; price-sensitive "
              "segment at the top of the range (Kopalle et al. 2012)", True),
    Parameter("rate_lift_service", 0.08, "max relative rise in purchase rate", (0.0, 0.3),
              "Kopalle et al. (2012), Marketing Science 31(2): service-oriented customers respond less to money", True),
    Parameter("rate_lift_habitual", 0.02, "max relative rise in purchase rate", (0.0, 0.1),
              "assumption: habitual customers barely respond", True),
    Parameter("dropout_cut_price", 0.40, "max relative fall in dropout", (0.1, 0.6),
              "assumption: rewards raise switching costs for price-sensitive customers", True),
    Parameter("dropout_cut_service", 0.15, "max relative fall in dropout", (0.0, 0.4),
              "assumption", True),
    Parameter("dropout_cut_habitual", 0.03, "max relative fall in dropout", (0.0, 0.1),
              "assumption", True),
    Parameter("perk_dropout_cut_service", 0.40, "max relative fall in dropout from perks", (0.1, 0.6),
              "Kopalle et al. (2012): service-oriented customers value perks and care", True),
    Parameter("perk_dropout_cut_price", 0.05, "max relative fall in dropout from perks", (0.0, 0.2),
              "assumption", True),
    Parameter("perk_dropout_cut_habitual", 0.08, "max relative fall in dropout from perks", (0.0, 0.2),
              "assumption", True),
    Parameter("heavy_rate_multiple", 0.9, "purchase rate / mean rate of the customer base at which the "
              "response halves", (0.6, 2.0),
              "Liu (2007), J. Marketing 71(4): heavy buyers' response to a programme is about zero (0..3%), "
              "light and moderate buyers' +5..30%. The base is the population's initial customers (the "
              "established base alive at launch, survivors of dropout: fewer heavy buyers than new arrivals); "
              "chosen so that the heavy third by purchases in the 26 weeks before launch responds 0..3%", False),
    Parameter("price_heavy_rate_multiple", 1.5, "purchase rate / mean rate of new customers at which the "
              "response to a price discount halves", (1.0, 4.0),
              "assumption: heavy buyers respond less to price discounts too, but less sharply than to a "
              "programme (Liu 2007 is about programmes); keeps the volume-weighted response near the "
              "meta-analytic elasticity (Bijmolt et al. 2005)", True),
    Parameter("heavy_response_steepness", 8.0, "exponent k of the heaviness weight 1 / (1 + (rate / half)^k)",
              (2.0, 8.0), "assumption: steep enough that the heavy third barely responds (Liu 2007)", True),
    Parameter("erosion_half_life_weeks", 34.0, "weeks", (13.0, 52.0),
              "Meyer-Waarden (2008), JAMS: effects erode with a half-life of 6-9 months", False),
    Parameter("erosion_floor", 0.4, "share of the initial effect that persists", (0.0, 1.0),
              "assumption", True),
    Parameter("goal_gradient", 0.25, "rate rise at the last step before a reward", (0.11, 0.33),
              "Kivetz, Urminsky & Zheng (2006), JMR 43(1), study 1 (10-stamp cafe card, field data): "
              "inter-purchase time 20% shorter from first to last stamp (1/0.8 - 1 = 0.25; plausible -10..-25%). "
              "Measured from the log (coffee_shop, no arrivals, 10-stamp card, customers with 12+ purchases after "
              "launch): mean interval stamp 9->10 is 14% shorter than stamp 1->2 (the first interval has a little "
              "progress already, and rates move week by week)", False),
    Parameter("endowed_progress_lift", 3.0, "relative rate rise per unit of head-start share of the card, "
              "for a card holder", (1.0, 6.0),
              "Nunes & Dreze (2006), JCR 32(4), car-wash field study: both cards need 8 purchases -- a 10-slot "
              "card with 2 slots pre-stamped was completed by 34% vs 19% for a plain 8-slot card (ratio 1.8), "
              "and faster. Calibrated here on that design (coffee_shop with r=0.6, alpha=4, no arrivals, card "
              "holders tracked 26 weeks: plain 19.8%, endowed 33.9%, ratio 1.72); the study's plausible ratio "
              "1.3..2.5 maps to about 1..6. It acts on every card holder (the study measured all customers "
              "handed a card) through the visit rate only (not abandonment), hence the large size. (The 12-slot "
              "coffee card with 2 given is Kivetz, Urminsky & Zheng 2006, not Nunes & Dreze.)", False),
    Parameter("post_reward_residual", 0.3, "share of the goal-gradient boost kept after a reward",
              (0.0, 0.6), "Kivetz et al. (2006), JMR 43(1), study 1; Nunes & Dreze (2011): the next interval "
              "slows, but not back to the first (partial reset; direction). Measured from the log as for "
              "goal_gradient: the interval after the reward is 9% longer than the last before it and 6% shorter "
              "than the first of the first card; the size is an assumption", True),
    Parameter("distance_discount_per_week", 0.03, "hyperbolic discount of a reward per week away",
              (0.0, 0.1), "assumption: a reward many weeks away is worth less", True),
    Parameter("price_elasticity_price", 4.0, "|elasticity| of demand to a price discount, price-sensitive",
              (2.6, 5.0), "Bijmolt, van Heerde & Pieters (2005), JMR 42(2): meta-analytic mean -2.62 (range -1..-4); "
              "segment split is an assumption chosen so the mix-weighted mean is about 2.6", True),
    Parameter("price_elasticity_service", 2.0, "|elasticity|, service-sensitive", (1.0, 3.0),
              "Bijmolt et al. (2005), see above", True),
    Parameter("price_elasticity_habitual", 1.0, "|elasticity|, habitual", (0.3, 2.0),
              "Bijmolt et al. (2005), see above", True),
    Parameter("max_demand_lift", 1.0, "largest relative rise in a customer's demand from a discount",
              (0.5, 2.0), "assumption: a customer's wallet (share of category spend) bounds the response; "
              "constant elasticity alone would imply x6 demand at 60% off", True),
    Parameter("discount_visit_share", 0.5, "share of the discount's demand response through visits (rest: basket)",
              (0.2, 0.8), "assumption", True),
    Parameter("devaluation_depth", 0.30, "share of price", (0.2, 0.5),
              "DelVecchio, Krishnan & Smith (2007), J. Marketing 71(3): deeper promotions lower post-promotion "
              "price expectations (direction); depth is an assumption", True),
    Parameter("devaluation_strength", 1.2, "relative fall in full-price demand per unit of depth beyond it",
              (0.5, 2.0), "Raghubir & Corfman (1999), JMR 36(2) (direction); Kalyanaram & Winer (1995): losses "
              "weigh about twice gains (unverified)", True),
    Parameter("devaluation_half_life_weeks", 8.0, "weeks for half the post-promotion fall in full-price "
              "demand to recover", (4.0, 26.0),
              "assumption: reference prices adapt to the prices seen (Kalyanaram & Winer 1995, Marketing "
              "Science 14(3)); DelVecchio et al. (2007) measure post-promotion price expectations, not a "
              "permanent loss. No published half-life found: 8 weeks is an assumption", True),
    Parameter("status_dropout_cut", 0.30, "relative fall in dropout, times l / K at tier level l of K "
              "(the top of a 3-level ladder gets 2/3 of it)", (0.1, 0.5),
              "Dreze & Nunes (2009), JCR 35(6): status felt at the top (direction); size is an assumption", True),
    Parameter("demotion_dropout_rise", 0.35, "relative rise in dropout after a demotion", (0.1, 0.6),
              "Wagner, Hennig-Thurau & Rudolph (2009), J. Marketing 73(3), experiments on demotion in a "
              "three-tier programme: demoted customers end below never-promoted ones (direction); size is an "
              "assumption", True),
    Parameter("demotion_rate_cut", 0.06, "relative fall in purchase rate after a demotion, until the highest "
              "tier held is regained", (0.0, 0.2),
              "Wagner, Hennig-Thurau & Rudolph (2009): demoted customers' loyalty ends below that of customers "
              "never promoted (direction). The dropout rise alone left demoted customers above them (scheme over "
              "counterfactual, +3.0% vs +2.2% for never-promoted members in the same purchase strata, 25 weeks "
              "after a review; grocery, three tiers on quarterly spend): size chosen so that they end below "
              "(-0.4% vs +2.2% with it); an assumption", True),
    Parameter("referral_max_rate", 0.004, "referrals per member per week with a very large reward",
              (0.0, 0.02), "assumption (about one referral per member every 5 years at most)", True),
    Parameter("referral_half_reward", 0.5, "rewards (referrer + referee) / mean ticket giving half the max rate",
              (0.1, 3.0), "assumption; referrals rise with the reward to referrer and referee", True),
    Parameter("referred_value_premium", 0.28, "relative ticket (margin) premium of a referred customer at "
              "acquisition; it fades with referred_premium_half_life_weeks", (0.0, 0.36),
              "Schmitt, Skiera & Van den Bulte (2011), J. Marketing 75(1), referral programme of a German bank: "
              "referred customers have a higher contribution margin that erodes over time, a retention gap that "
              "persists, and are at least 16% more valuable (value premium 0..36% plausible). 16% is the value "
              "(margin and retention together), not the initial margin gap: 0.28 chosen so that, measured on the "
              "referral scheme (grocery, referred vs non-referred customers acquired after launch, revenue in "
              "the first 26/52 weeks after acquisition), the value premium comes out at 16% or more in the short and "
              "long run (22% at 26 weeks, 17% at 52; the ticket gap 23% in the first quarter, 7% after a year; it "
              "was 0.16 with a 26-week half-life: 10% and 6%); the initial size is otherwise an assumption", False),
    Parameter("referred_premium_half_life_weeks", 52.0, "weeks for half of a referred customer's ticket premium "
              "to fade", (13.0, 104.0),
              "Schmitt et al. (2011); Van den Bulte et al. (2018), JMR: the margin gap fades while the churn gap "
              "persists (direction); the half-life is an assumption, chosen with referred_value_premium so that "
              "the value premium holds at 16% over a year", True),
    Parameter("referred_dropout_factor", 0.82, "dropout of referred / other customers", (0.6, 1.0),
              "Schmitt et al. (2011); Van den Bulte et al. (2018), JMR: referred customers churn less, and the "
              "gap persists (direction; size unverified). Measured on the referral scheme: 13.5% vs 15.8% gone "
              "26 weeks after acquisition, 21.8% vs 27.0% after 52", True),
    Parameter("offer_rate_lift", 0.6, "relative rise in purchase rate while an offer is live, at full relevance "
              "and a saturating depth (times the discount response g of the offer's depth)",
              (0.1, 1.0), "assumption", True),
    Parameter("offer_dropout_cut", 0.3, "relative fall in dropout while an offer is live, at-risk customers, "
              "at a saturating depth (times g)",
              (0.0, 0.6), "assumption", True),
    Parameter("take_up_heavy_bias", 0.1, "exponent of rate/mean in the enrolment propensity", (0.0, 3.0),
              "Leenheer, van Heerde, Bijmolt & Smidts (2007), IJRM 24(1): the naive member vs non-member gap is "
              "about 7x the causal effect of the programme once self-selection is accounted for (plausible "
              "3..10x); Meyer-Waarden (2008): heavier buyers enrol earlier (direction). Chosen so that for an "
              "opt-in scheme (take-up 0.5, launch week 13 of 52, customers shopping after launch) the naive gap "
              "in purchases per week over the causal one (members in the scheme run vs the same customers in the "
              "counterfactual) is about 7x: 7.7 (grocery points), 6.2 (grocery stamp card), 8.6 (coffee_shop "
              "points), 3.9 (coffee_shop stamp card). Part of the gap needs no bias at all: customers who lapse "
              "before they would have joined never join (2.4..3.7x at 0). It was 1.0, which gave 35..200x", False),
)

_DEFAULTS = {p.name: p.default for p in PARAMETER_TABLE}


@dataclass(frozen=True)
class BehaviourParams:
    """Behavioural parameters (defaults from :data:`PARAMETER_TABLE`)."""

    discount_threshold: float = _DEFAULTS["discount_threshold"]
    discount_saturation: float = _DEFAULTS["discount_saturation"]
    reward_threshold: float = _DEFAULTS["reward_threshold"]
    reward_saturation: float = _DEFAULTS["reward_saturation"]
    reward_response_exponent: float = _DEFAULTS["reward_response_exponent"]
    rate_lift_price: float = _DEFAULTS["rate_lift_price"]
    rate_lift_service: float = _DEFAULTS["rate_lift_service"]
    rate_lift_habitual: float = _DEFAULTS["rate_lift_habitual"]
    dropout_cut_price: float = _DEFAULTS["dropout_cut_price"]
    dropout_cut_service: float = _DEFAULTS["dropout_cut_service"]
    dropout_cut_habitual: float = _DEFAULTS["dropout_cut_habitual"]
    perk_dropout_cut_service: float = _DEFAULTS["perk_dropout_cut_service"]
    perk_dropout_cut_price: float = _DEFAULTS["perk_dropout_cut_price"]
    perk_dropout_cut_habitual: float = _DEFAULTS["perk_dropout_cut_habitual"]
    heavy_rate_multiple: float = _DEFAULTS["heavy_rate_multiple"]
    heavy_response_steepness: float = _DEFAULTS["heavy_response_steepness"]
    price_heavy_rate_multiple: float = _DEFAULTS["price_heavy_rate_multiple"]
    erosion_half_life_weeks: float = _DEFAULTS["erosion_half_life_weeks"]
    erosion_floor: float = _DEFAULTS["erosion_floor"]
    goal_gradient: float = _DEFAULTS["goal_gradient"]
    endowed_progress_lift: float = _DEFAULTS["endowed_progress_lift"]
    post_reward_residual: float = _DEFAULTS["post_reward_residual"]
    distance_discount_per_week: float = _DEFAULTS["distance_discount_per_week"]
    price_elasticity_price: float = _DEFAULTS["price_elasticity_price"]
    price_elasticity_service: float = _DEFAULTS["price_elasticity_service"]
    price_elasticity_habitual: float = _DEFAULTS["price_elasticity_habitual"]
    max_demand_lift: float = _DEFAULTS["max_demand_lift"]
    discount_visit_share: float = _DEFAULTS["discount_visit_share"]
    devaluation_depth: float = _DEFAULTS["devaluation_depth"]
    devaluation_strength: float = _DEFAULTS["devaluation_strength"]
    devaluation_half_life_weeks: float = _DEFAULTS["devaluation_half_life_weeks"]
    status_dropout_cut: float = _DEFAULTS["status_dropout_cut"]
    demotion_dropout_rise: float = _DEFAULTS["demotion_dropout_rise"]
    demotion_rate_cut: float = _DEFAULTS["demotion_rate_cut"]
    referral_max_rate: float = _DEFAULTS["referral_max_rate"]
    referral_half_reward: float = _DEFAULTS["referral_half_reward"]
    referred_value_premium: float = _DEFAULTS["referred_value_premium"]
    referred_premium_half_life_weeks: float = _DEFAULTS["referred_premium_half_life_weeks"]
    referred_dropout_factor: float = _DEFAULTS["referred_dropout_factor"]
    offer_rate_lift: float = _DEFAULTS["offer_rate_lift"]
    offer_dropout_cut: float = _DEFAULTS["offer_dropout_cut"]
    take_up_heavy_bias: float = _DEFAULTS["take_up_heavy_bias"]

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ConfigError(f"expected a finite number >= 0, got {v!r}", field=f"behaviour.{f.name}")
        for lo, hi in (("discount_threshold", "discount_saturation"), ("reward_threshold", "reward_saturation")):
            if getattr(self, hi) <= getattr(self, lo):
                raise ConfigError(f"must be greater than {lo} ({getattr(self, lo)})", field=f"behaviour.{hi}")
        if self.reward_response_exponent <= 0:
            raise ConfigError(f"must be greater than 0, got {self.reward_response_exponent}",
                              field="behaviour.reward_response_exponent")
        for f in ("dropout_cut_price", "dropout_cut_service", "dropout_cut_habitual", "perk_dropout_cut_service",
                  "perk_dropout_cut_price", "perk_dropout_cut_habitual", "erosion_floor", "post_reward_residual",
                  "status_dropout_cut", "offer_dropout_cut", "demotion_rate_cut", "discount_threshold",
                  "devaluation_depth",
                  "discount_visit_share"):
            if getattr(self, f) > 1:
                raise ConfigError(f"must be at most 1, got {getattr(self, f)}", field=f"behaviour.{f}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, *, source: str | None = None) -> "BehaviourParams":
        """Build from a scenario's ``behaviour:`` section, rejecting unknown names."""
        from .validation import from_mapping

        return from_mapping(cls, raw, what="behaviour parameter(s)", prefix="behaviour",
                            hint="see loyalty_sim.behaviour.PARAMETER_TABLE", source=source)

    def to_dict(self) -> dict[str, float]:
        """Plain-data form."""
        return dataclasses.asdict(self)

    # ----------------------------------------------------------- responses
    def segment_vector(self, kind: str) -> np.ndarray:
        """Per-segment sensitivities in SEGMENTS order (``rate_lift``, ``dropout_cut``, ``perk_dropout_cut``)."""
        return np.array([getattr(self, f"{kind}_price"), getattr(self, f"{kind}_service"),
                         getattr(self, f"{kind}_habitual")])

    def reward_response(self, v: np.ndarray | float) -> np.ndarray:
        """Response in [0, 1] to a reward value rate ``v`` (value per unit spend).

        Zero at or below the threshold, 1 at saturation, concave in between
        (``z ** reward_response_exponent``): the first percent of value back moves the most
        (Nastasoiu et al. 2021: 1% cash-back still drives about 1.74% of sales).
        """
        z = np.clip((np.asarray(v, dtype=float) - self.reward_threshold)
                    / (self.reward_saturation - self.reward_threshold), 0.0, 1.0)
        return self.reward_curve(z)

    def reward_curve(self, z: np.ndarray) -> np.ndarray:
        """:meth:`reward_response` of the value's place ``z`` in [0, 1] between threshold and saturation."""
        return z ** self.reward_response_exponent

    def discount_response(self, d: np.ndarray | float) -> np.ndarray:
        """S-shaped response in [0, 1] to a price discount of depth ``d``."""
        return s_curve(d, self.discount_threshold, self.discount_saturation)

    def discount_demand(self, d: float, segment: np.ndarray, heaviness: np.ndarray) -> np.ndarray:
        """Demand multiplier of a price discount ``d``: ``(1 - d)^(-elasticity * g(d) * heaviness)``, capped smoothly.

        The meta-analytic price elasticity (Bijmolt et al. 2005) acts only once the
        discount is noticed (``g``: threshold and saturation, Gupta & Cooper 1992), and
        less for heavy buyers (``heaviness``: :meth:`price_heaviness_weight`).
        """
        eps = np.array([self.price_elasticity_price, self.price_elasticity_service,
                        self.price_elasticity_habitual])[np.asarray(segment, dtype=np.intp)]
        g = float(self.discount_response(d))
        raw = (1.0 - d) ** (-eps * g * heaviness) - 1.0
        cap = self.max_demand_lift
        if cap <= 0:
            return np.ones_like(raw)
        return 1.0 + cap * -np.expm1(-raw / cap)  # smooth cap: ~raw when small, -> 1 + cap

    def devaluation(self, d: np.ndarray | float) -> np.ndarray:
        """Multiplier (<= 1) on full-price demand just after discounts of depth ``d`` end (it then recovers)."""
        excess = np.maximum(np.asarray(d, dtype=float) - self.devaluation_depth, 0.0)
        return np.maximum(1.0 - self.devaluation_strength * excess, 0.05)

    def heaviness_weight(self, lam: np.ndarray, base_rate: float) -> np.ndarray:
        """Weight in (0, 1]: 1 for light buyers, about 0 for the heaviest (Liu 2007).

        ``base_rate`` is the mean purchase rate of the customer base (see :func:`base_mean_rate`).
        """
        x = np.asarray(lam, dtype=float) / (self.heavy_rate_multiple * base_rate)
        return 1.0 / (1.0 + x ** self.heavy_response_steepness)

    def price_heaviness_weight(self, lam: np.ndarray, mean_rate: float) -> np.ndarray:
        """Weight in (0, 1] of the response to a price discount: ``1 / (1 + (lam / (m * mean_rate))^2)``."""
        x = np.asarray(lam, dtype=float) / (self.price_heavy_rate_multiple * mean_rate)
        return 1.0 / (1.0 + x * x)

    def erosion(self, weeks_since_enrolment: np.ndarray | float) -> np.ndarray:
        """Share of a programme effect left after enrolment (half-life, with a floor)."""
        age = np.maximum(np.asarray(weeks_since_enrolment, dtype=float), 0.0)
        decay = 0.5 ** (age / self.erosion_half_life_weeks)
        return self.erosion_floor + (1.0 - self.erosion_floor) * decay

    def distance_discount(self, weeks_to_reward: np.ndarray | float) -> np.ndarray:
        """Hyperbolic discount of a reward that is ``weeks_to_reward`` away."""
        return 1.0 / (1.0 + self.distance_discount_per_week * np.maximum(np.asarray(weeks_to_reward, float), 0.0))


def s_curve(x: np.ndarray | float, threshold: float, saturation: float) -> np.ndarray:
    """0 at or below ``threshold``, 1 at or above ``saturation``, smooth-step in between."""
    z = np.clip((np.asarray(x, dtype=float) - threshold) / (saturation - threshold), 0.0, 1.0)
    return z * z * (3.0 - 2.0 * z)


def parameter_table() -> pd.DataFrame:
    """The behavioural defaults as a DataFrame (name, default, unit, plausible range, source, assumption, prior)."""
    rows = []
    for p in PARAMETER_TABLE:
        row = {**dataclasses.asdict(p), "plausible": f"{p.plausible[0]:g} .. {p.plausible[1]:g}"}
        row["prior_weight"] = p.prior_shape
        row["prior"] = f"Beta-PERT({p.plausible[0]:g}, mode {p.default:g}, {p.plausible[1]:g}; weight {p.prior_shape:g})"
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def response_curves(depths: np.ndarray, params: BehaviourParams | None = None) -> pd.DataFrame:
    """The discount response model over depths: noticed share ``g(d)``, devaluation, mean demand multiplier.

    ``demand_price_sensitive`` etc. are the demand multipliers of a light buyer of each segment.
    """
    b = params or BehaviourParams()
    d = np.asarray(depths, dtype=float)
    out = pd.DataFrame({"depth": d, "noticed": b.discount_response(d), "devaluation": b.devaluation(d)})
    for k, seg in enumerate(("price_sensitive", "service_sensitive", "habitual")):
        out[f"demand_{seg}"] = [float(b.discount_demand(float(x), np.array([k]), np.array([1.0]))[0]) for x in d]
    return out


#: customers of a population's first granules that define its base (the same in every block)
BASE_SAMPLE = 16 * 4096


def base_mean_rate(population: Any) -> float:
    """Mean purchase rate of the population's base: its first customers (at most :data:`BASE_SAMPLE`).

    For an established population these are the customers alive at week 0 (survivors of dropout, who
    buy less often than new arrivals); for a single cohort, the cohort. Cached on the population.
    """
    cache = population.__dict__.setdefault("_base_mean_rate", {})
    if "rate" not in cache:
        cache["rate"] = float(_base_rates(population).mean())
    return cache["rate"]


def _base_rates(population: Any) -> np.ndarray:
    """Purchase rates of the population's base sample (cached: the uncertainty draws ask for many weights)."""
    cache = population.__dict__.setdefault("_base_mean_rate", {})
    if "lam" not in cache:
        cache["lam"] = population.traits(0, min(population.n_customers, BASE_SAMPLE)).lam
    return cache["lam"]


def base_mean_heaviness_weight(population: Any, params: "BehaviourParams") -> float:
    """Mean :meth:`BehaviourParams.heaviness_weight` over the population's base (cached)."""
    cache = population.__dict__.setdefault("_base_mean_rate", {})
    key = (params.heavy_rate_multiple, params.heavy_response_steepness)
    if key not in cache:
        cache[key] = float(params.heaviness_weight(_base_rates(population), base_mean_rate(population)).mean())
    return cache[key]

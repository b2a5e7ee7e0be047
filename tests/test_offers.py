"""Targeted-offer outcomes: audiences, the e-mail funnel and the paired uplift in the audience."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim.comparison import compare
from loyalty_sim.offers import funnel_frame, offer_outcomes
from loyalty_sim.scenario import find_scenario, load_scenario, run_scenario
from loyalty_sim.text.comparison import segment_sentence, targeting_sentence


@pytest.fixture(scope="module")
def offers_run():
    sc = load_scenario(find_scenario("targeted_offers"), customers=8192, weeks=70,
                       launch_week=26)
    return run_scenario(sc)


def test_outcomes_count_the_audience_and_the_funnel(offers_run):
    o = offer_outcomes(offers_run)
    assert set(o.index) == {"baby_by_affinity", "baby_life_event", "baby_untargeted", "fresh_post_hoc_till",
                            "fresh_pre_emptive", "offers"}
    assert o.loc["offers", "scheme"] == "points_plus_offers"
    email = o[o["emails_sent"] > 0]
    assert (email["emails_sent"] >= email["emails_opened"]).all()
    assert (email["emails_opened"] >= email["emails_clicked"]).all()
    assert (email["emails_clicked"] >= email["offers_converted"]).all()
    # every e-mail is an offer delivered; till offers send no e-mail
    np.testing.assert_allclose(email["emails_sent"], email["offers_delivered"])
    assert o.loc["fresh_post_hoc_till", "emails_sent"] == 0
    # e-mail audiences are opted-in customers only: an untargeted e-mail to all reaches about the opt-in share (40%)
    assert o.loc["fresh_pre_emptive", "audience_share"] == pytest.approx(0.40, abs=0.03)
    cust = offers_run.results["baby_untargeted"].customers
    assert o.loc["baby_untargeted", "audience"] == int(cust["in_audience:baby_untargeted"].sum())
    f = funnel_frame(o)
    assert set(f["stage"]) == {"sent", "opened", "clicked", "converted"}
    assert (f.loc[f["stage"] == "sent", "share_of_sent"] == 1.0).all()


def test_offers_move_only_their_audience_and_affinity_beats_untargeted(offers_run):
    o = offer_outcomes(offers_run)
    # same random numbers and no effect outside the audience: exactly no change there (for offers on
    # their own; the points part of a combination moves everyone)
    alone = o[o.index == o["scheme"]]
    assert len(alone) == 5 and (alone["purchases_uplift_others"].fillna(0.0) == 0.0).all()
    assert o.loc["offers", "purchases_uplift_others"] > 0
    # customers picked by their recorded category share respond more per offer than a random share
    per_offer = o["purchases_uplift_per_offer"]
    assert per_offer["baby_by_affinity"] > per_offer["baby_untargeted"]
    np.testing.assert_allclose(per_offer, o["purchases_uplift_audience"] * o["audience"] / o["offers_delivered"])
    assert o.loc["fresh_post_hoc_till", "purchases_uplift_audience"] > 0
    assert "moved its audience most" in targeting_sentence(o)


def test_segments_carry_retention_effects_with_intervals():
    sc = load_scenario(find_scenario("monetary_vs_perks"), customers=4096, weeks=60, launch_week=10, replications=2)
    seg = compare(sc).segments
    assert {"retention_effect", "retention_effect_ci_low", "retention_effect_ci_high"} <= set(seg.columns)
    d = seg.set_index(["scheme", "segment"])
    # perks act on service-sensitive customers, a discount on price-sensitive ones
    assert d.loc[("proactive_service", "service_sensitive"), "retention_effect"] > \
        d.loc[("proactive_service", "price_sensitive"), "retention_effect"]
    assert d.loc[("discount20", "price_sensitive"), "purchases_effect"] > \
        d.loc[("discount20", "habitual"), "purchases_effect"]
    text = segment_sentence(seg)
    assert text.count("\n") == 3 and "price sensitive" in text

"""The schemes' compiled per-customer steps give the bits of the numpy formulations they replaced."""

import numpy as np

from loyalty_sim.schemes.common import _goal_gradient, _value_effects
from loyalty_sim.schemes.tiers import _roll_window, _tier_effects


def _numpy_value_effects(idx, fade, response, member, rate_sens, dropout_sens):
    g = fade * response
    g = np.where(member, g, 0.0)
    rate = rate_sens[idx] * g
    rate += 1.0
    dropout = dropout_sens[idx] * g
    return rate, np.subtract(1.0, dropout)


def _numpy_goal_gradient(idx, progress, last_progress, cycled, lightness, g, big_h):
    p = np.clip(progress, 0.0, 1.0)
    last = last_progress[idx] - 1e-12
    went_back = cycled[idx] | (p < last)
    cycled[idx] = went_back
    last_progress[idx] = p
    den = np.where(went_back, 1.0, p) * lightness[idx] * (big_h - 1.0) + 1.0
    return (g * p + 1.0) / den


def test_value_effects_match_the_numpy_steps():
    rng = np.random.default_rng(4)
    n = 5000
    idx = np.sort(rng.choice(8000, n, replace=False))
    fade, response = rng.random(n), rng.random(n)
    member = rng.random(n) < 0.7
    rate_sens = rng.normal(1.0, 0.8, 8000)  # some negative: x = 0 gives -0.0, then + 1.0
    dropout_sens = rng.random(8000) * 0.9
    got = _value_effects(idx, fade, response, member, rate_sens, dropout_sens, np.ones(0), False, True)
    want = _numpy_value_effects(idx, fade, response, member, rate_sens, dropout_sens)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, want))


def test_goal_gradient_matches_the_numpy_steps_and_records_the_progress():
    rng = np.random.default_rng(8)
    n_block = 9000
    idx = np.sort(rng.choice(n_block, 6000, replace=False))
    lightness = rng.random(n_block)
    state = [rng.random(n_block), rng.random(n_block) < 0.2]  # last progress, went back before
    copies = [a.copy() for a in state]
    for _week in range(4):  # progress rises and sometimes falls back (a reward)
        progress = rng.uniform(-0.2, 1.3, idx.size)
        progress[:3] = [np.nan, -0.0, 1.0]
        got = _goal_gradient(idx, progress, state[0], state[1], lightness, 0.6, 1.21)
        want = _numpy_goal_gradient(idx, progress, copies[0], copies[1], lightness, 0.6, 1.21)
        assert got.tobytes() == want.tobytes()
        assert state[0].tobytes() == copies[0].tobytes() and np.array_equal(state[1], copies[1])
    assert state[1][idx].any() and not state[1][idx].all()


def test_value_effects_with_a_pull_multiply_the_members_rate_only():
    rng = np.random.default_rng(6)
    idx = np.sort(rng.choice(3000, 2000, replace=False))
    fade, response, member = rng.random(idx.size), rng.random(idx.size), rng.random(idx.size) < 0.6
    rate_sens, dropout_sens, pull = rng.random(3000) * 2, rng.random(3000), 1.0 + rng.random(3000)
    rate, dropout = _value_effects(idx, fade, response, member, rate_sens, dropout_sens, pull, True, True)
    want_rate, want_dropout = _numpy_value_effects(idx, fade, response, member, rate_sens, dropout_sens)
    want_rate *= np.where(member, pull[idx], 1.0)
    assert rate.tobytes() == want_rate.tobytes() and dropout.tobytes() == want_dropout.tobytes()
    by_element, _ = _value_effects(idx, fade, response, member, rate_sens, dropout_sens, pull[idx], True, False)
    assert by_element.tobytes() == rate.tobytes()


def test_rolling_window_matches_the_numpy_steps():
    rng = np.random.default_rng(12)
    n_block = 7000
    idx = np.sort(rng.choice(n_block, 5000, replace=False))
    row = (rng.random(n_block) * 30).astype(np.float32)
    row[rng.random(n_block) < 0.5] = 0
    total = rng.random(n_block) * 200
    level = rng.integers(0, 3, n_block).astype(np.int16)
    promote_at = np.array([50.0, 150.0, np.inf])
    fresh = np.where(rng.random(idx.size) < 0.3, rng.gamma(2.0, 8.0, idx.size), 0.0)
    fresh[:2] = np.nan, 0.0
    want_row, want_total = row.copy(), total.copy()
    change = fresh - want_row[idx]
    want_total[idx] += change
    want_row[idx] = fresh
    want_moved = idx[np.flatnonzero(change != 0)]
    cand = idx[np.flatnonzero(~(change <= 0))]
    want_cand = cand[np.flatnonzero(~(want_total[cand] < promote_at[level[cand]]))]
    moved, cand = _roll_window(idx, fresh, row, total, promote_at, level)
    assert np.array_equal(moved, want_moved) and np.array_equal(cand, want_cand) and 0 < cand.size < moved.size
    assert row.tobytes() == want_row.tobytes() and total.tobytes() == want_total.tobytes()


def test_tier_effects_match_the_numpy_steps():
    rng = np.random.default_rng(13)
    n_block, k = 6000, 3
    idx = np.sort(rng.choice(n_block, 4000, replace=False))
    member = rng.random(idx.size) < 0.8
    fade = rng.random(idx.size)
    level = rng.integers(0, k, n_block).astype(np.int16)
    value_response, status_cut, perk_value = rng.random(k), rng.random(k) * 0.2, rng.random(k)
    dropout_sens, perk_sens = rng.random(n_block), rng.random(n_block) * 0.3
    demoted = rng.random(n_block) < 0.1
    tier_rate, tier_ticket, tier_discount = 1 + rng.random(n_block), 1 + rng.random(n_block), rng.random(n_block) * 0.1
    got = _tier_effects(idx, member, fade, level, value_response, dropout_sens, status_cut, perk_sens, perk_value,
                        demoted, 1.0 + 0.35, tier_rate, tier_ticket, tier_discount)
    lvl = level[idx].astype(np.intp)
    _, value = _numpy_value_effects(idx, fade, value_response[lvl], member, dropout_sens, dropout_sens)
    dropout = value * (1.0 - status_cut[lvl]) * (1.0 - perk_sens[idx] * perk_value[lvl]) * np.where(demoted[idx], 1.0 + 0.35, 1.0)
    want = (np.where(member, tier_rate[idx], 1.0), np.where(member, dropout, 1.0),
            np.where(member, tier_ticket[idx], 1.0), np.where(member, tier_discount[idx], 0.0))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, want))


def test_points_reward_terms_match_the_numpy_steps_for_every_rule():
    from loyalty_sim.behaviour import BehaviourParams
    from loyalty_sim.schemes.points import _reward_terms

    rng = np.random.default_rng(21)
    b = BehaviourParams()
    n_block = 6000
    idx = np.sort(rng.choice(n_block, 4000, replace=False))
    old, new = np.floor(rng.random(n_block) * 300), np.floor(rng.random(n_block) * 80)
    old[:50] = new[:50] = 0.0
    per_week = rng.gamma(1.0, 3.0, n_block)
    per_week[50:60] = 0.0  # floored at 1e-9 points a week
    target, base_value = 100.0 + np.floor(rng.random(n_block) * 400), rng.random(n_block) * 0.2
    redeemed = rng.random(n_block) < 0.3
    mult = 1.0 + rng.random(idx.size)
    for rule, unit in ((0, 0.0), (1, 150.0), (2, 0.0)):
        z, progress = _reward_terms(idx, old, new, per_week, mult, rule, target, unit, base_value,
                                    b.distance_discount_per_week, b.reward_threshold,
                                    b.reward_saturation - b.reward_threshold, redeemed, b.post_reward_residual)
        bal = old[idx] + new[idx]
        rate_pts = np.maximum(per_week[idx] * mult, 1e-9)
        if rule == 0:
            need, prog = np.maximum(target[idx] - bal, 0.0), bal / target[idx]
        elif rule == 1:
            need, prog = np.maximum(unit - np.mod(bal, unit), 0.0), np.mod(bal, unit) / unit
        else:
            need, prog = np.zeros(idx.size), None
        v = base_value[idx] * mult * b.distance_discount(need / rate_pts)
        assert b.reward_curve(z).tobytes() == b.reward_response(v).tobytes()
        if prog is not None:
            residual = np.where(redeemed[idx], b.post_reward_residual, 0.0)
            assert progress.tobytes() == np.maximum(np.clip(prog, 0, 1), residual).tobytes()


def _numpy_settle(st, idx, member, purchases, gross, bill, mult, u, week, rule, unit, p_redeem, share, bonus,
                  pv, earn_rate, keeps, granule_of, ng):
    """The points settlement as numpy did it before it was compiled (state ``st``: a dict of arrays)."""
    mpos = np.flatnonzero(member)
    m_idx, buys_m, spend_m, pay_m = idx[mpos], purchases[mpos], gross[mpos], bill[mpos]
    act = np.flatnonzero((buys_m > 0) | (spend_m != 0) | (pay_m != 0))
    apos, a_idx = mpos[act], m_idx[act]
    buys, spend, to_pay = buys_m[act], spend_m[act], pay_m[act]
    bal = st["old"][a_idx] + st["new"][a_idx]
    at_till = buys > 0
    if rule == "tiered":
        target = st["target_points"][a_idx]
        go = at_till & (bal >= target)
        retail = np.where(go, st["target_value"][a_idx], 0.0)
        redeem, money_off, cost = np.where(go, target, 0.0), np.zeros(a_idx.size), retail * share
    else:
        step = unit if rule == "minimum_unit" else 0.0
        usable = np.floor(bal / step) * step if step else bal
        go = at_till & (usable > 0) & (u[a_idx] < p_redeem) & (pv > 0)
        value = np.minimum(usable * pv, to_pay)
        pts = value / pv if pv > 0 else np.zeros_like(value)
        if step:
            pts = np.floor(pts / step + 1e-9) * step
        redeem = np.where(go, pts, 0.0)
        money_off, retail, cost = redeem * pv, np.zeros(a_idx.size), np.zeros(a_idx.size)
    done = redeem > 0
    red = a_idx[done]
    from_old = np.minimum(st["old"][red], redeem[done])
    st["old"][red] -= from_old
    st["new"][red] -= redeem[done] - from_old
    st["new"][red] = np.maximum(st["new"][red], 0.0)
    st["ever"][red] = True
    st["redeemed"][red] += redeem[done]
    refill = np.zeros(a_idx.size)
    if rule == "refill":
        empty = done & (st["old"][a_idx] + st["new"][a_idx] < unit) & st["since"][a_idx]
        refill = np.where(empty, bonus, 0.0)
        st["new"][a_idx[empty]] += bonus
        st["since"][a_idx[empty]] = False
    m = np.ones(a_idx.size) if mult is None else mult[apos]
    earned = np.floor(earn_rate * np.maximum(to_pay - money_off, 0.0) * m + 1e-9)
    st["new"][a_idx] += earned
    if keeps:
        st["spend"][a_idx] += spend
        first = (st["first"][a_idx] < 0) & (buys > 0)
        st["first"][a_idx[first]] = week
        st["count"][a_idx] += buys
    if keeps or rule == "refill":
        earners = a_idx[earned > 0]
        st["last"][earners] = week
        if rule == "refill":
            st["since"][earners] = True
    issued = earned + refill
    st["earned"][a_idx] += issued
    g = granule_of[a_idx]

    def by_granule(v):
        return np.bincount(g, weights=v, minlength=ng).astype(float)

    def spread(v):
        full = np.zeros(idx.size)
        full[apos] = v
        return full

    after = st["old"][a_idx] + st["new"][a_idx]
    return ((spread(money_off), spread(retail), spread(cost), spread(issued), spread(redeem)),
            tuple(by_granule(v) for v in (issued, redeem, done.astype(float), refill, after, bal)), a_idx)


def test_points_settlement_matches_the_numpy_steps_for_every_rule():
    from loyalty_sim.schemes.points import _ONE, _REDEEM_CODES, _settle_members
    rng = np.random.default_rng(12)
    n_block, ng = 6000, 3
    granule_of = np.minimum(np.arange(n_block) // 2048, ng - 1).astype(np.int32)
    for rule in ("tiered", "minimum_unit", "free", "refill"):
        for linear in (True, False):
            unit, pv = (100.0, 0.01) if rule == "minimum_unit" else (20.0, 0.02)
            state = {"old": np.floor(rng.random(n_block) * 60), "new": np.floor(rng.random(n_block) * 200),
                     "target_points": rng.choice([50.0, 150.0], n_block), "target_value": rng.choice([2.0, 7.0], n_block),
                     "ever": rng.random(n_block) < 0.3, "redeemed": rng.random(n_block) * 9,
                     "earned": rng.random(n_block) * 30, "since": rng.random(n_block) < 0.5,
                     "spend": rng.random(n_block) * 80, "first": rng.choice([-1, 3], n_block),
                     "count": rng.integers(0, 5, n_block), "last": rng.choice([-1, 2], n_block)}
            copy = {k: v.copy() for k, v in state.items()}
            for week in range(5, 9):  # balances carry from week to week
                idx = np.sort(rng.choice(n_block, 4000, replace=False))
                member = rng.random(idx.size) < 0.8
                purchases = rng.poisson(0.6, idx.size)
                gross = np.where(purchases > 0, rng.gamma(2.0, 9.0, idx.size) * purchases, 0.0)
                bill = gross * np.where(rng.random(idx.size) < 0.2, 0.9, 1.0)
                gross[:2], bill[2] = 0.0, 4.0  # spent nothing / paid without a purchase: still settled
                mult = None if linear else rng.choice([1.0, 1.5, 2.0], idx.size)
                u = rng.random(n_block)
                if week == 5:
                    marks, marked = np.zeros(n_block, dtype=bool), np.zeros(0, dtype=np.int64)
                got = _settle_members(idx, member, purchases, gross, bill, linear, _ONE if linear else mult, u, week,
                                      _REDEEM_CODES[rule], unit, 0.4, 0.5, 10.0, pv, 1.0, state["target_points"],
                                      state["target_value"], not linear, not linear, not linear, not linear,
                                      state["old"], state["new"], state["ever"], state["redeemed"], state["earned"],
                                      state["since"], state["spend"], state["first"], state["count"], state["last"],
                                      granule_of, ng, week != 6, marks)
                want = _numpy_settle(copy, idx, member, purchases, gross, bill, mult, u, week, rule, unit, 0.4, 0.5,
                                     10.0, pv, 1.0, not linear, granule_of, ng)
                # kept per sale: money off (not tiered: the tiered rule has none), rewards (tiered: the others have
                # none), points moved (for the log: not in week 6)
                kept = (rule != "tiered", rule == "tiered", rule == "tiered", week != 6, week != 6)
                for j, (a, b, k) in enumerate(zip(got[0], want[0], kept)):
                    assert a.tobytes() == b.tobytes() if k else (a.size == 0 and (j > 2 or not b.any())), (rule, week)
                assert np.array_equal(np.flatnonzero(marks), np.union1d(marked, got[2]))
                marked = got[2] if week == 5 else np.union1d(marked, got[2])
                assert all(a.tobytes() == b.tobytes() for a, b in zip(got[1], want[1])), (rule, linear, week)
                assert np.array_equal(got[2], want[2])
                for key in state:
                    assert state[key].tobytes() == copy[key].tobytes(), (rule, linear, key)
                assert want[1][2].sum() > 0  # some redeemed: the paths that change balances ran


def test_membership_and_value_effects_in_one_pass_match_the_numpy_steps():
    from loyalty_sim.schemes.common import _member_value_effects
    rng = np.random.default_rng(14)
    n_block, weeks, week = 7000, 30, 12
    idx = np.sort(rng.choice(n_block, 5000, replace=False))
    code = rng.integers(0, weeks + 1, n_block).astype(np.intp)  # code ``weeks``: never enrolled
    erosion = rng.random(weeks + 1)
    response, pull = rng.random(n_block), 1.0 + rng.random(n_block)
    rate_sens = rng.normal(1.0, 0.8, n_block)
    dropout_sens = rng.random(n_block) * 0.9
    ever = rng.random(n_block) < 0.1
    want_ever = ever.copy()
    member = code[idx] <= week
    want_ever[idx[member]] = True
    rate, dropout = _numpy_value_effects(idx, erosion[code[idx]], response[idx], member, rate_sens, dropout_sens)
    rate = np.where(member, rate * pull[idx], rate)
    got = _member_value_effects(idx, code, week, erosion, response, rate_sens, dropout_sens, pull, True, ever)
    assert np.array_equal(got[0], member) and 0 < member.sum() < member.size
    assert got[1].tobytes() == rate.tobytes() and got[2].tobytes() == dropout.tobytes()
    assert np.array_equal(ever, want_ever)


def test_card_effects_match_the_numpy_steps():
    from loyalty_sim.schemes.stamp_card import _card_effects
    rng = np.random.default_rng(16)
    n_block, required = 5000, 10
    for head_start, holds in ((0, True), (2, True), (2, False)):
        stamps = rng.integers(head_start, required, n_block)
        rate, value_response = rng.random(n_block) * 3 + 1e-6, rng.random(n_block)
        completed = rng.integers(0, 3, n_block)
        lightness, pull = rng.random(n_block), rng.random(n_block) < 0.8
        state = [rng.random(n_block), rng.random(n_block) < 0.2]
        copies = [a.copy() for a in state]
        got = [np.zeros(n_block), np.ones(n_block)]
        pos = np.sort(rng.choice(n_block, 3000, replace=False))
        _card_effects(pos, holds, stamps, head_start, required, rate, 0.05, value_response, completed, 0.3,
                      state[0], state[1], lightness, 0.6, 1.21, 1.07, pull, False, got[0], got[1])
        card = stamps[pos] if holds else np.full(pos.size, head_start, dtype=np.int64)
        want_response = 1.0 / (1.0 + 0.05 * np.maximum((required - card) / rate[pos], 0.0)) * value_response[pos]
        progress = np.maximum(card / (required - 1), (completed[pos] > 0) * 0.3)
        gg = _numpy_goal_gradient(pos, progress, copies[0], copies[1], lightness, 0.6, 1.21)
        if head_start:
            gg = gg * 1.07
        want_pull = np.where(pull[pos], gg, 1.0) if holds else np.ones(pos.size)
        assert got[0][pos].tobytes() == want_response.tobytes() and got[1][pos].tobytes() == want_pull.tobytes()
        assert state[0].tobytes() == copies[0].tobytes() and np.array_equal(state[1], copies[1])


def test_tier_goal_and_kept_effects_match_the_numpy_steps():
    from loyalty_sim.schemes.tiers import _kept_effects, _regoal
    rng = np.random.default_rng(18)
    n_block, k = 6000, 3
    level = rng.integers(0, k, n_block).astype(np.int16)
    total, goal = rng.random(n_block) * 900, np.array([250.0, 600.0, 600.0])
    pulls, tier_rate = np.array([True, True, False]), 1.0 + rng.random(n_block)
    demoted, lightness = rng.random(n_block) < 0.1, rng.random(n_block)
    state = [rng.random(n_block), rng.random(n_block) < 0.2]
    copies = [a.copy() for a in state]
    pos = np.sort(rng.choice(n_block, 4000, replace=False))
    rate = np.zeros(n_block)
    _regoal(pos, level, total, goal, pulls, tier_rate, demoted, 0.9, state[0], state[1], lightness, 0.6, 1.21, rate)
    lvl = level[pos].astype(np.intp)
    gg = _numpy_goal_gradient(pos, total[pos] / goal[lvl], copies[0], copies[1], lightness, 0.6, 1.21)
    want = tier_rate[pos] * np.where(pulls[lvl], gg, 1.0)
    want[demoted[pos]] *= 0.9
    assert rate[pos].tobytes() == want.tobytes()
    assert state[0].tobytes() == copies[0].tobytes() and np.array_equal(state[1], copies[1])
    code, ever = rng.integers(0, 31, n_block).astype(np.intp), np.zeros(n_block, dtype=bool)
    kept = [rng.random(n_block) for _ in range(4)]
    member, *got = _kept_effects(pos, code, 12, ever, *kept)
    m = code[pos] <= 12
    assert np.array_equal(member, m) and np.array_equal(np.flatnonzero(ever), pos[m])
    for a, src, other in zip(got, kept, (1.0, 1.0, 0.0, 1.0)):
        assert a.tobytes() == np.where(m, src[pos], other).tobytes()


def test_card_filling_matches_the_numpy_steps():
    from loyalty_sim.schemes.stamp_card import _NO_HEAD, _card_effects, _fill_cards
    rng = np.random.default_rng(21)
    n_block, n_idx, n_granules, required = 6000, 4000, 5, 10
    for head_start in (0, 3):
        idx = np.sort(rng.choice(n_block, n_idx, replace=False))
        bpos = np.sort(rng.choice(n_idx, 2500, replace=False))
        b_idx = idx[bpos]
        earned = rng.integers(0, 25, bpos.size)  # some fill two or more cards at once
        head = rng.integers(0, 2, bpos.size) * float(head_start)
        granule_of = np.sort(rng.integers(0, n_granules, n_block))
        state = {"stamps": rng.integers(head_start, required, n_block), "completed": rng.integers(0, 3, n_block),
                 "start": rng.integers(-1, 20, n_block), "last": rng.random(n_block), "cycled": rng.random(n_block) < 0.2,
                 "response": np.zeros(n_block), "pull": np.ones(n_block)}
        want = {k: v.copy() for k, v in state.items()}
        rate, value_response = rng.random(n_block) * 3 + 1e-6, rng.random(n_block)
        lightness, pulls = rng.random(n_block), rng.random(n_block) < 0.8
        card_args = (head_start, required, rate, 0.05, value_response)
        gg_args = (0.3, None, None, lightness, 0.6, 1.21, 1.07 if head_start else 1.0, pulls, False)
        got = _fill_cards(bpos, b_idx, earned, head if head_start else _NO_HEAD, bool(head_start), n_idx, 30, 4.5, 1.2,
                          state["completed"], state["start"], granule_of, n_granules, state["stamps"], *card_args,
                          0.3, state["last"], state["cycled"], *gg_args[3:], state["response"], state["pull"])
        # the numpy steps the kernel replaced
        w_head = head.copy()
        st = want["stamps"][b_idx] + earned
        want["stamps"][b_idx] = st
        step = required - head_start
        has = np.flatnonzero(st >= required)
        over = st[has] - required
        full = 1 + over // step
        r_idx = b_idx[has]
        want["stamps"][r_idx] = head_start + over % step
        want["completed"][r_idx] += full
        want["start"][r_idx] = 30
        if head_start:
            w_head[has] += full * head_start
        rewards = full.astype(float)
        retail, cost = np.zeros(n_idx), np.zeros(n_idx)
        retail[bpos[has]], cost[bpos[has]] = rewards * 4.5, rewards * 1.2
        issued = earned if not head_start else earned + w_head
        _card_effects(b_idx, True, want["stamps"], *card_args, want["completed"], 0.3, want["last"], want["cycled"],
                      *gg_args[3:], want["response"], want["pull"])
        all_rewards = np.zeros(bpos.size)
        all_rewards[has] = rewards
        assert 0 < has.size < bpos.size and (full > 1).any()
        assert got[0].tobytes() == retail.tobytes() and got[1].tobytes() == cost.tobytes()
        assert got[2].tobytes() == all_rewards.tobytes() and np.array_equal(got[3], issued)
        assert np.array_equal(got[4], np.bincount(granule_of[r_idx], weights=rewards, minlength=n_granules))
        assert np.array_equal(got[5], np.bincount(granule_of[b_idx], weights=issued, minlength=n_granules))
        assert got[6] == has.size
        for k in state:
            assert state[k].tobytes() == want[k].tobytes(), k


def test_tier_counts_match_the_numpy_steps():
    from loyalty_sim.schemes.tiers import _counts_above_base
    rng = np.random.default_rng(22)
    n_block, k, ng = 5000, 4, 6
    level = rng.integers(0, k, n_block).astype(np.int16)
    granule_of = np.sort(rng.integers(0, ng, n_block))
    idx = np.sort(rng.choice(n_block, 3000, replace=False))
    held = level[idx]
    up = np.flatnonzero(held != 0)
    want = np.bincount(held[up].astype(np.intp) * ng + granule_of[idx[up]], minlength=k * ng).reshape(k, ng)
    got = _counts_above_base(idx, level, granule_of, k, ng)
    assert np.array_equal(got, want.astype(float)) and got[0].sum() == 0 and got[1:].sum() == up.size


def test_kept_points_responses_match_the_numpy_steps():
    from loyalty_sim.schemes.points import _keep_responses
    rng = np.random.default_rng(23)
    n_block = 5000
    changed = np.sort(rng.choice(n_block, 2000, replace=False))
    response, progress = rng.random(changed.size), rng.random(changed.size) * 1.2 - 0.1
    pull, lightness = rng.random(n_block) < 0.7, rng.random(n_block)
    state = [rng.random(n_block), rng.random(n_block) < 0.2, np.zeros(n_block), np.zeros(n_block)]
    copies = [a.copy() for a in state]
    _keep_responses(changed, response, progress, True, state[2], state[3], pull, state[0], state[1], lightness,
                    0.6, 1.21)
    copies[2][changed] = response
    gg = _numpy_goal_gradient(changed, progress, copies[0], copies[1], lightness, 0.6, 1.21)
    copies[3][changed] = np.where(pull[changed], gg, 1.0)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(state, copies))
    kept = np.zeros(n_block)
    _keep_responses(changed, response, response, False, kept, kept, pull, state[0], state[1], lightness, 0.6, 1.21)
    assert state[0].tobytes() == copies[0].tobytes() and np.array_equal(kept[changed], response)


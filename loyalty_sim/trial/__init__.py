"""Trial periods: design a pilot (power, sample size, assignment) and review one from a log.

Modules, in the order they build on each other
----------------------------------------------
estimators
    Unit-level effect estimators: difference in differences, CUPED, store clustering.
outcomes
    What a pilot measures, shared by design and review: outcome definitions, groups,
    the pilot window, a log's per-customer totals, the scheme and population to
    simulate, and simulated outcomes by common random numbers.
assignment
    Stratified random assignment of customers or stores, writing and reading
    assignment files, and the home-store rule.
power
    Design effect, analytic MDE and power, ICC, store summaries, power by
    re-randomisation, and the power of a design at every candidate.
design
    :func:`~loyalty_sim.trial.design.design_trial` and
    :func:`~loyalty_sim.trial.design.design_trial_from_log` (a pilot for a log's
    customers), and :class:`~loyalty_sim.trial.design.TrialDesign`.
checks
    The guard checks of a review: pre-trend, event study, sample ratio, balance,
    activity, ids, self-selection.
review
    :func:`~loyalty_sim.trial.review.review_trial` as a list of named steps,
    :class:`~loyalty_sim.trial.review.TrialReview`, money and the verdict.
design_cli, review_cli
    The ``loyalty-sim trial design`` and ``trial review`` commands (parsing and printing).

The sentences and tables a reader sees are in :mod:`loyalty_sim.text.trial`.
"""

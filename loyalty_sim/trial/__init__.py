"""Trial periods: design a pilot (power, sample size, assignment) and review one from a log.

Modules
-------
estimators
    Unit-level effect estimators: difference in differences, CUPED, store clustering.
design
    Power and minimum detectable effect by simulation and analytically; stratified
    random assignment files.
review
    The review of a pilot from a transaction log and an assignment file: effects with
    intervals, guard checks, money and a prose summary.
"""

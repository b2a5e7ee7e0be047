"""Buy-till-you-die models: BG/NBD, Pareto/NBD and Gamma-Gamma on an RFM summary.

One module per model, on a shared maximum-likelihood base:

============================  ===================================================================
:mod:`~.btyd.rfm`             RFM summaries of a tidy log (``frequency``, ``recency``, ``T``,
                              ``monetary_value``) and the streaming accumulators behind them
:mod:`~.btyd._mle`            data patterns, multi-start L-BFGS-B in log coordinates, Hessian
                              standard errors, :class:`FitResult`
:mod:`~.btyd.bgnbd`           BG/NBD likelihood, fit, E[X(t)], pmf, P(alive), conditional E
:mod:`~.btyd.pareto_nbd`      Pareto/NBD likelihood, fit and predictions
:mod:`~.btyd.gamma_gamma`     Gamma-Gamma likelihood, fit and expected spend
:mod:`~.btyd.dispatch`        by model name: :func:`fit_model`, :func:`fit_models`, predictions, CLV
:mod:`~.btyd.holdout`         holdout tracking, conditional expectations by frequency, accuracy
============================  ===================================================================

The fits work on an RFM summary (:func:`loyalty_sim.btyd.rfm.rfm_summary`): ``frequency``
(repeat transactions), ``recency`` and ``T`` in one time unit (weeks by default) and,
for Gamma-Gamma, ``monetary_value`` (mean of the repeat transactions). Nothing in this
package reads files; :mod:`loyalty_sim.calibration` reads a shop's log and calls it.
"""

from __future__ import annotations

from .._lazy import lazy_exports

#: Public name -> the submodule that defines it. Names load on first use (PEP 562), so that
#: importing one submodule (``btyd.rfm`` for a log summary) does not load the optimiser.

_WHERE = {
    "MODELS": "_mle",
    "PARAM_NAMES": "_mle",
    "TRANSACTION_MODELS": "_mle",
    "FitResult": "_mle",
    "bgnbd_conditional_expected_transactions": "bgnbd",
    "bgnbd_expected_transactions": "bgnbd",
    "bgnbd_log_likelihood": "bgnbd",
    "bgnbd_pmf": "bgnbd",
    "bgnbd_probability_alive": "bgnbd",
    "fit_bgnbd": "bgnbd",
    "NotFitted": "dispatch",
    "conditional_expected_transactions": "dispatch",
    "customer_lifetime_value": "dispatch",
    "expected_transactions": "dispatch",
    "fit_model": "dispatch",
    "fit_models": "dispatch",
    "fit_table": "dispatch",
    "probability_alive": "dispatch",
    "fit_gamma_gamma": "gamma_gamma",
    "gamma_gamma_expected_spend": "gamma_gamma",
    "gamma_gamma_log_likelihood": "gamma_gamma",
    "gamma_gamma_mean_spend": "gamma_gamma",
    "conditional_expectations_by_frequency": "holdout",
    "holdout_tracking": "holdout",
    "fit_pareto_nbd": "pareto_nbd",
    "pareto_nbd_conditional_expected_transactions": "pareto_nbd",
    "pareto_nbd_expected_transactions": "pareto_nbd",
    "pareto_nbd_log_likelihood": "pareto_nbd",
    "pareto_nbd_probability_alive": "pareto_nbd",
    "rfm_summary": "rfm",
}

__all__ = [
    "MODELS", "PARAM_NAMES", "TRANSACTION_MODELS", "FitResult", "NotFitted",
    "fit_bgnbd", "fit_pareto_nbd", "fit_gamma_gamma", "fit_model", "fit_models", "fit_table",
    "bgnbd_log_likelihood", "pareto_nbd_log_likelihood", "gamma_gamma_log_likelihood",
    "bgnbd_expected_transactions", "bgnbd_pmf", "bgnbd_conditional_expected_transactions",
    "bgnbd_probability_alive",
    "pareto_nbd_expected_transactions", "pareto_nbd_conditional_expected_transactions",
    "pareto_nbd_probability_alive",
    "gamma_gamma_expected_spend", "gamma_gamma_mean_spend",
    "expected_transactions", "conditional_expected_transactions", "probability_alive",
    "customer_lifetime_value", "holdout_tracking", "conditional_expectations_by_frequency",
    "rfm_summary",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)

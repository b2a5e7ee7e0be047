"""The words of "your customers": counts reconciled, the holdout check, and what is assumed.

Every output built on a log (``simulate --log``, ``compare --log``, ``trial design --log``,
``fit``, reports 01, 02, 03, 05 and 06) states these sentences, from
:meth:`loyalty_sim.calibration.calibrate.CalibratedPopulation.describe`. No customer id appears.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..population import SEGMENTS
from .format import number, percent

__all__ = ["assumptions_sentence", "calibration_statements", "your_customers_markdown", "counts_sentence", "fit_check_sentence",
           "holdout_sentence"]

_FIELD_WORDS = {"segment_mix": "segment mix", "catalogue": "categories", "affinity_concentration":
                "category affinity spread", "life_events": "life events", "email_opt_in": "e-mail opt-in",
                "email_open_rate": "e-mail open rate", "email_click_rate": "e-mail click rate",
                "email_concentration": "e-mail propensity spread", "spend_p": "spend model p",
                "spend_q": "spend model q", "spend_gamma": "spend model gamma"}


def _count(n: Any) -> str:
    return number(n, 0)


def counts_sentence(counts: Mapping[str, Any]) -> str:
    """Customers in the log -> summarised -> fitted -> alive at its end -> simulated, in one paragraph."""
    from .log_reading import reconciliation_text

    head = reconciliation_text(counts).split("\n")[0]
    rows = ""
    if counts.get("log_rows") is not None:
        rows = f" Read: {_count(counts['log_rows'])} purchase rows"
        if counts.get("duplicates_kept"):
            rows += f", {_count(counts['duplicates_kept'])} exact duplicate rows kept as repeat purchases"
        if counts.get("duplicates_dropped"):
            rows += f", {_count(counts['duplicates_dropped'])} exact duplicate rows dropped"
        rows += "."
    tail = (f" -> {_count(counts['alive_at_end'])} expected still active at the log's end (of the "
            f"{_count(counts['customers_at_end'])} it has seen, by the fit's chance that each is still a customer)"
            f" -> {_count(counts['simulated'])} simulated at week 0")
    scale = counts.get("scale", 1.0)
    if abs(scale - 1.0) > 1e-9:
        tail += (f" ({number(scale, 2)} times the active base: every count of the simulation is for "
                 f"{_count(counts['simulated'])} customers, not the shop's {_count(counts['default_size'])})")
    return head[0].upper() + head[1:] + tail + "." + rows


def holdout_sentence(check: Mapping[str, Any]) -> str:
    """"The fitted customers predicted 1,234 purchases in the holdout; there were 1,190 (+3.7%)"."""
    if check.get("predicted") is None or check.get("actual") is None:
        return "The fit was not checked on a holdout period (give a calibration end to check it)."
    after = f" after {check['calibration_end']}" if check.get("calibration_end") else ""
    text = (f"The fitted customers predicted {_count(check['predicted'])} repeat purchases in the holdout{after}; there "
            f"were {_count(check['actual'])} ({percent(check.get('relative_error'), 1, sign=True)}, "
            f"{_model_words(check.get('model'))})")
    if check.get("simulated_error") is not None:
        text += (f"; the simulation runs BG/NBD customers, whose holdout error is "
                 f"{percent(check['simulated_error'], 1, sign=True)}")
    return text + "."


def _model_words(label: Any) -> str:
    return {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}.get(str(label), str(label))


def fit_check_sentence(check: Mapping[str, Any]) -> str:
    """Whether the fit is good enough to decide on, and if not why, in plain words."""
    if check.get("good_enough"):
        return (f"The fit is close enough to decide on (holdout within {percent(check['max_error'], 0)}, "
                f"{_count(check['repeat_customers'])} repeat customers).")
    return ("Do not decide on this fit yet: " + "; ".join(check.get("reasons", [])) + ". Results below describe "
            "simulated customers that may not behave like yours; a longer log or a pilot would settle it.")


def _value_words(key: str, value: Any) -> str:
    if key == "segment_mix":
        return " / ".join(f"{percent(value.get(s, 0.0), 0)} {s.replace('_', '-')}" for s in SEGMENTS)
    if key == "catalogue":
        return ", ".join(f"{c} {percent(v, 0)}" for c, v in list(value.items())[:6]) + (" ..." if len(value) > 6 else "")
    if key == "life_events":
        return ", ".join(e["name"] if isinstance(e, Mapping) else str(getattr(e, "name", e)) for e in value) or "none"
    if key in ("email_opt_in", "email_open_rate", "email_click_rate"):
        return percent(value, 1)
    return number(value, 3)


def assumptions_sentence(shop: Any) -> str:
    """"Assumed from preset grocery: segment mix ...; e-mail opt-in 40.0%; ...", and what came from the log."""
    shown = [k for k in _FIELD_WORDS if k in shop.assumed]
    fill = f"preset {shop.fill_from}"
    text = f"Assumed from {fill} (a log cannot show them): " + "; ".join(
        f"{_FIELD_WORDS[k]} {_value_words(k, shop.assumed[k])}" for k in shown) + "."
    known = ["purchase and dropout rates (BG/NBD)"]
    known.append("spend per visit (Gamma-Gamma)" if shop.spend_from_log else None)
    if shop.categories_from_log:
        known.append(f"the shop's own {len(shop.params.catalogue)} categories and customers' affinities")
    if shop.survey:
        known.append("the segment mix (survey)")
    known.append(f"new customers ({number(shop.arrivals_per_week, 1)} a week over the log's last "
                 f"{number(shop.arrival_weeks, 0)} weeks)")
    text += " From the log: " + ", ".join(k for k in known if k) + "."
    if not shop.spend_from_log:
        text += f" The spend model could not be fitted and is also assumed from {fill}."
    return text


def calibration_statements(cal: Any, size: int | None = None) -> list[str]:
    """The sentences every output on a log states: counts, holdout, fit check, assumptions."""
    check = cal.fit_check()
    return [counts_sentence(cal.counts(size)), holdout_sentence(check), fit_check_sentence(check),
            assumptions_sentence(cal.shop)]


def your_customers_markdown(cal: Any, size: int | None = None) -> str:
    """The "your customers" section of a report on a log (Markdown; every user string escaped)."""
    from .escape import escape_markdown

    counts, holdout, check, assumed = calibration_statements(cal, size)
    verdict = f"**{escape_markdown(check)}**" if not cal.fit_check()["good_enough"] else escape_markdown(check)
    return ("## Your customers\n\n"
            f"Fitted to the log {escape_markdown(cal.source.replace(chr(92), '/').rsplit('/', 1)[-1])}. "
            f"{escape_markdown(holdout)} {verdict}\n\n{escape_markdown(counts)}\n\n{escape_markdown(assumed)}")

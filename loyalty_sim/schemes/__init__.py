"""Scheme families, one module each, on one protocol (:mod:`loyalty_sim.schemes.base`).

:data:`FAMILIES` maps the ``type`` of a scheme in a scenario file to its class;
:func:`scheme_from_dict` builds and validates one, with errors naming the field path.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import ValidationError

from ..errors import ConfigError, shown
from .base import PROGRAMME_COSTS, Effects, ProtocolError, Scheme, SchemeRuntime, Settlement
from .cashback import Cashback, Gift
from .combined import Combined
from .common import Enrolment, SchemeConfig
from .context import BlockContext
from .discount import FlatDiscount
from .perks import Perks
from .points import Points
from .referral import Referral
from .stamp_card import StampCard
from .targeted_offers import TargetedOffers
from .tiers import Tiers

#: scheme ``type`` -> configuration class
FAMILIES: dict[str, type[SchemeConfig]] = {
    "stamp_card": StampCard,
    "points": Points,
    "tiers": Tiers,
    "discount": FlatDiscount,
    "cashback": Cashback,
    "gift": Gift,
    "referral": Referral,
    "perks": Perks,
    "targeted_offers": TargetedOffers,
    "combined": Combined,
}


def scheme_from_dict(raw: Mapping[str, Any], *, source: str | None = None, path: str = "scheme") -> SchemeConfig:
    """Build a scheme from a mapping with a ``type`` key.

    Parameters
    ----------
    raw : mapping
        ``{"type": "stamp_card", "name": "...", ...}``.
    source : str, optional
        File the mapping came from (for error messages).
    path : str
        Field path of the mapping in that file (``schemes[0]``).

    Raises
    ------
    ConfigError
        Unknown type, unknown field, wrong type or impossible value; the message names
        the file, the field path and what was expected.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a mapping with a 'type', got {type(raw).__name__}", field=path, source=source)
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in FAMILIES:  # a list or mapping is unhashable: no lookup
        from ..text.suggest import did_you_mean

        raise ConfigError(f"unknown scheme type {shown(kind)}{did_you_mean(kind, FAMILIES)}; expected one of {sorted(FAMILIES)}",
                          field=f"{path}.type", source=source)
    data = dict(raw)
    # ``family`` is what ``to_dict`` writes for readers; the ``type`` says the same, so a written
    # configuration reads back (``scheme_from_dict(s.to_dict()) == s``)
    family = data.pop("family", FAMILIES[kind].family)
    if family != FAMILIES[kind].family:
        raise ConfigError(f"family {family!r} does not match type {kind!r} (family {FAMILIES[kind].family!r})",
                          field=f"{path}.family", source=source)
    if kind == "combined":
        parts = data.get("parts")
        if not isinstance(parts, list) or not parts:
            raise ConfigError("expected a non-empty list of schemes", field=f"{path}.parts", source=source)
        data["parts"] = [scheme_from_dict(p, source=source, path=f"{path}.parts[{i}]") for i, p in enumerate(parts)]
    try:
        return FAMILIES[kind].model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source=source, path=path, fields=FAMILIES[kind].model_fields) from None


def population_errors(scheme: SchemeConfig, params: Any, *, path: str) -> list[tuple[str, str]]:
    """(field path, message) of each setting of ``scheme`` that the population cannot serve.

    Each family answers ``population_problems(params)`` (declared on ``SchemeConfig``:
    a targeted offer's category the catalogue lacks); a combination is checked part by part.
    """
    out: list[tuple[str, str]] = []
    for i, part in enumerate(scheme.parts if isinstance(scheme, Combined) else ()):
        out += population_errors(part, params, path=f"{path}.parts[{i}]")
    out += [(f"{path}.{field}", msg) for field, msg in scheme.population_problems(params)]
    return out


def validation_error(exc: ValidationError, *, source: str | None, path: str, fields: Any = (),
                     patterns: Mapping[str, str] | None = None) -> ConfigError:
    """Turn a pydantic error into a ConfigError naming each field path and what was expected.

    An unknown top-level field gets a "did you mean" from ``fields`` (the model's field names); a
    text that does not match a field's pattern is told what ``patterns`` (pattern -> words) says
    instead of the regular expression, and a rule's own message loses pydantic's "Value error, ".
    """
    from ..text.suggest import did_you_mean

    msgs = []
    first = None
    for err in exc.errors():
        loc = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        first = first or loc
        got = err.get("input")
        got_s = "" if isinstance(got, Mapping) else f" (got {shown(got)})"
        hint = did_you_mean(err["loc"][0], fields) if err.get("type") == "extra_forbidden" and len(err["loc"]) == 1 else ""
        msg = err["msg"]
        if err.get("type") == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif err.get("type") == "string_pattern_mismatch":
            msg = (patterns or {}).get(str(err.get("ctx", {}).get("pattern")), msg)
        msgs.append(f"{loc}: {msg}{got_s}{hint}")
    err = ConfigError("; ".join(msgs), source=source)
    err.field = first
    return err


__all__ = [
    "BlockContext",
    "Cashback",
    "Combined",
    "Effects",
    "Enrolment",
    "FAMILIES",
    "FlatDiscount",
    "Gift",
    "PROGRAMME_COSTS",
    "Perks",
    "Points",
    "ProtocolError",
    "Referral",
    "Scheme",
    "SchemeConfig",
    "SchemeRuntime",
    "Settlement",
    "StampCard",
    "TargetedOffers",
    "Tiers",
    "scheme_from_dict",
]

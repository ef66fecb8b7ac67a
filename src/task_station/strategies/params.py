"""Declared strategy parameters, validated once when a bot or backtest is created."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from task_station.domain.errors import ValidationError

ParamValue = int | Decimal | bool | str


@dataclass(frozen=True, slots=True)
class Param:
    """One tunable parameter; ``minimum``/``maximum`` bound numeric ones.

    ``step`` (optional, numeric kinds only) is the grid a value must sit on, counted from
    ``minimum`` (or 0 without one): optimizers search on it and spin boxes step by it.
    """

    name: str
    kind: type[int] | type[Decimal] | type[bool] | type[str]
    default: ParamValue
    description: str
    minimum: ParamValue | None = None
    maximum: ParamValue | None = None
    step: int | Decimal | None = None

    def __post_init__(self) -> None:
        if self.step is None:
            return
        if self.kind not in (int, Decimal) or isinstance(self.step, bool):
            raise ValidationError(f"parameter {self.name!r}: only numbers can have a step")
        if self.kind is int and not isinstance(self.step, int):
            raise ValidationError(f"parameter {self.name!r}: a whole-number step is needed")
        if self.step <= 0:
            raise ValidationError(f"parameter {self.name!r}: step must be positive")

    def parse(self, raw: object, strategy: str) -> ParamValue:
        where = f"{strategy}: parameter {self.name!r}"
        value = self._coerce(raw, where)
        if self.minimum is not None and value < self.minimum:  # type: ignore[operator]
            raise ValidationError(f"{where} must be at least {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:  # type: ignore[operator]
            raise ValidationError(f"{where} must be at most {self.maximum}, got {value}")
        if self.step is not None and isinstance(value, int | Decimal):
            origin = self.minimum if isinstance(self.minimum, int | Decimal) else 0
            if (value - origin) % self.step != 0:
                raise ValidationError(
                    f"{where} must be {origin} plus a multiple of {self.step}, got {value}"
                )
        return value

    def _coerce(self, raw: object, where: str) -> ParamValue:
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0", "yes", "no"):
                return raw.lower() in ("true", "1", "yes")
            raise ValidationError(f"{where} must be true or false, got {raw!r}")
        if self.kind is int:
            if isinstance(raw, bool):
                raise ValidationError(f"{where} must be a whole number, got {raw!r}")
            if isinstance(raw, int):
                return raw
            if isinstance(raw, str) and raw.strip().lstrip("+-").isdigit():
                return int(raw)
            if isinstance(raw, float | Decimal) and raw == int(raw):
                return int(raw)
            raise ValidationError(f"{where} must be a whole number, got {raw!r}")
        if self.kind is Decimal:
            try:
                value = Decimal(str(raw)) if not isinstance(raw, bool) else None
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite():
                raise ValidationError(f"{where} must be a number, got {raw!r}")
            return value
        return str(raw)


def validate_params(
    strategy: str, schema: Sequence[Param], raw: Mapping[str, object]
) -> dict[str, ParamValue]:
    """Parse ``raw`` against ``schema``: unknown names are refused, missing ones defaulted."""
    known = {p.name: p for p in schema}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValidationError(
            f"{strategy}: unknown parameter(s) {', '.join(unknown)}; "
            f"known: {', '.join(known) or 'none'}"
        )
    return {
        name: p.parse(raw[name], strategy) if name in raw else p.default
        for name, p in known.items()
    }

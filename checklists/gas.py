"""Gas readings: units that fit a gas, conversion to the unit its limit is in, and the gas
identity the %VOL rule of GB 30871 5.3.2 needs (docs/domain.md, "Gas tests").

Shared by the checklists' gas items (checklists.answer) and, later, permits and the
scan-before-work rules, so that a reading is judged the same way wherever it is entered:
40 ppm of H2S and 56.7 mg/m³ of H2S are one reading. A unit that does not fit the gas (%LEL
of H2S, mg/m³ of oxygen) is an error, never a guess.

Works on anything with `code`, `unit`, `molar_mass` and `lel` (a `GasParam` of the gas-limits
file, or the `GasInfo` a checklist version embeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from checklists.template import MOLAR_VOLUME_20C

MG_M3 = "mg/m3"
PPM = "ppm"
VOL = "%VOL"
#: Units of a concentration that convert into one another, given a molar mass.
CONCENTRATION = (MG_M3, PPM, VOL)
PPM_PER_VOL = 10_000.0


class Gas(Protocol):
    code: str
    unit: str
    molar_mass: float | None
    lel: float | None


class GasUnitError(ValueError):
    """A reading whose unit does not fit the gas."""


@dataclass(frozen=True)
class Reading:
    """A measured value in a unit, and, for a flammable reading, which gas (or its LEL)."""

    value: float
    unit: str
    gas: str | None = None
    lel: float | None = None


def units_for(gas: Gas) -> tuple[str, ...]:
    """The units a reading of `gas` may be entered in; the gas's own unit first."""
    if gas.unit == MG_M3 and gas.molar_mass:
        return (MG_M3, PPM, VOL)
    if gas.unit == VOL:
        return (VOL, PPM)
    return (gas.unit,)


def convert(gas: Gas, value: float, unit: str) -> float:
    """`value` in `unit` expressed in the gas's own unit; GasUnitError if the unit does not fit.

    ppm = mg/m³ × 24.04 / M at 20 °C (the stricter of the usual reference temperatures)."""
    fitting = units_for(gas)
    if unit not in fitting:
        raise GasUnitError(f"{unit} does not fit {gas.code}: enter it in {' or '.join(fitting)}")
    if unit == gas.unit:
        return value
    ppm = value * PPM_PER_VOL if unit == VOL else value if unit == PPM else None
    if gas.unit == VOL:
        return ppm / PPM_PER_VOL
    # gas.unit is mg/m³ and unit is ppm or %VOL
    return ppm * gas.molar_mass / MOLAR_VOLUME_20C


def lel_of(reading: Reading, gases: dict) -> float | None:
    """The LEL (%VOL) a flammable reading is judged by: the one entered, else the named gas's;
    None when neither is known (the stricter limit then applies)."""
    if reading.lel is not None:
        return reading.lel
    gas = gases.get(reading.gas) if reading.gas else None
    return gas.lel if gas is not None else None

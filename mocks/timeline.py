"""When things can happen in a patient's life: after birth, before death or the reference date."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from mocks.datatypes import REFERENCE_TIME, at
from mocks.numbering import age_on


@dataclass(frozen=True, slots=True)
class Lifetime:
    """The span in which a patient's records fall."""

    birth: dt.date
    deceased: dt.datetime | None = None

    @property
    def end(self) -> dt.datetime:
        """Death, or the reference time for the living."""
        return self.deceased or REFERENCE_TIME

    @property
    def age(self) -> int:
        """Age at the end of the span."""
        return age_on(self.birth, self.end.date())

    def clamp_start(self, earliest: dt.date) -> dt.date:
        """``earliest``, or the day after birth if that is later."""
        return max(earliest, self.birth + dt.timedelta(days=1))

    def moment(
        self, rng: random.Random, earliest: dt.date, latest: dt.date | None = None
    ) -> dt.datetime:
        """A random working-hours moment between ``earliest`` and ``latest`` (or the end)."""
        first = self.clamp_start(earliest)
        last = min(latest or self.end.date(), self.end.date() - dt.timedelta(days=1))
        last = max(last, first)
        day = first + dt.timedelta(days=rng.randint(0, (last - first).days))
        moment = at(day, rng.randint(8, 15), rng.choice((0, 15, 30, 45)))
        return min(moment, self.end - dt.timedelta(hours=1))

    def years_back(self, years: float) -> dt.date:
        """The date ``years`` before the end of the span (never before birth)."""
        return self.clamp_start(self.end.date() - dt.timedelta(days=round(365.25 * years)))

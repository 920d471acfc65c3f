"""Visit history mapped from standard-shaped FHIR R4 Encounters (HL7 R4 example shapes): the
window the search asks for is applied again to the answer, and partial dates never fail."""

from __future__ import annotations

from typing import Any

from gateway.upstream.fhir import SearchResult
from resolvers.visit_history import VisitKind, build_visits

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _encounter(id_: str, period: dict[str, str] | None, code: str = "AMB") -> dict[str, Any]:
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": id_,
        "status": "finished",
        "class": {"system": ACT_CODE, "code": code, "display": "ambulatory"},
        "subject": {"reference": "Patient/example"},
        "serviceProvider": {
            "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "983974899"},
            "display": "Sykehuset Innlandet HF",
        },
        "location": [{"location": {"display": "Medisinsk poliklinikk"}}],
    }
    if period is not None:
        encounter["period"] = period
    return encounter


def _ids(*encounters: dict[str, Any]) -> list[str]:
    return [str(v.id) for v in build_visits(SearchResult(list(encounters)))]


def test_a_visit_that_ended_before_the_window_is_dropped_even_if_the_server_sent_it() -> None:
    ids = _ids(
        _encounter(
            "1940", {"start": "1940-03-01T10:00:00+01:00", "end": "1940-03-02T10:00:00+01:00"}
        ),
        _encounter("2007", {"start": "2007-12-31", "end": "2007-12-31"}),
        _encounter(
            "2015", {"start": "2015-01-17T16:00:00+10:00", "end": "2015-01-17T16:30:00+10:00"}
        ),
    )
    assert ids == ["2015"]


def test_a_visit_reaching_into_the_window_or_ongoing_is_kept() -> None:
    ids = _ids(
        # Admitted before the window, discharged inside it.
        _encounter("spanning", {"start": "2007-12-20", "end": "2008-01-03"}, "IMP"),
        # Admitted long ago and still there: no end.
        _encounter("ongoing", {"start": "1999-05-01"}, "IMP"),
        # A year-precision end may reach into the window: "2008" is not before 2008-01-01.
        _encounter("year-2008", {"start": "2007", "end": "2008"}),
        # Ended at the very first instant of the window.
        _encounter("edge", {"start": "2007-12-31T22:00:00Z", "end": "2008-01-01T00:00:00Z"}),
    )
    assert sorted(ids) == ["edge", "ongoing", "spanning", "year-2008"]
    assert _ids(_encounter("year-2007", {"start": "2007", "end": "2007"})) == []


def test_a_visit_with_no_dates_matches_no_date_search() -> None:
    assert _ids(_encounter("undated", None)) == []
    assert _ids(_encounter("empty", {})) == []


def test_partial_dates_never_fail_and_sort_newest_first() -> None:
    visits = build_visits(
        SearchResult(
            [
                _encounter("month", {"start": "2010-06", "end": "2010-06"}),
                _encounter("year", {"start": "2011"}),
                _encounter(
                    "full",
                    {"start": "2010-06-15T08:00:00+02:00", "end": "2010-06-15T09:00:00+02:00"},
                ),
            ]
        )
    )
    assert [str(v.id) for v in visits] == ["year", "full", "month"]
    by_id = {str(v.id): v for v in visits}
    assert str(by_id["month"].start) == "2010-06" and str(by_id["month"].end) == "2010-06"
    assert str(by_id["year"].start) == "2011" and by_id["year"].end is None
    assert str(by_id["full"].start) == "2010-06-15T08:00:00+02:00"


def test_the_visit_fields_are_mapped() -> None:
    [visit] = build_visits(
        SearchResult([_encounter("e1", {"start": "2015-01-17", "end": "2015-01-20"}, "IMP")])
    )
    assert visit.kind is VisitKind.ADMISSION
    assert visit.department == "Medisinsk poliklinikk"
    assert visit.institution is not None
    assert (visit.institution.name, visit.institution.organization_number) == (
        "Sykehuset Innlandet HF",
        "983974899",
    )
    assert visit.reported_as_wrong is False

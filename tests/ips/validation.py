"""Structural FHIR validation of a Bundle with ``fhir.resources``' R4B models.

R4B (4.3.0) keeps the R4 (4.0.1) structure of every resource an IPS carries (Composition,
Patient, the clinical resources, Medication*, DeviceUseStatement, Flag, ...); the R4B release
changed the medicinal-product definition resources, which have no place in a summary. A type
that R4B dropped (e.g. ``MedicinalProduct``, ``EffectEvidenceSynthesis``) is reported as such
rather than silently passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError


def r4_problems(bundle: Mapping[str, Any]) -> list[str]:
    """The validation errors of ``bundle`` and of each entry's resource, as readable strings.

    The whole Bundle is parsed first (it catches errors in the Bundle's own elements and in
    the entry structure); each entry's resource is then parsed on its own, so an error names
    the entry, its resource type and its id.
    """
    problems = _errors(Bundle, dict(bundle), "Bundle", skip_inside_resources=True)
    for i, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue  # the Bundle parse has already said what is wrong with this entry
        rtype = str(resource.get("resourceType"))
        where = f"Bundle.entry[{i}].resource ({rtype}/{resource.get('id')})"
        try:
            model = get_fhir_model_class(rtype)
        except ValueError:
            problems.append(f"{where}: {rtype!r} is not an R4B resource type")
            continue
        problems += _errors(model, dict(resource), where)
    return problems


def _errors(
    model: Any, data: dict[str, Any], where: str, *, skip_inside_resources: bool = False
) -> list[str]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [
            f"{where}: {'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
            # Errors inside an entry's resource come again, better named, from its own parse.
            if not (skip_inside_resources and _inside_resource(error["loc"]))
        ]
    except (KeyError, ValueError) as exc:
        # fhir.resources 8.3 raises a bare KeyError ('R4.<Type>Type') for a resource type its
        # R4B models lack, instead of a ValidationError.
        return [f"{where}: not parseable by the R4B models ({type(exc).__name__}: {exc})"]
    return []


def _inside_resource(loc: tuple[int | str, ...]) -> bool:
    return len(loc) > 3 and loc[0] == "entry" and loc[2] == "resource"

"""Moved to `api/complaints/service.py` and `api/complaints/intake.py` (issue 12).

Kept only because `activities/inspection.py` still imports `CaseService` from here (a layer
break the lead engineer is removing); delete it once nothing imports it.
"""

from api.complaints.service import CaseService

__all__ = ["CaseService"]

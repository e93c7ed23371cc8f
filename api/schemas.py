"""Moved to each feature's `schemas.py` (issue 12). Kept only because `activities/inspection.py`
still imports the intake models from here (a layer break the lead engineer is removing); delete
it once nothing imports it."""

from api.complaints.schemas import ComplainantIn, ComplaintCreate, RespondentIn

__all__ = ["ComplainantIn", "ComplaintCreate", "RespondentIn"]

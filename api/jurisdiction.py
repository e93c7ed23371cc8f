"""Moved to `api/centers/service.py` (issue 12); kept as a re-export while the complaints
feature still imports it from here. Import from `api.centers.service`."""

from api.centers.schemas import RoutingRule, Subject  # noqa: F401
from api.centers.service import *  # noqa: F403
from api.centers.service import (  # noqa: F401
    Center,
    Routing,
    action_fields,
    can_see,
    forwarded_case,
    open_forwarded,
    policy_of,
    route,
)

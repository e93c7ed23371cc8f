"""工作台 The workbench: server-rendered pages (Jinja2 + htmx, vendored) for the staff who handle
complaints and for the complainant, at `/`.

Every page goes through the REST API's own services — `CaseService` (visibility, the lifecycle
checks, the Updates and Signals), `api.public.service` (the access code), the timeline and
evidence services — so the pages follow exactly the rules of the API. Forms are generated from
the API's body models (`forms.py`); what a role may do now is the view's `allowed_actions`.

One module a page family: `page.py` (what every page shares), `signin.py`, `oidc.py` (sign-in
through the identity provider), `work.py` (待办 and the board), `case.py`, `case_files.py`
(evidence), `intake.py`, `track.py` (the complainant). Not in the OpenAPI document
(`include_in_schema=False`): these are pages, not API.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from api.evidence import files as evidence_files
from api.middleware import RouteLimit
from api.web import case, case_files, intake, oidc, signin, track, work
from api.web.page import HERE

router = APIRouter(include_in_schema=False)
for _pages in (signin, oidc, work, case, case_files, intake, track):
    router.include_router(_pages.router)


def body_limits(settings: Any) -> list[RouteLimit]:
    """The pages that take a file: the evidence route's own body limit (api/main.py)."""
    max_bytes, message = evidence_files.body_limit(settings.evidence_max_file_bytes)
    return [RouteLimit(re.compile(r"^/(intake|cases/[^/]+/evidence)/?$"), max_bytes, message)]


def static_files() -> StaticFiles:
    """`/static`: htmx (vendored, with its licence) and the stylesheet."""
    return StaticFiles(directory=str(HERE / "static"))

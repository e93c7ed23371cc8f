"""The leaders' dashboard page (领导驾驶舱): `GET /dashboard`."""

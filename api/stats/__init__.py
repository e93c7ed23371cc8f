"""Efficiency figures (R-36..R-39): `GET /v1/stats`; the dashboard draws them (`api/dashboard`)."""

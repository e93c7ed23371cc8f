"""The REST API (DESIGN.md "The REST contract (v1)"): `uvicorn api.main:app`."""

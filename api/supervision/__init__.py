"""The supervision board (督办台账, R-29, R-30): `GET /v1/supervision`."""

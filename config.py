"""One settings object per process, from environment variables prefixed `COMPLAINTS_` (or `.env`).

`TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE` are also read without the prefix, as the Temporal
tooling and docker-compose name them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent

#: A file setting where empty (as docker-compose passes an unset `${VAR:-}`) means none.
OptionalFile = Annotated[Path | None, BeforeValidator(lambda v: None if v == "" else v)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_", env_file=".env", extra="ignore")

    temporal_address: str = Field(
        default="localhost:7233",
        validation_alias=AliasChoices("COMPLAINTS_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS"),
        description="Temporal frontend host:port.",
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("COMPLAINTS_TEMPORAL_NAMESPACE", "TEMPORAL_NAMESPACE"),
        description="Temporal namespace.",
    )
    task_queue: str = Field(default="complaints", description="Task queue of the worker.")
    temporal_rpc_timeout_seconds: float = Field(
        default=5.0, description="Deadline of every Temporal call made by the API."
    )
    # Transport security to Temporal (temporal_client.py; docs/deployment.md, "TLS to Temporal").
    temporal_tls: bool = Field(
        default=False,
        description="TLS to Temporal checked against the system's CAs; implied by any "
        "temporal_tls_* setting below and by an API key.",
    )
    temporal_tls_ca_file: OptionalFile = Field(
        default=None, description="PEM CA certificate(s) the server's certificate must chain to."
    )
    temporal_tls_cert_file: OptionalFile = Field(
        default=None, description="PEM client certificate (chain) for mutual TLS."
    )
    temporal_tls_key_file: OptionalFile = Field(
        default=None, description="PEM private key of temporal_tls_cert_file."
    )
    temporal_tls_server_name: str = Field(
        default="",
        description="Name sent as SNI and checked in the server's certificate, when it is not the "
        "host of temporal_address.",
    )
    temporal_api_key: SecretStr = Field(
        default=SecretStr(""), description="Temporal Cloud API key (sent as a bearer token, over TLS)."
    )
    database_url: str = Field(
        default="",
        description="PostgreSQL URL of the app role (the pool of API and worker); empty = the "
        "embedded PostgreSQL under data_dir/pg, as role complaints_app.",
    )
    migrate_database_url: str = Field(
        default="",
        description="PostgreSQL URL of the owner role that runs the migrations and grants the "
        "app role (db.py); empty = the embedded owner role, or database_url when that is set.",
    )
    data_dir: Path = Field(default=ROOT / ".data", description="Where embedded data lives.")
    db_pool_min: int = Field(default=1, description="Minimum connections per process.")
    db_pool_max: int = Field(default=10, description="Maximum connections per process.")
    tokens_file: Path = Field(
        default=ROOT / "api" / "dev_tokens.json",
        description="Bearer tokens -> role, unit, center; development only (refused in production).",
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="production: staff sign in with OIDC access tokens only; the tokens file is "
        "refused, and OIDC must be configured.",
    )
    # Staff identity (api/auth.py): OIDC/JWT access tokens of the center's identity provider.
    oidc_issuer: str = Field(
        default="", description="Issuer (`iss`) of staff access tokens; empty = OIDC off."
    )
    oidc_audience: str = Field(default="", description="Audience (`aud`) the tokens must carry.")
    oidc_jwks_url: str = Field(
        default="", description="The provider's JWKS (signing keys; re-read for an unknown key id)."
    )
    oidc_algorithms: str = Field(
        default="RS256,ES256", description="Accepted signature algorithms, comma-separated."
    )
    oidc_id_claim: str = Field(default="sub", description="Claim holding the staff id.")
    oidc_role_claim: str = Field(
        default="role",
        description="Claim (dotted path, e.g. realm_access.roles) holding the role, or a list with "
        "exactly one staff role.",
    )
    oidc_unit_claim: str = Field(default="unit", description="Claim holding the unit code.")
    oidc_center_claim: str = Field(default="center", description="Claim holding the center.")
    oidc_leeway_seconds: float = Field(
        default=30.0, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat."
    )
    oidc_jwks_cache_seconds: float = Field(
        default=300.0, gt=0, description="How long fetched signing keys are kept."
    )
    oidc_jwks_min_refresh_seconds: float = Field(
        default=10.0, ge=0,
        description="Least time between two JWKS fetches caused by unknown key ids (bounds what "
        "forged tokens can make us fetch).",
    )
    # The workbench's sign-in through the provider (api/web/oidc.py: authorization code + PKCE).
    oidc_authorize_url: str = Field(
        default="", description="The provider's authorization endpoint; empty = no workbench SSO."
    )
    oidc_token_url: str = Field(default="", description="The provider's token endpoint.")
    oidc_client_id: str = Field(default="", description="The workbench's client id at the provider.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Client secret, for a confidential client (PKCE is used either way)."
    )
    oidc_scope: str = Field(default="openid", description="Scopes asked for at sign-in.")
    oidc_redirect_url: str = Field(
        default="",
        description="The callback URL registered at the provider (…/login/oidc/callback); empty = "
        "derived from the request (set it behind a proxy).",
    )

    @model_validator(mode="after")
    def _secure_settings(self) -> Settings:
        if (self.temporal_tls_cert_file is None) != (self.temporal_tls_key_file is None):
            raise ValueError("temporal_tls_cert_file and temporal_tls_key_file go together")
        if self.oidc_issuer and not (self.oidc_audience and self.oidc_jwks_url):
            raise ValueError("oidc_issuer needs oidc_audience and oidc_jwks_url")
        if self.env == "production" and not self.oidc_issuer:
            raise ValueError(
                "COMPLAINTS_ENV=production needs COMPLAINTS_OIDC_ISSUER: the tokens file is for "
                "development only"
            )
        return self
    policy: str = Field(default="default", description="Policy for new cases (domain/policies.py).")
    api_host: str = Field(default="127.0.0.1", description="API bind address.")
    api_port: int = Field(default=8000, description="API port.")
    api_workers: int = Field(default=1, description="uvicorn worker processes.")
    max_body_bytes: int = Field(default=1024 * 1024, description="Request body limit (413 above).")
    notify_channel: str = Field(default="log", description="log | smtp | webhook.")
    smtp_host: str = Field(default="localhost", description="SMTP server for notify_channel=smtp.")
    smtp_port: int = Field(default=25, description="SMTP port.")
    smtp_sender: str = Field(default="complaints@localhost", description="From address.")
    webhook_url: str = Field(default="", description="SMS gateway URL for notify_channel=webhook.")
    max_concurrent_workflow_tasks: int = Field(default=100, description="Worker setting.")
    max_concurrent_activities: int = Field(default=100, description="Worker setting.")
    max_cached_workflows: int = Field(default=1000, description="Worker sticky cache size.")
    workflow_task_pollers: int = Field(
        default=16, description="Worker: concurrent workflow-task polls (many timers firing at once)."
    )
    activity_task_pollers: int = Field(default=8, description="Worker: concurrent activity-task polls.")
    graceful_shutdown_seconds: float = Field(default=30.0, description="Worker drain time.")
    metrics_address: str = Field(
        default="",
        description="Worker: host:port of the Temporal SDK's Prometheus endpoint (/metrics); empty = "
        "none. The API serves its SDK and application metrics at its own /metrics (api/metrics.py).",
    )
    log_level: str = Field(default="INFO", description="Log level of worker, API and scripts.")
    log_format: str = Field(
        default="json", description="json (one object per line, logs.py) or text (for a terminal)."
    )
    web_session_secret: str = Field(
        default="",
        description="Key signing the workbench's session cookie (api/web); empty = a random key "
        "kept in data_dir/web_session_secret, shared by every process on this machine.",
    )
    # Seals of the archive and access-log chain heads (issue 13; activities/seal.py).
    tsa_url: str = Field(
        default="",
        description="RFC 3161 timestamping authority (可信时间戳) the seal schedule asks; empty = "
        "no seals are made.",
    )
    tsa_roots_file: Path | None = Field(
        default=None,
        description="PEM certificates of the timestamping authority (its root CA, intermediates) "
        "that seal tokens are verified against.",
    )
    seal_dir: Path | None = Field(
        default=None,
        description="Where every seal is copied out of PostgreSQL for offline checks (keep it on "
        "other storage than the database); empty = not copied.",
    )
    seal_interval_minutes: int = Field(
        default=60, ge=1, description="How often the chain heads are sealed (Temporal Schedule)."
    )
    evidence_dir: Path = Field(
        default=ROOT / ".data" / "evidence",
        description="Where evidence files are stored, by SHA-256 (shared by every API process).",
    )
    evidence_max_file_bytes: int = Field(
        default=20 * 1024 * 1024, description="Largest evidence file (413 above)."
    )
    evidence_max_case_bytes: int = Field(
        default=100 * 1024 * 1024, description="All evidence files of one case together."
    )
    intake_start_timeout_seconds: float = Field(
        default=3.0,
        description="Deadline of the workflow start tried while answering an intake; past it the "
        "case is answered as registered and being opened, and the reconciler starts it.",
    )
    received_at_max_age_days: int = Field(
        default=30, ge=1,
        description="Intake refuses a `received_at` more than this many days before registration "
        "(R-10: the acceptance clock counts from registration).",
    )
    reconcile_interval_seconds: float = Field(
        default=5.0, gt=0, description="Reconciler: pause between rounds (activities/reconciler.py)."
    )
    reconcile_min_age_seconds: float = Field(
        default=10.0, ge=0,
        description="Reconciler: only starts registrations at least this old (the API's own try "
        "comes first).",
    )
    reconcile_batch_size: int = Field(
        default=100, ge=1, description="Reconciler: registrations started per round at most."
    )
    disclosure_min_cases: int = Field(
        default=3,
        description="Public monthly figures (R-47) show counts and rates only for months with at "
        "least this many consented concluded cases (or answered callbacks), so no single case "
        "can be read from them.",
    )
    # Limits (api/ratelimit.py; sliding windows kept in PostgreSQL, shared by every replica).
    code_window_seconds: float = Field(
        default=900.0, gt=0, description="Access codes: the window wrong codes are counted in."
    )
    code_failures_per_case: int = Field(
        default=10, ge=1, description="Access codes: wrong codes for one case per window (429 above)."
    )
    code_failures_per_client: int = Field(
        default=30, ge=1,
        description="Access codes: wrong codes from one client address per window, any case.",
    )
    action_window_seconds: float = Field(
        default=60.0, gt=0, description="Actions and signals: the window they are counted in."
    )
    actions_per_actor_case: int = Field(
        default=60, ge=1, description="Actions and signals by one account on one case per window."
    )
    actions_per_case: int = Field(
        default=240, ge=1, description="Actions and signals on one case per window, all accounts."
    )
    actions_per_actor: int = Field(
        default=1200, ge=1, description="Actions and signals by one account per window, all cases."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()

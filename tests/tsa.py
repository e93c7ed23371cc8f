"""A local RFC 3161 timestamping authority for tests: `openssl ts -reply` behind a tiny HTTP
handler, with a test CA and a TSA certificate generated on the spot (the openssl CLI only).

    with local_tsa(tmp_path) as tsa:
        tsa.url         # POST application/timestamp-query here
        tsa.roots_file  # PEM: the test CA (what `settings.tsa_roots_file` names)
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.stub_http import StubRequest, StubServer

TSA_CONFIG = """
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

TSA_EXTENSIONS = """
[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_authority(directory: Path) -> Path:
    """A test CA and a TSA certificate it signed (EKU timeStamping, critical), and the
    `openssl ts` configuration; returns the configuration file."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
             "-subj", "/CN=Complaints Test Root CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Complaints Test TSA",
             cwd=directory)
    (directory / "tsa.ext").write_text(TSA_EXTENSIONS)
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.pem", "-days", "3650", "-extfile", "tsa.ext",
             "-extensions", "v3_tsa", cwd=directory)
    (directory / "serial").write_text("01\n")
    config = directory / "tsa.cnf"
    config.write_text(TSA_CONFIG.format(dir=directory))
    return config


@dataclass
class LocalTSA:
    url: str
    roots_file: Path
    directory: Path
    requests: int = 0


@contextlib.contextmanager
def local_tsa(directory: Path | None = None) -> Iterator[LocalTSA]:
    """Serve `openssl ts -reply` over HTTP on 127.0.0.1 for the block."""
    directory = directory or Path(tempfile.mkdtemp(prefix="complaints-tsa-"))
    config = make_authority(directory)
    lock = threading.Lock()
    tsa: LocalTSA

    def reply(request: StubRequest) -> tuple[int, str, bytes]:
        with lock:  # one serial file: one reply at a time
            tsa.requests += 1
            (directory / "q.tsq").write_bytes(request.body)
            done = subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(config), "-queryfile", "q.tsq",
                 "-out", "r.tsr"], cwd=directory, capture_output=True)
            out = (directory / "r.tsr").read_bytes() if done.returncode == 0 else b""
        return 200 if out else 400, "application/timestamp-reply", out

    server = StubServer(reply, "POST")
    tsa = LocalTSA(url=server.url("/tsa"), roots_file=directory / "ca.pem", directory=directory)
    try:
        yield tsa
    finally:
        server.close()

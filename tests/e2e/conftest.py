"""Fixtures of the end-to-end suite: a real `gatehouse serve` process on a free port, driven by
boto3 and the aws CLI (v1) exactly as users drive them.

Each test module gets its own server per backend (SQLite in a temporary data directory, and a
fresh database on the PostgreSQL named by GATEHOUSE_TEST_POSTGRES_URL); tests inside a module
share it and name what they create uniquely (`uniq`), unless the module builds one story.

The binary is GATEHOUSE_BIN, or target/debug/gatehouse (scripts/test and scripts/e2e build it).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
STARTUP_SECONDS = 180

# Nothing on the machine leaks in: no AWS_* variables, and empty config and credentials files,
# for boto3 in this process and for every aws CLI process started from it.
_AWS_HOME = Path(tempfile.mkdtemp(prefix="gatehouse-e2e-aws-"))
for _name in [n for n in os.environ if n.startswith("AWS_")]:
    del os.environ[_name]
(_AWS_HOME / "config").write_text("")
(_AWS_HOME / "credentials").write_text("")
AWS_ISOLATION = {
    "AWS_CONFIG_FILE": str(_AWS_HOME / "config"),
    "AWS_SHARED_CREDENTIALS_FILE": str(_AWS_HOME / "credentials"),
    "AWS_EC2_METADATA_DISABLED": "true",
}
os.environ.update(AWS_ISOLATION)

# One attempt per call: a retried 5xx would hide a server bug and slow the suite.
CLIENT_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 1})


@dataclasses.dataclass(frozen=True)
class Creds:
    key: str
    secret: str
    token: str | None = None

    @staticmethod
    def of(d: dict) -> "Creds":
        """From an IAM `AccessKey` or an STS `Credentials` structure."""
        return Creds(d["AccessKeyId"], d["SecretAccessKey"], d.get("SessionToken"))


@dataclasses.dataclass
class CliResult:
    args: list
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None


class Server:
    """A running `gatehouse serve` and the clients that talk to it."""

    def __init__(self, url: str, root: Creds, account_id: str, backend: str, home: Path):
        self.url = url
        self.root = root
        self.account_id = account_id
        self.backend = backend
        self.home = home
        self._clients: dict = {}

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        """arn:aws:iam::ACCOUNT:user/NAME and friends."""
        return f"arn:aws:iam::{self.account_id}:{kind}{path}{name}"

    def client(self, service: str, creds: Creds | None = None):
        creds = creds or self.root
        k = (service, creds)
        if k not in self._clients:
            self._clients[k] = boto3.session.Session().client(
                service,
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id=creds.key,
                aws_secret_access_key=creds.secret,
                aws_session_token=creds.token,
                config=CLIENT_CONFIG,
            )
        return self._clients[k]

    def iam(self, creds: Creds | None = None):
        return self.client("iam", creds)

    def sts(self, creds: Creds | None = None):
        return self.client("sts", creds)

    def aws(self, *args: str, creds: Creds | None = None, ok: bool = True) -> CliResult:
        """Runs `aws --endpoint-url URL --output json ARGS...` with the credentials in its
        environment. With ok=True (the default) a non-zero exit fails the test, showing stderr.
        Retries stay at the CLI's defaults: with AWS_MAX_ATTEMPTS set, every error message gains
        "(reached max retries: N)", which users do not see."""
        creds = creds or self.root
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": creds.key,
            "AWS_SECRET_ACCESS_KEY": creds.secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_PAGER": "",
            **AWS_ISOLATION,
        }
        if creds.token:
            env["AWS_SESSION_TOKEN"] = creds.token
        argv = [sys.executable, "-m", "awscli", "--endpoint-url", self.url, "--output", "json", *args]
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        r = CliResult(list(args), p.returncode, p.stdout, p.stderr)
        if ok and r.returncode != 0:
            pytest.fail(f"aws {' '.join(args)} exited {r.returncode}:\n{r.stderr}{r.stdout}")
        return r

    def aws_json(self, *args: str, creds: Creds | None = None):
        return self.aws(*args, creds=creds).json()

    def aws_error(self, *args: str, creds: Creds | None = None) -> CliResult:
        """Runs a command that must fail as the CLI fails on a service error: exit 255."""
        r = self.aws(*args, creds=creds, ok=False)
        assert r.returncode == 255, f"aws {' '.join(args)}: exit {r.returncode}\n{r.stderr}{r.stdout}"
        return r


def error_code(e: botocore.exceptions.ClientError) -> str:
    return e.response["Error"]["Code"]


def error_message(e: botocore.exceptions.ClientError) -> str:
    return e.response["Error"]["Message"]


def cli_error_line(code: str, operation: str) -> str:
    """The start of the aws CLI's message for a service error."""
    return f"An error occurred ({code}) when calling the {operation} operation: "


def policy_doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: dict, action="sts:AssumeRole") -> str:
    return policy_doc({"Effect": "Allow", "Principal": principal, "Action": action})


def uniq(prefix: str) -> str:
    """A name no other test in the module uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- the server process -----------------------------------------------------------------------


def gatehouse_binary() -> Path:
    b = Path(os.environ.get("GATEHOUSE_BIN", REPO / "target" / "debug" / "gatehouse"))
    if not b.is_file():
        pytest.exit(
            f"{b} not found: build it with `cargo build -p gatehouse-cli` or set GATEHOUSE_BIN",
            returncode=2,
        )
    return b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql() -> str:
    found = shutil.which("psql") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)), None
    )
    if not found:
        pytest.fail("psql not found (it comes with the postgresql package scripts/postgres installs)")
    return found


def _sql(admin_url: str, statement: str) -> None:
    subprocess.run(
        [_psql(), admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement],
        check=True,
        capture_output=True,
        timeout=60,
    )


def fresh_postgres_database(admin_url: str) -> tuple[str, str]:
    """CREATE DATABASE with a unique name on the test server; its URL and name."""
    name = f"gh_e2e_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _sql(admin_url, f"CREATE DATABASE {name}")
    u = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(u._replace(path=f"/{name}")), name


class Process:
    def __init__(self, argv: list, log: Path):
        self.log = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def start_server(home: Path, database: str | None = None, backend: str = "sqlite"):
    """Starts `gatehouse serve`, waits for /healthz, reads the root credentials."""
    data_dir = home / "data"
    port = free_port()
    argv = [str(gatehouse_binary()), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)]
    if database:
        argv += ["--database", database]
    proc = Process(argv, home / "server.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if proc.proc.poll() is not None:
            pytest.fail(f"gatehouse serve exited {proc.proc.returncode}:\n{proc.output()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.stop()
            pytest.fail(f"gatehouse serve not healthy after {STARTUP_SECONDS}s:\n{proc.output()}")
        time.sleep(0.05)
    creds = json.loads((data_dir / "root-credentials.json").read_text())
    server = Server(
        url,
        Creds(creds["AccessKeyId"], creds["SecretAccessKey"]),
        creds["AccountId"],
        backend,
        home,
    )
    return server, proc


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """A server of this module's own, on each backend."""
    backend = request.param
    home = tmp_path_factory.mktemp(f"gatehouse-{backend}")
    database = db_name = None
    admin = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
    if backend == "postgres":
        if not admin:
            pytest.skip("no PostgreSQL: GATEHOUSE_TEST_POSTGRES_URL is unset (scripts/test and scripts/e2e start one)")
        database, db_name = fresh_postgres_database(admin)
    s, proc = start_server(home, database, backend)
    s.process = proc
    s.database = database
    yield s
    proc.stop()
    if db_name:
        try:
            _sql(admin, f"DROP DATABASE IF EXISTS {db_name}")
        except (subprocess.SubprocessError, OSError):
            pass


def new_user(server: Server, *inline: str, managed=(), path: str = "/", prefix: str = "user"):
    """Root creates a user with these inline policy documents and managed policy ARNs, and an
    access key; its name and credentials."""
    iam = server.iam()
    name = uniq(prefix)
    iam.create_user(UserName=name, Path=path)
    for n, doc in enumerate(inline):
        iam.put_user_policy(UserName=name, PolicyName=f"inline{n}", PolicyDocument=doc)
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    return name, Creds.of(iam.create_access_key(UserName=name)["AccessKey"])


def new_policy(server: Server, *statements: dict, prefix: str = "Policy") -> str:
    """Root creates a customer-managed policy; its ARN."""
    return server.iam().create_policy(PolicyName=uniq(prefix), PolicyDocument=policy_doc(*statements))["Policy"]["Arn"]


def denied(call, *args, **kwargs) -> botocore.exceptions.ClientError:
    """Calls and expects AccessDenied; the error."""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kwargs)
    assert error_code(e.value) == "AccessDenied", e.value.response["Error"]
    return e.value

"""Secrets (issue 9, item 7): the data directory is private (0700), the root credentials and
the secret key 0600; access-key secrets, session secrets and tokens are encrypted at rest
(they appear nowhere in the database files) and never logged, even at the most verbose log
level, whatever they are used for (signing, console sign-in, a wrong secret)."""

import json
import os
import stat
import urllib.parse
import urllib.request

import boto3

from conftest import REGION, Creds, start_server, trust


def test_secrets_are_private_encrypted_and_never_logged(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEHOUSE_LOG", "trace")
    server, proc = start_server(tmp_path)
    try:
        iam = server.iam()
        iam.create_user(UserName="keeper")
        key = iam.create_access_key(UserName="keeper")["AccessKey"]
        iam.put_user_policy(
            UserName="keeper", PolicyName="all",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:*", "sts:*"], "Resource": "*"}]}),
        )
        # Used to sign, from IAM and STS.
        keeper = Creds.of(key)
        server.iam(keeper).list_users()
        iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust({"AWS": server.arn("user", "keeper")}))
        session = server.sts(keeper).assume_role(RoleArn=server.arn("role", "worker"), RoleSessionName="keeper-session")["Credentials"]
        server.sts(Creds.of(session)).get_caller_identity()
        # Used to sign in to the console, and a wrong secret tried.
        for secret in (key["SecretAccessKey"], key["SecretAccessKey"][::-1]):
            body = urllib.parse.urlencode({"access_key_id": key["AccessKeyId"], "secret_access_key": secret}).encode()
            req = urllib.request.Request(server.url + "/console/signin", data=body, method="POST")
            try:
                urllib.request.urlopen(req, timeout=30).read()
            except urllib.error.HTTPError:
                pass
    finally:
        proc.stop()

    secrets = {
        "the user's secret access key": key["SecretAccessKey"],
        "the root secret access key": server.root.secret,
        "the session's secret access key": session["SecretAccessKey"],
        "the session token": session["SessionToken"],
    }
    log = proc.output()
    assert len(log) > 10_000, "trace logging did not happen: the test would prove nothing"
    for what, secret in secrets.items():
        assert secret not in log, f"{what} is in the log"

    data = tmp_path / "data"
    stored = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("gatehouse.db"))
    assert key["AccessKeyId"].encode() in stored, "the database files were not read"
    for what, secret in secrets.items():
        if what == "the root secret access key":
            continue  # it is in root-credentials.json by design (0600), checked below
        assert secret.encode() not in stored, f"{what} is stored in plain text"
    assert server.root.secret.encode() not in stored, "the root secret is stored in plain text in the database"

    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    for name in ("root-credentials.json", "secret.key"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name

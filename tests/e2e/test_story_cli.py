"""The seed's story through the aws CLI (v1), every step a command a user would type."""

import pytest

from conftest import Creds, allow, cli_error_line, policy_doc, trust

Q_DEVELOPER = "arn:aws:iam::aws:policy/AmazonQDeveloperAccess"


@pytest.fixture(scope="module")
def story(server, tmp_path_factory):
    files = tmp_path_factory.mktemp("cli-story")
    created = server.aws_json("iam", "create-user", "--user-name", "dev")["User"]
    server.aws("iam", "attach-user-policy", "--user-name", "dev", "--policy-arn", Q_DEVELOPER)
    key = server.aws_json("iam", "create-access-key", "--user-name", "dev")["AccessKey"]
    dev_arn = server.arn("user", "dev")
    sim_doc = files / "simulate-self.json"
    sim_doc.write_text(policy_doc(allow("iam:SimulatePrincipalPolicy", dev_arn)))
    sim = server.aws_json(
        "iam", "create-policy", "--policy-name", "SimulateSelf", "--policy-document", f"file://{sim_doc}"
    )["Policy"]
    server.aws("iam", "attach-user-policy", "--user-name", "dev", "--policy-arn", sim["Arn"])
    return {"user": created, "key": key, "dev": Creds.of(key), "dev_arn": dev_arn, "files": files}


def test_cli_sts_get_caller_identity_as_root(server):
    me = server.aws_json("sts", "get-caller-identity")
    assert me == {"UserId": server.account_id, "Account": server.account_id, "Arn": f"arn:aws:iam::{server.account_id}:root"}


def test_cli_create_user_prints_the_user(server, story):
    assert story["user"]["UserName"] == "dev"
    assert story["user"]["UserId"].startswith("AIDA")
    assert story["user"]["Arn"] == story["dev_arn"]


def test_cli_lists_amazon_q_developer_access_on_dev(server, story):
    out = server.aws_json("iam", "list-attached-user-policies", "--user-name", "dev")
    assert {"PolicyName": "AmazonQDeveloperAccess", "PolicyArn": Q_DEVELOPER} in out["AttachedPolicies"]


def test_cli_dev_key_signs_as_user_dev(server, story):
    me = server.aws_json("sts", "get-caller-identity", creds=story["dev"])
    assert me["Arn"] == story["dev_arn"]
    assert me["UserId"] == story["user"]["UserId"]


def test_cli_dev_simulation_allows_send_message_and_implicitly_denies_create_plugin(server, story):
    out = server.aws_json(
        "iam", "simulate-principal-policy",
        "--policy-source-arn", story["dev_arn"],
        "--action-names", "q:SendMessage", "q:CreatePlugin",
        creds=story["dev"],
    )
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in out["EvaluationResults"]] == [
        ("q:SendMessage", "allowed"),
        ("q:CreatePlugin", "implicitDeny"),
    ]


def test_cli_dev_create_policy_fails_with_access_denied_and_exit_255(server, story):
    doc = story["files"] / "mine.json"
    doc.write_text(policy_doc(allow("q:SendMessage")))
    r = server.aws_error(
        "iam", "create-policy", "--policy-name", "Mine", "--policy-document", f"file://{doc}",
        creds=story["dev"],
    )
    acct = server.account_id
    assert r.stderr.strip() == cli_error_line("AccessDenied", "CreatePolicy") + (
        f"User: arn:aws:iam::{acct}:user/dev is not authorized to perform: iam:CreatePolicy "
        f"on resource: arn:aws:iam::{acct}:policy/Mine because no identity-based policy allows "
        "the iam:CreatePolicy action"
    )


def test_cli_sixth_policy_version_is_limit_exceeded(server, story):
    doc = story["files"] / "team.json"
    doc.write_text(policy_doc(allow("s3:GetObject")))
    arn = server.aws_json(
        "iam", "create-policy", "--policy-name", "Team", "--policy-document", f"file://{doc}"
    )["Policy"]["Arn"]
    for n in range(2, 6):
        v = server.aws_json(
            "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", f"file://{doc}",
            *(["--set-as-default"] if n == 5 else []),
        )["PolicyVersion"]
        assert v["VersionId"] == f"v{n}"
    r = server.aws_error("iam", "create-policy-version", "--policy-arn", arn, "--policy-document", f"file://{doc}")
    assert r.stderr.strip() == cli_error_line("LimitExceeded", "CreatePolicyVersion") + (
        "A managed policy can have up to 5 versions. Before you create a new version, "
        "you must delete an existing version."
    )


def test_cli_amazon_q_service_linked_role_policy_is_not_attachable_to_dev(server, story):
    role = server.aws_json("iam", "create-service-linked-role", "--aws-service-name", "q.amazonaws.com")["Role"]
    assert role["Path"] == "/aws-service-role/q.amazonaws.com/"
    attached = server.aws_json("iam", "list-attached-role-policies", "--role-name", role["RoleName"])
    slr_policy = attached["AttachedPolicies"][0]["PolicyArn"]
    r = server.aws_error("iam", "attach-user-policy", "--user-name", "dev", "--policy-arn", slr_policy)
    assert cli_error_line("PolicyNotAttachable", "AttachUserPolicy") in r.stderr


# --- AssumeRole through the CLI ---------------------------------------------------------------

ROLE = "QDeveloperToolsCli"
SESSION = "dev-cli"


@pytest.fixture(scope="module")
def session(server, story):
    files = story["files"]
    (files / "trust.json").write_text(trust({"AWS": story["dev_arn"]}))
    role = server.aws_json(
        "iam", "create-role", "--role-name", ROLE, "--assume-role-policy-document", f"file://{files / 'trust.json'}"
    )["Role"]
    (files / "role.json").write_text(policy_doc(allow(["iam:GetUser", "iam:ListUsers"])))
    tools = server.aws_json(
        "iam", "create-policy", "--policy-name", "ToolsCli", "--policy-document", f"file://{files / 'role.json'}"
    )["Policy"]
    server.aws("iam", "attach-role-policy", "--role-name", ROLE, "--policy-arn", tools["Arn"])
    (files / "assume.json").write_text(policy_doc(allow("sts:AssumeRole", role["Arn"])))
    server.aws(
        "iam", "put-user-policy", "--user-name", "dev", "--policy-name", "assume-tools",
        "--policy-document", f"file://{files / 'assume.json'}",
    )
    (files / "session.json").write_text(policy_doc(allow(["iam:GetUser", "iam:ListRoles"])))
    out = server.aws_json(
        "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", SESSION,
        "--policy", f"file://{files / 'session.json'}",
        creds=story["dev"],
    )
    return {"role": role, "out": out, "creds": Creds.of(out["Credentials"])}


def test_cli_assume_role_prints_session_credentials(server, session):
    c = session["out"]["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert c["SessionToken"]
    assert session["out"]["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{server.account_id}:assumed-role/{ROLE}/{SESSION}"
    )


def test_cli_session_caller_identity_is_the_assumed_role_arn(server, session):
    me = server.aws_json("sts", "get-caller-identity", creds=session["creds"])
    assert me["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{ROLE}/{SESSION}"


def test_cli_session_may_do_what_role_and_session_policy_both_allow(server, session):
    assert server.aws_json("iam", "get-user", "--user-name", "dev", creds=session["creds"])["User"]["UserName"] == "dev"


def test_cli_session_is_denied_what_only_the_role_allows(server, session):
    r = server.aws_error("iam", "list-users", creds=session["creds"])
    assert cli_error_line("AccessDenied", "ListUsers") in r.stderr


def test_cli_session_is_denied_what_only_the_session_policy_allows(server, session):
    r = server.aws_error("iam", "list-roles", creds=session["creds"])
    assert cli_error_line("AccessDenied", "ListRoles") in r.stderr

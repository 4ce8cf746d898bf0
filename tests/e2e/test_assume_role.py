"""STS AssumeRole beyond the story: the trust policy decides who may assume, session policies
(inline and managed ARNs) only narrow, session tags are principal tags, durations are bounded,
and session credentials need their token."""

import time

import pytest
from botocore.exceptions import ClientError

from conftest import (
    Creds, allow, denied, error_code, error_message, new_policy, new_user, policy_doc, trust, uniq,
)


def make_role(server, principal_arn, *actions, max_session=None, trust_actions="sts:AssumeRole", condition=None):
    iam = server.iam()
    name = uniq("role")
    extra = {"MaxSessionDuration": max_session} if max_session else {}
    statement = {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": trust_actions}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy_doc(statement), **extra)["Role"]
    if actions:
        stmt = allow(list(actions))
        if condition:
            stmt["Condition"] = condition
        iam.attach_role_policy(RoleName=name, PolicyArn=new_policy(server, stmt, prefix="RolePerms"))
    return role


@pytest.fixture
def caller(server):
    """A user allowed to call sts:AssumeRole and sts:TagSession on any role."""
    name, creds = new_user(server, policy_doc(allow(["sts:AssumeRole", "sts:TagSession"])), prefix="caller")
    return server.arn("user", name), creds


def test_assume_role_without_a_session_policy_has_the_roles_permissions(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListUsers", "iam:ListRoles")
    out = server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="plain")
    session = server.iam(Creds.of(out["Credentials"]))
    session.list_users()
    session.list_roles()
    assert "PackedPolicySize" not in out


def test_assume_role_not_allowed_by_the_trust_policy_is_access_denied(server, caller):
    arn, creds = caller
    someone_else = server.arn("user", uniq("other"))
    server.iam().create_user(UserName=someone_else.rsplit("/", 1)[1])
    role = make_role(server, someone_else, "iam:ListUsers")
    e = denied(server.sts(creds).assume_role, RoleArn=role["Arn"], RoleSessionName="nope")
    assert error_message(e).startswith(
        f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}"
    )


def test_assume_role_of_a_missing_role_is_access_denied(server, caller):
    _, creds = caller
    denied(server.sts(creds).assume_role, RoleArn=server.arn("role", "no-such-role"), RoleSessionName="s1")


def test_session_policy_arns_narrow_the_session(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListUsers", "iam:ListRoles")
    only_roles = new_policy(server, allow("iam:ListRoles"), prefix="OnlyRoles")
    out = server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="arns", PolicyArns=[{"arn": only_roles}])
    session = server.iam(Creds.of(out["Credentials"]))
    session.list_roles()
    e = denied(session.list_users)
    assert "because no session policy allows the iam:ListUsers action" in error_message(e)


def test_session_policy_cannot_widen_the_role(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    out = server.sts(creds).assume_role(
        RoleArn=role["Arn"], RoleSessionName="wide", Policy=policy_doc(allow("*"))
    )
    session = server.iam(Creds.of(out["Credentials"]))
    session.list_roles()
    denied(session.list_users)


def test_malformed_session_policy_is_malformed_policy_document(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    sts = server.sts(creds)
    with pytest.raises(sts.exceptions.MalformedPolicyDocumentException):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="bad", Policy='{"Version": "2012-10-17", "Statement": [')


def test_duration_seconds_sets_the_expiration(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    out = server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900)
    left = out["Credentials"]["Expiration"].timestamp() - time.time()
    assert 840 < left <= 960


def test_duration_above_the_roles_maximum_is_validation_error(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    with pytest.raises(ClientError) as e:
        server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7200)
    assert error_code(e.value) == "ValidationError"
    assert error_message(e.value) == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def test_duration_up_to_a_raised_maximum_is_allowed(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles", max_session=7200)
    out = server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7200)
    assert out["Credentials"]["Expiration"].timestamp() - time.time() > 7000


def test_session_tags_are_principal_tags_in_the_session(server, caller):
    arn, creds = caller
    role = make_role(
        server, arn, "iam:ListRoles",
        trust_actions=["sts:AssumeRole", "sts:TagSession"],
        condition={"StringEquals": {"aws:PrincipalTag/team": "q"}},
    )
    sts = server.sts(creds)
    tagged = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="team-q", Tags=[{"Key": "team", "Value": "q"}])
    server.iam(Creds.of(tagged["Credentials"])).list_roles()
    other = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="team-x", Tags=[{"Key": "team", "Value": "x"}])
    denied(server.iam(Creds.of(other["Credentials"])).list_roles)


def test_session_tags_need_tag_session_in_the_trust_policy(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")  # trust allows sts:AssumeRole only
    denied(server.sts(creds).assume_role, RoleArn=role["Arn"], RoleSessionName="tags", Tags=[{"Key": "team", "Value": "q"}])


def test_duplicate_session_tag_keys_are_invalid_parameter_value(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles", trust_actions=["sts:AssumeRole", "sts:TagSession"])
    with pytest.raises(ClientError) as e:
        server.sts(creds).assume_role(
            RoleArn=role["Arn"], RoleSessionName="dup",
            Tags=[{"Key": "team", "Value": "q"}, {"Key": "TEAM", "Value": "x"}],
        )
    assert error_code(e.value) == "InvalidParameterValue"


def test_session_key_without_its_token_is_invalid_client_token_id(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    c = server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="notoken")["Credentials"]
    with pytest.raises(ClientError) as e:
        server.sts(Creds(c["AccessKeyId"], c["SecretAccessKey"])).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_tampered_session_token_is_rejected(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    c = server.sts(creds).assume_role(RoleArn=role["Arn"], RoleSessionName="tamper")["Credentials"]
    token = c["SessionToken"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(ClientError) as e:
        server.sts(Creds(c["AccessKeyId"], c["SecretAccessKey"], forged)).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_session_credentials_work_with_the_cli(server, caller):
    arn, creds = caller
    role = make_role(server, arn, "iam:ListRoles")
    c = server.aws_json("sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli", creds=creds)
    me = server.aws_json("sts", "get-caller-identity", creds=Creds.of(c["Credentials"]))
    assert me["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/cli"

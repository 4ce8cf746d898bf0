"""The seed's story through boto3: root sets up `dev` with Amazon Q Developer access; dev's
simulation and refusals; a customer policy's versions; the Amazon Q service-linked role; a
role dev assumes with a session policy that narrows it."""

import time

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, allow, error_code, error_message, policy_doc, trust

Q_DEVELOPER = "arn:aws:iam::aws:policy/AmazonQDeveloperAccess"


@pytest.fixture(scope="module")
def story(server):
    """Root creates `dev`, attaches AmazonQDeveloperAccess, creates dev's access key, and lets
    dev simulate its own policies (AmazonQDeveloperAccess has no iam:SimulatePrincipalPolicy)."""
    iam = server.iam()
    created = iam.create_user(UserName="dev")["User"]
    iam.attach_user_policy(UserName="dev", PolicyArn=Q_DEVELOPER)
    key = iam.create_access_key(UserName="dev")["AccessKey"]
    dev_arn = server.arn("user", "dev")
    sim = iam.create_policy(
        PolicyName="SimulateSelf",
        PolicyDocument=policy_doc(allow("iam:SimulatePrincipalPolicy", dev_arn)),
    )["Policy"]
    iam.attach_user_policy(UserName="dev", PolicyArn=sim["Arn"])
    return {"user": created, "key": key, "dev": Creds.of(key), "dev_arn": dev_arn}


def test_root_credentials_are_the_account_root(server):
    me = server.sts().get_caller_identity()
    assert me["Account"] == server.account_id
    assert me["Arn"] == f"arn:aws:iam::{server.account_id}:root"


def test_create_user_answers_the_user_with_an_aida_id(server, story):
    user = story["user"]
    assert user["UserName"] == "dev"
    assert user["Path"] == "/"
    assert user["UserId"].startswith("AIDA")
    assert user["Arn"] == story["dev_arn"]


def test_creating_dev_again_is_entity_already_exists(server, story):
    iam = server.iam()
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as e:
        iam.create_user(UserName="dev")
    assert error_message(e.value) == "User with name dev already exists."


def test_amazon_q_developer_access_is_attached_to_dev(server, story):
    attached = server.iam().list_attached_user_policies(UserName="dev")
    assert {"PolicyName": "AmazonQDeveloperAccess", "PolicyArn": Q_DEVELOPER} in attached["AttachedPolicies"]
    assert attached["IsTruncated"] is False


def test_dev_access_key_is_active_and_shown_once(server, story):
    key = story["key"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    listed = server.iam().list_access_keys(UserName="dev")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]


def test_dev_key_signs_as_user_dev(server, story):
    me = server.sts(story["dev"]).get_caller_identity()
    assert me["Arn"] == story["dev_arn"]
    assert me["UserId"] == story["user"]["UserId"]
    assert me["Account"] == server.account_id


def test_dev_simulation_allows_send_message_and_implicitly_denies_create_plugin(server, story):
    results = server.iam(story["dev"]).simulate_principal_policy(
        PolicySourceArn=story["dev_arn"], ActionNames=["q:SendMessage", "q:CreatePlugin"]
    )["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in results] == [
        ("q:SendMessage", "allowed"),
        ("q:CreatePlugin", "implicitDeny"),
    ]
    assert results[0]["MatchedStatements"][0]["SourcePolicyId"] == "AmazonQDeveloperAccess"
    assert results[1]["MatchedStatements"] == []


def test_dev_create_policy_is_access_denied_with_awss_message(server, story):
    dev = server.iam(story["dev"])
    with pytest.raises(ClientError) as e:
        dev.create_policy(PolicyName="Mine", PolicyDocument=policy_doc(allow("q:SendMessage")))
    assert error_code(e.value) == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    acct = server.account_id
    assert error_message(e.value) == (
        f"User: arn:aws:iam::{acct}:user/dev is not authorized to perform: iam:CreatePolicy "
        f"on resource: arn:aws:iam::{acct}:policy/Mine because no identity-based policy allows "
        "the iam:CreatePolicy action"
    )


def test_root_versions_a_customer_policy_and_the_sixth_version_is_limit_exceeded(server, story):
    iam = server.iam()
    arn = iam.create_policy(PolicyName="Team", PolicyDocument=policy_doc(allow("s3:GetObject")))["Policy"]["Arn"]
    for n in range(2, 6):
        v = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=policy_doc(allow("s3:PutObject")), SetAsDefault=(n == 5)
        )["PolicyVersion"]
        assert v["VersionId"] == f"v{n}"
    with pytest.raises(iam.exceptions.LimitExceededException) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy_doc(allow("s3:*")))
    assert error_message(e.value) == (
        "A managed policy can have up to 5 versions. Before you create a new version, "
        "you must delete an existing version."
    )
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted((v["VersionId"], v["IsDefaultVersion"]) for v in versions) == [
        ("v1", False), ("v2", False), ("v3", False), ("v4", False), ("v5", True)
    ]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v5"


@pytest.fixture(scope="module")
def q_service_role(server, story):
    return server.iam().create_service_linked_role(AWSServiceName="q.amazonaws.com")["Role"]


def test_amazon_q_service_linked_role_is_created_where_aws_puts_it(server, q_service_role):
    assert q_service_role["RoleName"] == "AWSServiceRoleForAmazonQDeveloper"
    assert q_service_role["Path"] == "/aws-service-role/q.amazonaws.com/"
    assert q_service_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "q.amazonaws.com"
    }


def test_service_linked_role_policy_cannot_be_attached_to_dev(server, q_service_role):
    iam = server.iam()
    attached = iam.list_attached_role_policies(RoleName=q_service_role["RoleName"])["AttachedPolicies"]
    assert len(attached) == 1
    slr_policy = attached[0]["PolicyArn"]
    assert slr_policy.startswith("arn:aws:iam::aws:policy/aws-service-role/")
    with pytest.raises(iam.exceptions.PolicyNotAttachableException):
        iam.attach_user_policy(UserName="dev", PolicyArn=slr_policy)
    names = [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="dev")["AttachedPolicies"]]
    assert slr_policy not in names


# --- AssumeRole: a role whose trust policy allows dev, narrowed by a session policy -----------

ROLE = "QDeveloperTools"
SESSION = "dev-session"


@pytest.fixture(scope="module")
def session(server, story):
    """The role may GetUser and ListUsers; the session policy allows GetUser and ListRoles; so
    the session may GetUser only."""
    iam = server.iam()
    role = iam.create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=trust({"AWS": story["dev_arn"]})
    )["Role"]
    tools = iam.create_policy(
        PolicyName="Tools", PolicyDocument=policy_doc(allow(["iam:GetUser", "iam:ListUsers"]))
    )["Policy"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=tools["Arn"])
    iam.put_user_policy(
        UserName="dev",
        PolicyName="assume-tools",
        PolicyDocument=policy_doc(allow("sts:AssumeRole", role["Arn"])),
    )
    out = server.sts(story["dev"]).assume_role(
        RoleArn=role["Arn"],
        RoleSessionName=SESSION,
        Policy=policy_doc(allow(["iam:GetUser", "iam:ListRoles"])),
    )
    return {"role": role, "out": out, "creds": Creds.of(out["Credentials"])}


def test_assume_role_answers_temporary_credentials(server, session):
    c = session["out"]["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert c["SessionToken"]
    left = c["Expiration"].timestamp() - time.time()
    assert 3500 < left <= 3600 + 60, "the default duration is an hour"
    user = session["out"]["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{ROLE}/{SESSION}"
    assert user["AssumedRoleId"] == f"{session['role']['RoleId']}:{SESSION}"


def test_session_caller_identity_is_the_assumed_role_arn(server, session):
    me = server.sts(session["creds"]).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{ROLE}/{SESSION}"
    assert me["UserId"] == f"{session['role']['RoleId']}:{SESSION}"
    assert me["Account"] == server.account_id


def test_session_may_do_what_role_and_session_policy_both_allow(server, session):
    got = server.iam(session["creds"]).get_user(UserName="dev")
    assert got["User"]["UserName"] == "dev"


def test_session_is_denied_what_only_the_role_allows(server, session):
    with pytest.raises(ClientError) as e:
        server.iam(session["creds"]).list_users()
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value).startswith(
        f"User: arn:aws:sts::{server.account_id}:assumed-role/{ROLE}/{SESSION} is not authorized "
        "to perform: iam:ListUsers on resource: "
    )


def test_session_is_denied_what_only_the_session_policy_allows(server, session):
    with pytest.raises(ClientError) as e:
        server.iam(session["creds"]).list_roles()
    assert error_code(e.value) == "AccessDenied"


def test_assume_role_with_a_session_policy_reports_packed_policy_size(server, session):
    # AWS answers PackedPolicySize (a percentage of the limit) whenever a session policy is passed.
    assert 0 < session["out"]["PackedPolicySize"] <= 100

"""ListEntitiesForPolicy and GetAccountAuthorizationDetails: who uses a policy, and the whole
account in one answer."""

import json

import pytest

from conftest import allow, new_policy, policy_doc, trust, uniq


@pytest.fixture(scope="module")
def scene(server):
    """A policy attached to a user, a group and a role, and used as another user's boundary."""
    iam = server.iam()
    arn = new_policy(server, allow("s3:GetObject"), prefix="Shared")
    user, group, role, bounded = uniq("u"), uniq("g"), uniq("r"), uniq("b")
    iam.create_user(UserName=user, Path="/team/")
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    iam.create_user(UserName=bounded)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.put_user_permissions_boundary(UserName=bounded, PermissionsBoundary=arn)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=policy_doc(allow("s3:ListBucket")))
    return {"arn": arn, "user": user, "group": group, "role": role, "bounded": bounded}


def test_list_entities_for_policy_names_every_attached_entity(server, scene):
    out = server.iam().list_entities_for_policy(PolicyArn=scene["arn"], PolicyUsageFilter="PermissionsPolicy")
    assert [u["UserName"] for u in out["PolicyUsers"]] == [scene["user"]]
    assert [g["GroupName"] for g in out["PolicyGroups"]] == [scene["group"]]
    assert [r["RoleName"] for r in out["PolicyRoles"]] == [scene["role"]]
    assert out["PolicyUsers"][0]["UserId"].startswith("AIDA")
    assert out["PolicyGroups"][0]["GroupId"].startswith("AGPA")
    assert out["PolicyRoles"][0]["RoleId"].startswith("AROA")


def test_list_entities_for_policy_filters_by_entity_and_path(server, scene):
    iam = server.iam()
    roles_only = iam.list_entities_for_policy(PolicyArn=scene["arn"], EntityFilter="Role")
    assert roles_only["PolicyUsers"] == [] and roles_only["PolicyGroups"] == []
    assert [r["RoleName"] for r in roles_only["PolicyRoles"]] == [scene["role"]]
    team = iam.list_entities_for_policy(PolicyArn=scene["arn"], EntityFilter="User", PathPrefix="/team/")
    assert [u["UserName"] for u in team["PolicyUsers"]] == [scene["user"]]


def test_list_entities_for_policy_boundary_usage(server, scene):
    out = server.iam().list_entities_for_policy(PolicyArn=scene["arn"], PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in out["PolicyUsers"]] == [scene["bounded"]]


def test_list_entities_for_a_missing_policy_is_no_such_entity(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.list_entities_for_policy(PolicyArn=f"arn:aws:iam::{server.account_id}:policy/Nope")


def test_list_entities_for_an_aws_managed_policy(server, scene):
    iam = server.iam()
    iam.attach_role_policy(RoleName=scene["role"], PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    out = iam.list_entities_for_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert scene["role"] in [r["RoleName"] for r in out["PolicyRoles"]]


def test_account_authorization_details_describe_users_with_groups_and_policies(server, scene):
    out = server.iam().get_account_authorization_details(Filter=["User"])
    assert out["GroupDetailList"] == [] and out["RoleDetailList"] == [] and out["Policies"] == []
    user = next(u for u in out["UserDetailList"] if u["UserName"] == scene["user"])
    assert user["GroupList"] == [scene["group"]]
    assert scene["arn"] in [p["PolicyArn"] for p in user["AttachedManagedPolicies"]]
    assert user["UserPolicyList"][0]["PolicyName"] == "inline"
    assert user["UserPolicyList"][0]["PolicyDocument"] == json.loads(policy_doc(allow("s3:ListBucket")))
    bounded = next(u for u in out["UserDetailList"] if u["UserName"] == scene["bounded"])
    assert bounded["PermissionsBoundary"]["PermissionsBoundaryArn"] == scene["arn"]


def test_account_authorization_details_describe_roles_with_decoded_trust(server, scene):
    out = server.iam().get_account_authorization_details(Filter=["Role"])
    role = next(r for r in out["RoleDetailList"] if r["RoleName"] == scene["role"])
    assert role["AssumeRolePolicyDocument"] == json.loads(trust({"Service": "ec2.amazonaws.com"}))
    assert scene["arn"] in [p["PolicyArn"] for p in role["AttachedManagedPolicies"]]


def test_account_authorization_details_list_local_policies_with_every_version(server, scene):
    iam = server.iam()
    iam.create_policy_version(PolicyArn=scene["arn"], PolicyDocument=policy_doc(allow("s3:PutObject")))
    pages = iam.get_paginator("get_account_authorization_details").paginate(Filter=["LocalManagedPolicy"])
    policies = [p for page in pages for p in page["Policies"]]
    mine = next(p for p in policies if p["Arn"] == scene["arn"])
    docs = {v["VersionId"]: v["Document"] for v in mine["PolicyVersionList"]}
    assert docs == {
        "v1": json.loads(policy_doc(allow("s3:GetObject"))),
        "v2": json.loads(policy_doc(allow("s3:PutObject"))),
    }
    assert all(":aws:policy/" not in p["Arn"] for p in policies)


def test_account_authorization_details_groups(server, scene):
    out = server.iam().get_account_authorization_details(Filter=["Group"])
    group = next(g for g in out["GroupDetailList"] if g["GroupName"] == scene["group"])
    assert scene["arn"] in [p["PolicyArn"] for p in group["AttachedManagedPolicies"]]


def test_cli_get_account_authorization_details(server, scene):
    out = server.aws_json("iam", "get-account-authorization-details", "--filter", "User")
    assert scene["user"] in [u["UserName"] for u in out["UserDetailList"]]


def test_cli_list_entities_for_policy(server, scene):
    out = server.aws_json("iam", "list-entities-for-policy", "--policy-arn", scene["arn"], "--entity-filter", "Group")
    assert [g["GroupName"] for g in out["PolicyGroups"]] == [scene["group"]]

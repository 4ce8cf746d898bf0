"""Permissions boundaries on users and roles: shown by Get, cap what identity policies allow,
counted on the policy, and keep the policy from being deleted."""

import pytest

from conftest import Creds, allow, denied, error_message, new_policy, new_user, policy_doc, trust, uniq

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_put_user_permissions_boundary_shows_in_get_user(server):
    iam = server.iam()
    boundary = new_policy(server, allow("iam:List*"), prefix="Boundary")
    user, _ = new_user(server)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }


def test_boundary_caps_an_administrator(server):
    iam = server.iam()
    boundary = new_policy(server, allow("iam:ListRoles"), prefix="Boundary")
    user, creds = new_user(server, managed=[ADMIN])
    me = server.iam(creds)
    me.list_users()
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    me.list_roles()
    e = denied(me.list_users)
    assert "because no permissions boundary allows the iam:ListUsers action" in error_message(e)
    iam.delete_user_permissions_boundary(UserName=user)
    me.list_users()
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]


def test_boundary_grants_nothing_by_itself(server):
    iam = server.iam()
    user, creds = new_user(server)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=ADMIN)
    denied(server.iam(creds).list_roles)


def test_create_user_with_a_boundary(server):
    iam = server.iam()
    boundary = new_policy(server, allow("iam:List*"), prefix="Boundary")
    name = uniq("bounded")
    created = iam.create_user(UserName=name, PermissionsBoundary=boundary)["User"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_role_boundary_caps_its_sessions(server):
    iam = server.iam()
    caller, creds = new_user(server, policy_doc(allow("sts:AssumeRole")))
    name = uniq("bounded-role")
    boundary = new_policy(server, allow("iam:ListRoles"), prefix="Boundary")
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust({"AWS": server.arn("user", caller)}),
        PermissionsBoundary=boundary,
    )
    iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN)
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    out = server.sts(creds).assume_role(RoleArn=server.arn("role", name), RoleSessionName="capped")
    session = server.iam(Creds.of(out["Credentials"]))
    session.list_roles()
    denied(session.list_users)


def test_put_and_delete_role_permissions_boundary(server):
    iam = server.iam()
    name = uniq("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    boundary = new_policy(server, allow("s3:*"), prefix="Boundary")
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]


def test_boundary_usage_is_counted_on_the_policy(server):
    iam = server.iam()
    boundary = new_policy(server, allow("s3:*"), prefix="Boundary")
    user, _ = new_user(server)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    policy = iam.get_policy(PolicyArn=boundary)["Policy"]
    assert policy["PermissionsBoundaryUsageCount"] == 1
    assert policy["AttachmentCount"] == 0


def test_policy_used_as_a_boundary_cannot_be_deleted(server):
    iam = server.iam()
    boundary = new_policy(server, allow("s3:*"), prefix="Boundary")
    user, _ = new_user(server)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_policy(PolicyArn=boundary)


def test_missing_boundary_policy_is_no_such_entity(server):
    iam = server.iam()
    user, _ = new_user(server)
    missing = f"arn:aws:iam::{server.account_id}:policy/NoSuchBoundary"
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=missing)
    assert error_message(e.value) == f"Scope ARN: {missing} does not exist or is not attachable."


def test_list_policies_filters_by_boundary_usage(server):
    iam = server.iam()
    boundary = new_policy(server, allow("s3:*"), prefix="Boundary")
    user, _ = new_user(server)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    pages = iam.get_paginator("list_policies").paginate(Scope="Local", PolicyUsageFilter="PermissionsBoundary")
    assert boundary in {p["Arn"] for page in pages for p in page["Policies"]}


def test_cli_put_user_permissions_boundary(server):
    iam = server.iam()
    boundary = new_policy(server, allow("s3:*"), prefix="Boundary")
    user, _ = new_user(server)
    server.aws("iam", "put-user-permissions-boundary", "--user-name", user, "--permissions-boundary", boundary)
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary

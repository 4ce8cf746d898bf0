"""Roles beyond the story: UpdateRole, listing by path, deletes refused while in use, and the
service-linked role's protections."""

import pytest
from botocore.exceptions import ClientError

from conftest import allow, error_code, error_message, new_policy, trust, uniq

EC2 = {"Service": "ec2.amazonaws.com"}


def make_role(server, **kw):
    name = uniq("role")
    server.iam().create_role(RoleName=name, AssumeRolePolicyDocument=trust(EC2), **kw)
    return name


def test_update_role_changes_description_and_max_session_duration(server):
    iam = server.iam()
    name = make_role(server, Description="before")
    iam.update_role(RoleName=name, Description="after", MaxSessionDuration=7200)
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("after", 7200)


def test_update_role_with_a_session_duration_out_of_range_is_validation_error(server):
    iam = server.iam()
    name = make_role(server)
    with pytest.raises(ClientError) as e:
        iam.update_role(RoleName=name, MaxSessionDuration=50000)
    assert error_code(e.value) == "ValidationError"


def test_update_missing_role_is_no_such_entity(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.update_role(RoleName="no-such-role", Description="x")
    assert error_message(e.value) == "The role with name no-such-role cannot be found."


def test_cli_update_role(server):
    name = make_role(server)
    r = server.aws("iam", "update-role", "--role-name", name, "--description", "from the CLI")
    assert r.stdout.strip() in ("", "{}")
    assert server.iam().get_role(RoleName=name)["Role"]["Description"] == "from the CLI"


def test_create_role_answers_the_role_without_max_session_duration(server):
    iam = server.iam()
    name = uniq("role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(EC2), Path="/svc/", Description="d")["Role"]
    assert role["RoleId"].startswith("AROA")
    assert role["Arn"] == server.arn("role", name, "/svc/")
    assert role["Description"] == "d"


def test_duplicate_role_is_entity_already_exists(server):
    iam = server.iam()
    name = make_role(server)
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as e:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(EC2))
    assert error_message(e.value) == f"Role with name {name} already exists."


def test_list_roles_by_path_prefix(server):
    iam = server.iam()
    path = f"/{uniq('p')}/"
    names = sorted(make_role(server, Path=path) for _ in range(2))
    assert sorted(r["RoleName"] for r in iam.list_roles(PathPrefix=path)["Roles"]) == names


def test_delete_role_with_an_attached_policy_is_delete_conflict(server):
    iam = server.iam()
    name = make_role(server)
    arn = new_policy(server, allow("s3:GetObject"))
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    with pytest.raises(iam.exceptions.DeleteConflictException) as e:
        iam.delete_role(RoleName=name)
    assert error_message(e.value) == "Cannot delete entity, must detach all policies first."
    iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    iam.delete_role(RoleName=name)


def test_update_assume_role_policy_replaces_the_trust_policy(server):
    iam = server.iam()
    name = make_role(server)
    lambda_trust = trust({"Service": "lambda.amazonaws.com"})
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=lambda_trust)
    doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_role_inline_policies(server):
    iam = server.iam()
    name = make_role(server)
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument='{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}')
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p"]
    assert iam.get_role_policy(RoleName=name, PolicyName="p")["PolicyDocument"]["Statement"]["Action"] == "s3:*"
    iam.delete_role_policy(RoleName=name, PolicyName="p")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []


def test_service_linked_role_cannot_be_deleted_with_delete_role(server):
    iam = server.iam()
    try:
        role = iam.create_service_linked_role(AWSServiceName="q.amazonaws.com")["Role"]["RoleName"]
    except iam.exceptions.InvalidInputException:
        role = "AWSServiceRoleForAmazonQDeveloper"
    with pytest.raises(iam.exceptions.UnmodifiableEntityException):
        iam.delete_role(RoleName=role)
    with pytest.raises(iam.exceptions.UnmodifiableEntityException):
        iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")


def test_second_service_linked_role_for_the_same_service_is_invalid_input(server):
    iam = server.iam()
    try:
        iam.create_service_linked_role(AWSServiceName="q.amazonaws.com")
    except iam.exceptions.InvalidInputException:
        pass
    with pytest.raises(iam.exceptions.InvalidInputException) as e:
        iam.create_service_linked_role(AWSServiceName="q.amazonaws.com")
    assert "has been taken in this account" in error_message(e.value)

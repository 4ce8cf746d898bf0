"""Tags on users, roles and policies: set at creation or later, merged, removed, listed sorted,
bounded, and visible to policies as aws:PrincipalTag."""

import pytest
from botocore.exceptions import ClientError

from conftest import allow, denied, error_code, new_user, policy_doc, trust, uniq


def tags(*pairs):
    return [{"Key": k, "Value": v} for k, v in pairs]


def test_create_user_with_tags_shows_them_in_get_user(server):
    iam = server.iam()
    name = uniq("tagged")
    created = iam.create_user(UserName=name, Tags=tags(("team", "q"), ("cost", "42")))["User"]
    assert sorted(created["Tags"], key=lambda t: t["Key"]) == tags(("cost", "42"), ("team", "q"))
    assert sorted(iam.get_user(UserName=name)["User"]["Tags"], key=lambda t: t["Key"]) == tags(("cost", "42"), ("team", "q"))


def test_tag_user_merges_and_list_user_tags_sorts_by_key(server):
    iam = server.iam()
    name = uniq("tagged")
    iam.create_user(UserName=name, Tags=tags(("team", "q")))
    iam.tag_user(UserName=name, Tags=tags(("env", "dev"), ("team", "z")))
    assert iam.list_user_tags(UserName=name)["Tags"] == tags(("env", "dev"), ("team", "z"))


def test_untag_user_removes_keys_and_ignores_absent_ones(server):
    iam = server.iam()
    name = uniq("tagged")
    iam.create_user(UserName=name, Tags=tags(("a", "1"), ("b", "2")))
    iam.untag_user(UserName=name, TagKeys=["a", "not-there"])
    assert iam.list_user_tags(UserName=name)["Tags"] == tags(("b", "2"))


def test_tag_and_untag_role(server):
    iam = server.iam()
    name = uniq("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}), Tags=tags(("x", "1")))
    iam.tag_role(RoleName=name, Tags=tags(("y", "2")))
    assert iam.list_role_tags(RoleName=name)["Tags"] == tags(("x", "1"), ("y", "2"))
    iam.untag_role(RoleName=name, TagKeys=["x"])
    assert iam.get_role(RoleName=name)["Role"]["Tags"] == tags(("y", "2"))


def test_tag_and_untag_customer_policy(server):
    iam = server.iam()
    arn = iam.create_policy(PolicyName=uniq("P"), PolicyDocument=policy_doc(allow("s3:GetObject")), Tags=tags(("k", "v")))["Policy"]["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=tags(("k2", "v2")))
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == tags(("k", "v"), ("k2", "v2"))
    iam.untag_policy(PolicyArn=arn, TagKeys=["k"])
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Tags"] == tags(("k2", "v2"))


def test_duplicate_tag_keys_in_one_request_are_invalid_input(server):
    iam = server.iam()
    name = uniq("dup")
    iam.create_user(UserName=name)
    with pytest.raises(iam.exceptions.InvalidInputException) as e:
        iam.tag_user(UserName=name, Tags=tags(("Team", "a"), ("team", "b")))
    assert e.value.response["Error"]["Message"] == "Duplicate tag keys found. Please note that Tag keys are case insensitive."


def test_more_than_fifty_tags_in_total_is_limit_exceeded(server):
    iam = server.iam()
    name = uniq("many")
    iam.create_user(UserName=name, Tags=tags(*[(f"k{i}", "v") for i in range(50)]))
    with pytest.raises(iam.exceptions.LimitExceededException):
        iam.tag_user(UserName=name, Tags=tags(("one-more", "v")))


def test_tagging_a_missing_user_is_no_such_entity(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.tag_user(UserName="no-such-user", Tags=tags(("a", "b")))


def test_principal_tag_condition_follows_the_users_tags(server):
    iam = server.iam()
    only_team_q = policy_doc(allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalTag/team": "q"}}))
    user, creds = new_user(server, only_team_q)
    me = server.iam(creds)
    denied(me.list_roles)
    iam.tag_user(UserName=user, Tags=tags(("team", "q")))
    me.list_roles()
    iam.untag_user(UserName=user, TagKeys=["team"])
    denied(me.list_roles)


def test_cli_tag_user_and_list_user_tags(server):
    name = uniq("cli-tags")
    server.aws("iam", "create-user", "--user-name", name)
    server.aws("iam", "tag-user", "--user-name", name, "--tags", "Key=team,Value=q", "Key=env,Value=dev")
    assert server.aws_json("iam", "list-user-tags", "--user-name", name)["Tags"] == tags(("env", "dev"), ("team", "q"))


def test_tag_value_too_long_is_validation_error(server):
    iam = server.iam()
    name = uniq("long")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.tag_user(UserName=name, Tags=tags(("k", "v" * 257)))
    assert error_code(e.value) == "ValidationError"

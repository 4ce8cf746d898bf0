"""Groups: create, membership, managed and inline policies, and members gaining the group's
permissions."""

import pytest

from conftest import allow, denied, error_message, new_policy, new_user, policy_doc, uniq


def test_create_group_answers_an_agpa_id_and_arn(server):
    name = uniq("group")
    g = server.iam().create_group(GroupName=name, Path="/eng/")["Group"]
    assert g["GroupId"].startswith("AGPA")
    assert g["Arn"] == server.arn("group", name, "/eng/")
    assert g["Path"] == "/eng/"


def test_duplicate_group_is_entity_already_exists(server):
    iam = server.iam()
    name = uniq("group")
    iam.create_group(GroupName=name)
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as e:
        iam.create_group(GroupName=name)
    assert error_message(e.value) == f"Group with name {name} already exists."


def test_missing_group_is_no_such_entity(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.get_group(GroupName="no-such-group")
    assert error_message(e.value) == "The group with name no-such-group cannot be found."


def test_get_group_lists_its_members_and_list_groups_for_user_its_groups(server):
    iam = server.iam()
    group, user = uniq("group"), uniq("member")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    iam.remove_user_from_group(GroupName=group, UserName=user)
    assert iam.get_group(GroupName=group)["Users"] == []


def test_list_groups_paginator_filters_by_path(server):
    iam = server.iam()
    path = f"/{uniq('p')}/"
    names = sorted(uniq("g") for _ in range(3))
    for n in names:
        iam.create_group(GroupName=n, Path=path)
    pages = iam.get_paginator("list_groups").paginate(PathPrefix=path, PaginationConfig={"PageSize": 2})
    assert sorted(g["GroupName"] for page in pages for g in page["Groups"]) == names


def test_member_gains_the_groups_managed_policy_and_loses_it_when_removed(server):
    iam = server.iam()
    group = uniq("readers")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=new_policy(server, allow("iam:ListRoles")))
    user, creds = new_user(server)
    me = server.iam(creds)
    denied(me.list_roles)
    iam.add_user_to_group(GroupName=group, UserName=user)
    me.list_roles()
    iam.remove_user_from_group(GroupName=group, UserName=user)
    denied(me.list_roles)


def test_member_gains_the_groups_inline_policy(server):
    iam = server.iam()
    group = uniq("inline")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="roles", PolicyDocument=policy_doc(allow("iam:ListRoles")))
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["roles"]
    assert iam.get_group_policy(GroupName=group, PolicyName="roles")["PolicyDocument"]["Statement"][0]["Action"] == "iam:ListRoles"
    user, creds = new_user(server)
    iam.add_user_to_group(GroupName=group, UserName=user)
    server.iam(creds).list_roles()


def test_group_deny_overrides_the_users_allow(server):
    iam = server.iam()
    group = uniq("deny")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="no", PolicyDocument=policy_doc({"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}))
    user, creds = new_user(server, policy_doc(allow("iam:ListRoles")))
    iam.add_user_to_group(GroupName=group, UserName=user)
    e = denied(server.iam(creds).list_roles)
    assert "with an explicit deny in an identity-based policy" in error_message(e)


def test_simulation_of_a_member_includes_the_groups_policies(server):
    iam = server.iam()
    group = uniq("sim")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonQDeveloperAccess")
    user, _ = new_user(server)
    iam.add_user_to_group(GroupName=group, UserName=user)
    r = iam.simulate_principal_policy(PolicySourceArn=server.arn("user", user), ActionNames=["q:SendMessage"])
    assert r["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_list_attached_group_policies(server):
    iam = server.iam()
    group = uniq("attached")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]


def test_delete_group_with_members_is_delete_conflict(server):
    iam = server.iam()
    group, user = uniq("busy"), uniq("member")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_group(GroupName=group)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_group(GroupName=group)


def test_add_unknown_user_to_group_is_no_such_entity(server):
    iam = server.iam()
    group = uniq("g")
    iam.create_group(GroupName=group)
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.add_user_to_group(GroupName=group, UserName="no-such-user")
    assert error_message(e.value) == "The user with name no-such-user cannot be found."


def test_cli_group_membership(server):
    group, user = uniq("cli-group"), uniq("cli-member")
    server.aws("iam", "create-group", "--group-name", group)
    server.aws("iam", "create-user", "--user-name", user)
    server.aws("iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    out = server.aws_json("iam", "get-group", "--group-name", group)
    assert [u["UserName"] for u in out["Users"]] == [user]
    assert out["Group"]["GroupName"] == group

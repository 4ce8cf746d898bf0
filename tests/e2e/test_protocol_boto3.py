"""What boto3 relies on besides the operations themselves: paginators, documents decoded to
dicts, modeled exceptions, and the authentication errors."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, allow, error_code, error_message, policy_doc, trust, uniq


def test_list_policies_paginator_stops_at_max_items_and_resumes_from_its_token(server):
    paginator = server.iam().get_paginator("list_policies")
    first = paginator.paginate(Scope="AWS", PaginationConfig={"MaxItems": 25, "PageSize": 10}).build_full_result()
    assert len(first["Policies"]) == 25
    assert first["NextToken"]
    rest = paginator.paginate(
        Scope="AWS", PaginationConfig={"MaxItems": 25, "PageSize": 10, "StartingToken": first["NextToken"]}
    ).build_full_result()
    assert len(rest["Policies"]) == 25
    names = [p["PolicyName"] for p in first["Policies"] + rest["Policies"]]
    assert len(set(names)) == 50, "the second page continues, it does not repeat"


def test_list_policies_paginator_walks_every_aws_managed_policy_once(server):
    paginator = server.iam().get_paginator("list_policies")
    small = [p["Arn"] for page in paginator.paginate(Scope="AWS", PaginationConfig={"PageSize": 100}) for p in page["Policies"]]
    large = [p["Arn"] for page in paginator.paginate(Scope="AWS", PaginationConfig={"PageSize": 1000}) for p in page["Policies"]]
    assert len(small) == len(set(small)) > 1000
    assert small == large
    assert "arn:aws:iam::aws:policy/AmazonQDeveloperAccess" in small


def test_list_policies_max_items_truncates_with_a_marker(server):
    iam = server.iam()
    page = iam.list_policies(Scope="AWS", MaxItems=3)
    assert len(page["Policies"]) == 3 and page["IsTruncated"] is True
    after = iam.list_policies(Scope="AWS", MaxItems=3, Marker=page["Marker"])
    assert not {p["Arn"] for p in page["Policies"]} & {p["Arn"] for p in after["Policies"]}


def test_list_policies_scope_local_lists_only_customer_policies(server):
    iam = server.iam()
    name = uniq("Local")
    iam.create_policy(PolicyName=name, PolicyDocument=policy_doc(allow("s3:GetObject")))
    local = [p for page in iam.get_paginator("list_policies").paginate(Scope="Local") for p in page["Policies"]]
    assert name in {p["PolicyName"] for p in local}
    assert all(":aws:policy/" not in p["Arn"] for p in local)


def test_list_policies_only_attached_lists_what_is_attached(server):
    iam = server.iam()
    user = uniq("attached")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    listed = [p for page in iam.get_paginator("list_policies").paginate(OnlyAttached=True) for p in page["Policies"]]
    arns = {p["Arn"] for p in listed}
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in arns
    assert all(p["AttachmentCount"] > 0 for p in listed)


def test_list_users_paginator_pages_with_max_items_one(server):
    iam = server.iam()
    prefix = f"/{uniq('page')}/"
    for n in range(3):
        iam.create_user(UserName=uniq(f"u{n}"), Path=prefix)
    pages = list(iam.get_paginator("list_users").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 1}))
    assert [len(p["Users"]) for p in pages] == [1, 1, 1]


def test_policy_version_document_is_decoded_to_the_dict_sent(server):
    iam = server.iam()
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Odd",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": "arn:aws:s3:::bucket/a b+c&d=e%f/é/*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "q & a / ü"}},
            }
        ],
    }
    arn = iam.create_policy(PolicyName=uniq("Odd"), PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert got["Document"] == doc
    assert got["IsDefaultVersion"] is True


def test_role_trust_policy_is_decoded_to_a_dict(server):
    iam = server.iam()
    name = uniq("role")
    doc = trust({"Service": "ec2.amazonaws.com"})
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc)["Role"]
    assert created["AssumeRolePolicyDocument"] == json.loads(doc)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(doc)
    assert got["MaxSessionDuration"] == 3600


def test_user_inline_policy_is_decoded_to_a_dict(server):
    iam = server.iam()
    user = uniq("inline")
    iam.create_user(UserName=user)
    doc = policy_doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=doc)
    got = iam.get_user_policy(UserName=user, PolicyName="read")
    assert got["PolicyDocument"] == json.loads(doc)
    assert (got["UserName"], got["PolicyName"]) == (user, "read")


def test_missing_user_is_no_such_entity_exception(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException) as e:
        iam.get_user(UserName="nobody-here")
    assert error_message(e.value) == "The user with name nobody-here cannot be found."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_missing_policy_is_no_such_entity_exception(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=f"arn:aws:iam::{server.account_id}:policy/Nope")


def test_deleting_an_attached_policy_is_delete_conflict_exception(server):
    iam = server.iam()
    user = uniq("holder")
    iam.create_user(UserName=user)
    arn = iam.create_policy(PolicyName=uniq("Held"), PolicyDocument=policy_doc(allow("s3:GetObject")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    with pytest.raises(iam.exceptions.DeleteConflictException) as e:
        iam.delete_policy(PolicyArn=arn)
    assert error_message(e.value) == "Cannot delete a policy attached to entities."


def test_invalid_policy_document_is_malformed_policy_document_exception(server):
    iam = server.iam()
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.create_policy(PolicyName=uniq("Bad"), PolicyDocument='{"Version": "2012-10-17", "Statement": [')


def test_trust_policy_with_a_non_sts_action_is_malformed(server):
    iam = server.iam()
    # The message is not checked: which text AWS sends today is open (docs/compatibility.md).
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.create_role(RoleName=uniq("r"), AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}, "s3:GetObject"))


def test_third_access_key_is_limit_exceeded_exception(server):
    iam = server.iam()
    user = uniq("keys")
    iam.create_user(UserName=user)
    iam.create_access_key(UserName=user)
    iam.create_access_key(UserName=user)
    with pytest.raises(iam.exceptions.LimitExceededException) as e:
        iam.create_access_key(UserName=user)
    assert error_message(e.value) == "Cannot exceed quota for AccessKeysPerUser: 2"


def test_invalid_user_name_is_validation_error(server):
    with pytest.raises(ClientError) as e:
        server.iam().create_user(UserName="bad name!")
    assert error_code(e.value) == "ValidationError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_provider_policy_delete_is_access_denied(server):
    with pytest.raises(ClientError) as e:
        server.iam().delete_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonQFullAccess")
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == "Cannot delete policies outside your own account."


def test_wrong_secret_is_signature_does_not_match(server):
    bad = Creds(server.root.key, "0" * 40)
    with pytest.raises(ClientError) as e:
        server.iam(bad).list_users()
    assert error_code(e.value) == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_invalid_client_token_id(server):
    with pytest.raises(ClientError) as e:
        server.sts(Creds("AKIANOSUCHKEY0000000", "x" * 40)).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"
    assert error_message(e.value) == "The security token included in the request is invalid."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_inactive_key_is_invalid_client_token_id(server):
    iam = server.iam()
    user = uniq("sleepy")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as e:
        server.sts(Creds.of(key)).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_deleted_key_no_longer_authenticates(server):
    iam = server.iam()
    user = uniq("gone")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert server.sts(Creds.of(key)).get_caller_identity()["Arn"].endswith(f":user/{user}")
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as e:
        server.sts(Creds.of(key)).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_get_user_without_a_name_is_the_caller(server):
    iam = server.iam()
    user = uniq("me")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="self", PolicyDocument=policy_doc(allow("iam:GetUser", server.arn("user", user))))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert server.iam(Creds.of(key)).get_user()["User"]["UserName"] == user


def test_a_user_path_scoped_policy_reads_only_that_path(server):
    iam = server.iam()
    reader, inside, outside = uniq("reader"), uniq("inside"), uniq("outside")
    iam.create_user(UserName=reader)
    iam.create_user(UserName=inside, Path="/eng/")
    iam.create_user(UserName=outside)
    iam.put_user_policy(
        UserName=reader, PolicyName="eng",
        PolicyDocument=policy_doc(allow("iam:GetUser", f"arn:aws:iam::{server.account_id}:user/eng/*")),
    )
    me = server.iam(Creds.of(iam.create_access_key(UserName=reader)["AccessKey"]))
    assert me.get_user(UserName=inside)["User"]["Path"] == "/eng/"
    with pytest.raises(ClientError) as e:
        me.get_user(UserName=outside)
    assert error_code(e.value) == "AccessDenied"

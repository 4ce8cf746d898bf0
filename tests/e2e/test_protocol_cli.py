"""What aws CLI users see: JSON output with decoded documents, --max-items and
--starting-token, service errors on stderr with exit status 255, authentication errors."""

import json

from conftest import Creds, allow, cli_error_line, policy_doc, uniq


def test_cli_service_error_exits_255_with_the_error_line(server):
    r = server.aws_error("iam", "get-user", "--user-name", "nobody-here")
    assert r.stdout == ""
    assert r.stderr.strip() == cli_error_line("NoSuchEntity", "GetUser") + "The user with name nobody-here cannot be found."


def test_cli_get_policy_version_prints_the_document_as_json(server, tmp_path):
    doc = {"Version": "2012-10-17", "Statement": [allow("s3:GetObject", "arn:aws:s3:::my bucket/*")]}
    (tmp_path / "p.json").write_text(json.dumps(doc, indent=2))
    arn = server.aws_json(
        "iam", "create-policy", "--policy-name", uniq("Cli"), "--policy-document", f"file://{tmp_path / 'p.json'}"
    )["Policy"]["Arn"]
    got = server.aws_json("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")
    assert got["PolicyVersion"]["Document"] == doc


def test_cli_list_policies_max_items_prints_a_next_token_to_resume_from(server):
    first = server.aws_json("iam", "list-policies", "--scope", "AWS", "--max-items", "5")
    assert len(first["Policies"]) == 5
    assert first["NextToken"]
    rest = server.aws_json("iam", "list-policies", "--scope", "AWS", "--max-items", "5", "--starting-token", first["NextToken"])
    assert len(rest["Policies"]) == 5
    assert not {p["Arn"] for p in first["Policies"]} & {p["Arn"] for p in rest["Policies"]}


def test_cli_query_selects_from_the_output(server):
    r = server.aws("iam", "get-policy", "--policy-arn", "arn:aws:iam::aws:policy/AmazonQDeveloperAccess",
                   "--query", "Policy.PolicyName", "--output", "text")
    assert r.stdout.strip() == "AmazonQDeveloperAccess"


def test_cli_delete_attached_policy_is_delete_conflict(server, tmp_path):
    user = uniq("holder")
    server.aws("iam", "create-user", "--user-name", user)
    (tmp_path / "p.json").write_text(policy_doc(allow("s3:GetObject")))
    arn = server.aws_json("iam", "create-policy", "--policy-name", uniq("Held"), "--policy-document", f"file://{tmp_path / 'p.json'}")["Policy"]["Arn"]
    server.aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", arn)
    r = server.aws_error("iam", "delete-policy", "--policy-arn", arn)
    assert r.stderr.strip() == cli_error_line("DeleteConflict", "DeletePolicy") + "Cannot delete a policy attached to entities."


def test_cli_malformed_policy_document_is_reported(server):
    r = server.aws_error("iam", "create-policy", "--policy-name", uniq("Bad"), "--policy-document", '{"Version": "2012-10-17"')
    assert cli_error_line("MalformedPolicyDocument", "CreatePolicy") in r.stderr


def test_cli_wrong_secret_is_signature_does_not_match(server):
    r = server.aws_error("sts", "get-caller-identity", creds=Creds(server.root.key, "0" * 40))
    assert cli_error_line("SignatureDoesNotMatch", "GetCallerIdentity") in r.stderr


def test_cli_unknown_access_key_is_invalid_client_token_id(server):
    r = server.aws_error("iam", "list-users", creds=Creds("AKIANOSUCHKEY0000000", "x" * 40))
    assert r.stderr.strip() == cli_error_line("InvalidClientTokenId", "ListUsers") + "The security token included in the request is invalid."


def test_cli_user_lifecycle_ends_with_delete(server):
    user = uniq("temp")
    server.aws("iam", "create-user", "--user-name", user, "--path", "/tmp/")
    listed = server.aws_json("iam", "list-users", "--path-prefix", "/tmp/")
    assert [u["UserName"] for u in listed["Users"]] == [user]
    r = server.aws("iam", "delete-user", "--user-name", user)
    assert r.stdout == ""
    server.aws_error("iam", "get-user", "--user-name", user)

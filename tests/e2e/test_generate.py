"""Least privilege from real use: a user works through the server, its decisions are recorded,
and `gatehouse policy generate` writes a policy that allows every recorded request and nothing
of its managed policy that went unused."""

import json
import subprocess
import time

from conftest import gatehouse_binary, new_user

IAM_READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def generate(server, principal: str):
    argv = [str(gatehouse_binary()), "policy", "generate", "--principal", principal,
            "--data-dir", str(server.home / "data"), "--json"]
    if server.database:
        argv += ["--database", server.database]
    return subprocess.run(argv, capture_output=True, text=True)


def test_generated_policy_allows_what_was_used_and_nothing_unused(server):
    name, creds = new_user(server, managed=(IAM_READ_ONLY, S3_READ_ONLY), prefix="worker")
    arn = server.arn("user", name)
    iam = server.iam(creds)
    iam.get_user(UserName=name)
    iam.list_users()
    iam.list_attached_user_policies(UserName=name)
    iam.get_policy(PolicyArn=IAM_READ_ONLY)
    # A denied request is recorded too, and not granted by the generated policy.
    try:
        iam.create_user(UserName=name + "-not")
    except Exception:
        pass
    # The server writes recorded activity once a second.
    deadline = time.monotonic() + 15
    while True:
        out = generate(server, arn)
        if out.returncode == 0:
            report = json.loads(out.stdout)
            used = {r["Action"] for r in report["RecordedRequests"] if r["Allowed"]}
            if {"iam:GetUser", "iam:ListUsers", "iam:ListAttachedUserPolicies", "iam:GetPolicy"} <= used:
                break
        assert time.monotonic() < deadline, f"activity not recorded: {out.returncode} {out.stdout} {out.stderr}"
        time.sleep(0.5)
    recorded = report["RecordedRequests"]
    assert any(r["Action"] == "iam:CreateUser" and not r["Allowed"] for r in recorded)
    document = report["PolicyDocument"]
    allowed = [(r["Action"], r["Resource"]) for r in recorded if r["Allowed"]]
    root = server.iam()
    for action, resource in allowed:
        result = root.simulate_custom_policy(
            PolicyInputList=[document], ActionNames=[action], ResourceArns=[resource]
        )["EvaluationResults"][0]
        assert result["EvalDecision"] == "allowed", (action, resource, document)
    # What IAMReadOnlyAccess grants that went unused is reported, and not granted.
    unused = next(u for u in report["Unused"] if u["Policy"] == IAM_READ_ONLY)
    assert unused["Used"] == len({a for a, _ in allowed})
    assert unused["Allowed"] > unused["Used"] + 10
    sample = [n for _, _, names in unused["Services"] for n in names][:8]
    assert len(sample) >= 5
    results = root.simulate_custom_policy(PolicyInputList=[document], ActionNames=sample)["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["implicitDeny"] * len(sample)
    # And the denied request stays denied.
    denied = root.simulate_custom_policy(PolicyInputList=[document], ActionNames=["iam:CreateUser"])
    assert denied["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"

    # IAM's last-accessed details tell the same story, per service and per action.
    job = root.generate_service_last_accessed_details(Arn=arn, Granularity="ACTION_LEVEL")["JobId"]
    details = root.get_service_last_accessed_details(JobId=job)
    assert details["JobStatus"] == "COMPLETED" and details["JobType"] == "ACTION_LEVEL"
    services = {s["ServiceNamespace"]: s for s in details["ServicesLastAccessed"]}
    assert {"iam", "s3"} <= set(services)
    assert services["iam"]["LastAuthenticatedEntity"] == arn
    assert services["iam"]["TotalAuthenticatedEntities"] == 1
    assert "LastAuthenticated" not in services["s3"], "allowed, never used"
    assert services["s3"]["TotalAuthenticatedEntities"] == 0
    tracked = {a["ActionName"] for a in services["iam"]["TrackedActionsLastAccessed"]}
    assert {"GetUser", "ListUsers", "GetPolicy"} <= tracked
    assert "CreateUser" not in tracked, "denied requests are not accesses"
    try:
        root.get_service_last_accessed_details(JobId="00000000-0000-0000-0000-000000000000")
        raise AssertionError("an unknown job must fail")
    except root.exceptions.NoSuchEntityException:
        pass


def test_last_accessed_details_refuse_bad_input(server):
    import botocore.exceptions

    root = server.iam()
    try:
        root.generate_service_last_accessed_details(Arn=server.arn("user", "nobody-here"))
        raise AssertionError("an unknown identity must fail")
    except root.exceptions.NoSuchEntityException:
        pass
    try:
        root.generate_service_last_accessed_details(Arn=server.arn("user", "x"), Granularity="DAILY")
        raise AssertionError("a bad granularity must fail")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationError"
        assert "Member must satisfy enum value set: [SERVICE_LEVEL, ACTION_LEVEL]" in e.response["Error"]["Message"]

"""The web console in headless Chromium, driven by Selenium WebDriver (Debian's chromium and
chromium-driver, which scripts/e2e installs): sign-in with an access key pair, a policy's
versions, the diff that added q:GenerateCodeFromCommands, the simulator's explained implicit
deny, refusal of a user without IAM read permissions, and the pages' labels and phone-width
layout.

With GATEHOUSE_SCREENSHOTS=DIR the main pages are saved there as PNG (scripts/screenshots
writes docs/screenshots/ that way)."""

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers online

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from conftest import new_user  # noqa: E402

CHROMIUM = os.environ.get("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GATEHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver")
FULL = "arn:aws:iam::aws:policy/AmazonQFullAccess"
DEVELOPER = "arn:aws:iam::aws:policy/AmazonQDeveloperAccess"
READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
SHOTS = os.environ.get("GATEHOUSE_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver (scripts/e2e does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,1000", f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def people(server):
    """An auditor (IAM read-only), a developer (AmazonQDeveloperAccess only) and a user with
    no policies, each with an access key."""
    return {
        "auditor": new_user(server, managed=[READ_ONLY], prefix="auditor"),
        "developer": new_user(server, managed=[DEVELOPER], prefix="developer"),
        "nobody": new_user(server, prefix="nobody"),
    }


def shot(browser, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def sign_in(browser, server, creds, next_path=""):
    browser.delete_all_cookies()
    browser.get(f"{server.url}/console/signin" + (f"?next={quote(next_path)}" if next_path else ""))
    browser.find_element(By.ID, "access_key_id").send_keys(creds.key)
    browser.find_element(By.ID, "secret_access_key").send_keys(creds.secret)
    shot(browser, "signin")
    navigate(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click())


def navigate(browser, act):
    """Does `act` (a click, a submit) and waits for the next page to load."""
    old = browser.find_element(By.TAG_NAME, "html")
    act()
    WebDriverWait(browser, 30).until(EC.staleness_of(old))
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.TAG_NAME, "h1")))


def heading(browser):
    return WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.TAG_NAME, "h1"))).text


def main_text(browser):
    return browser.find_element(By.ID, "main").text


def test_sign_in_then_all_versions_of_amazon_q_full_access(browser, server, people):
    _, auditor = people["auditor"]
    sign_in(browser, server, auditor)
    assert heading(browser) == "Policies"
    assert "auditor" in browser.find_element(By.CSS_SELECTOR, ".who").text

    # Search, then follow the link as a user would.
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("AmazonQFull")
    navigate(browser, box.submit)
    shot(browser, "policies")
    navigate(browser, lambda: browser.find_element(By.LINK_TEXT, "AmazonQFullAccess").click())
    assert heading(browser) == "AmazonQFullAccess"
    shot(browser, "policy")

    expected = {v["VersionId"] for v in server.iam().list_policy_versions(PolicyArn=FULL)["Versions"]}
    rows = browser.find_elements(By.CSS_SELECTOR, "#versions + .scroll tbody tr")
    shown = {r.find_element(By.CSS_SELECTOR, "th a").text for r in rows}
    assert shown == expected
    assert {"v1", "v3", "v4", "v12"} <= expected
    # The rows carry AWS's descriptions from the seed page where it has them.
    v4 = next(r for r in rows if r.find_element(By.CSS_SELECTOR, "th a").text == "v4")
    assert "code generation from CLI commands" in v4.text

    # The document is numbered line by line; the summary lists Amazon Q.
    lines = browser.find_elements(By.CSS_SELECTOR, "ol.code li")
    default = server.iam().get_policy_version(PolicyArn=FULL, VersionId=server.iam().get_policy(PolicyArn=FULL)["Policy"]["DefaultVersionId"])
    assert len(lines) > 10
    assert "Amazon Q" in browser.find_element(By.ID, "summary").find_element(By.XPATH, "following-sibling::div").text
    assert default["PolicyVersion"]["VersionId"] in browser.find_element(By.ID, "document").text


def test_diff_that_adds_generate_code_from_commands(browser, server, people):
    _, auditor = people["auditor"]
    sign_in(browser, server, auditor, f"/console/policy?arn={quote(FULL)}")
    assert heading(browser) == "AmazonQFullAccess"
    Select(browser.find_element(By.ID, "from")).select_by_visible_text("v3")
    Select(browser.find_element(By.ID, "to")).select_by_visible_text("v4")
    navigate(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click())
    assert heading(browser) == "AmazonQFullAccess: v3 to v4"
    shot(browser, "diff")
    delta = browser.find_element(By.ID, "delta").find_element(By.XPATH, "..").text
    assert "Expanded" in delta
    newly = browser.find_elements(By.XPATH, "//h3[starts-with(., 'Newly allowed')]/following-sibling::ul[1]/li")
    assert [li.text for li in newly] == ["q:GenerateCodeFromCommands"]
    added = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.diff tr.add td.new, table.diff tr.chg td.new")]
    assert any("q:GenerateCodeFromCommands" in t for t in added), added
    removed = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "table.diff tr.del td.old, table.diff tr.chg td.old")]
    assert not any("q:GenerateCodeFromCommands" in t for t in removed)


def test_simulator_explains_the_implicit_deny_of_create_plugin(browser, server, people):
    developer, _ = people["developer"]
    _, auditor = people["auditor"]
    sign_in(browser, server, auditor, "/console/simulator")
    assert heading(browser) == "Policy simulator"
    browser.find_element(By.ID, "principal").send_keys(server.arn("user", developer))
    browser.find_element(By.ID, "actions").send_keys("q:CreatePlugin q:StartConversation")
    navigate(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form.sim button[type=submit]").click())
    shot(browser, "simulator")
    results = {
        s.find_element(By.CSS_SELECTOR, "h3 code").text: s.text
        for s in browser.find_elements(By.CSS_SELECTOR, "section.result")
    }
    assert "Implicitly denied" in results["q:CreatePlugin"]
    assert "because no identity-based policy allows the q:CreatePlugin action" in results["q:CreatePlugin"]
    # The near miss names the policy whose actions did not match.
    assert "AmazonQDeveloperAccess" in results["q:CreatePlugin"]
    assert "Allowed" in results["q:StartConversation"]
    # The engine agrees through the API.
    api = server.iam().simulate_principal_policy(
        PolicySourceArn=server.arn("user", developer), ActionNames=["q:CreatePlugin"]
    )["EvaluationResults"][0]
    assert api["EvalDecision"] == "implicitDeny"


def test_user_without_iam_read_permissions_is_refused(browser, server, people):
    nobody, creds = people["nobody"]
    sign_in(browser, server, creds)
    assert heading(browser) == "Access denied"
    text = main_text(browser)
    assert "AccessDenied" in text
    assert f"User: {server.arn('user', nobody)} is not authorized to perform: iam:ListPolicies" in text
    shot(browser, "refused")
    for path in (f"/console/policy?arn={quote(FULL)}", "/console/identities?kind=user", "/console/history"):
        browser.get(server.url + path)
        assert heading(browser) == "Access denied", path


def test_wrong_secret_is_refused_and_a_deactivated_key_ends_the_session(browser, server, people):
    name, creds = people["auditor"]
    browser.delete_all_cookies()
    browser.get(f"{server.url}/console/signin")
    browser.find_element(By.ID, "access_key_id").send_keys(creds.key)
    browser.find_element(By.ID, "secret_access_key").send_keys("not-the-secret")
    navigate(browser, lambda: browser.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click())
    assert heading(browser) == "Sign in"
    assert "not valid" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text

    # A session made with a key ends when the key is deactivated, and resumes when reactivated.
    key = server.iam().create_access_key(UserName=name)["AccessKey"]
    from conftest import Creds

    sign_in(browser, server, Creds.of(key))
    assert heading(browser) == "Policies"
    server.iam().update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    browser.get(f"{server.url}/console/policies")
    assert heading(browser) == "Sign in"
    server.iam().delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])


def test_every_form_control_is_labelled_and_pages_fit_a_phone(browser, server, people):
    developer, _ = people["developer"]
    _, auditor = people["auditor"]
    sign_in(browser, server, auditor)
    pages = [
        "/console/policies",
        f"/console/policy?arn={quote(FULL)}",
        f"/console/diff?arn={quote(FULL)}&from=v3&to=v4",
        "/console/identities?kind=user",
        f"/console/identity?kind=user&name={developer}",
        f"/console/activity?kind=user&name={developer}",
        f"/console/simulator?principal={quote(server.arn('user', developer))}&actions=q:CreatePlugin",
        "/console/history",
        f"/console/blast?arn={quote(FULL)}&from=v3&to=v4",
    ]
    try:
        for width in (1280, 390):
            if width == 390:
                # A phone's viewport, as Chrome's device emulation gives it (a headless window
                # cannot be made narrower than 500 px).
                browser.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
                )
            for path in pages:
                browser.get(server.url + path)
                assert heading(browser) not in ("Access denied", "Not found", "Request failed"), path
                for control in browser.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select, textarea"):
                    cid = control.get_attribute("id")
                    assert cid and browser.find_elements(By.CSS_SELECTOR, f"label[for='{cid}']"), (path, control.get_attribute("name"))
                # Nothing but wide tables and documents (which scroll in their own boxes) is wider
                # than the viewport.
                overflow = browser.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 1, (path, width, overflow)
                if width == 390 and path.startswith("/console/policy?"):
                    shot(browser, "policy-phone")
            if width == 1280:
                browser.get(server.url + f"/console/identity?kind=user&name={developer}")
                shot(browser, "identity")
                browser.get(server.url + "/console/history")
                shot(browser, "history")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_keyboard_reaches_the_skip_link_first(browser, server, people):
    from selenium.webdriver.common.keys import Keys

    _, auditor = people["auditor"]
    sign_in(browser, server, auditor)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys(Keys.ENTER)
    assert browser.current_url.endswith("#main")

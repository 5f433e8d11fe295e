"""Every HTML page runs under the Content-Security-Policy without breaking: a real browser
visits the dashboard's pages, the agency's admin and the API docs, and none of them asks for
something the policy refuses (an inline script or handler, a foreign origin). The fixtures are
the dashboard browser test's: gunicorn on the test database, a committed agency."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.test_browser import (  # noqa: F401  (fixtures)
    CHROMIUM,
    CHROMIUM_ARGS,
    EMAIL,
    PASSWORD,
    SLUG,
    live_agency,
    pytestmark,
    server,
)

PAGES = ["/", "/activity/", "/webhooks/", "/admin/", "/api/v1/docs/"]
PUBLIC_PAGES = ["/", "/signup/", "/admin/login/", "/api/v1/docs/"]


def violations_while(page: Any, path: str, base_url: str) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    response = page.goto(f"{base_url}{path}")
    assert response is not None and response.ok, (path, response and response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    return seen


@pytest.mark.usefixtures("live_agency")
def test_every_page_keeps_to_the_content_security_policy(request: pytest.FixtureRequest) -> None:
    from playwright.sync_api import expect, sync_playwright

    base_url = request.getfixturevalue("server")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            signed_in = browser.new_context()
            page = signed_in.new_page()
            page.goto(f"{base_url}/")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            for path in PAGES:
                assert violations_while(signed_in.new_page(), path, base_url) == [], path
            public = base_url.replace(f"{SLUG}.", "", 1)  # the operator's host
            for path in PUBLIC_PAGES:
                assert violations_while(browser.new_page(), path, public) == [], path
            docs = signed_in.new_page()
            docs.goto(f"{base_url}/api/v1/docs/")
            expect(docs.locator(".swagger-ui .info .title")).to_contain_text(
                "Budget control API", timeout=15_000)
        finally:
            browser.close()

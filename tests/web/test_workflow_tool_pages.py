"""Workflow detail page, tools: add, edit field-extractor rules, reorder and remove steps (issue 4 item 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import add_tool, make_workflow
from tests.web.web_client import html, htmx, is_full_page, post, web_login
from unstract.extensions import db
from unstract.models import ToolInstance

DEFAULTS = {"normalize_whitespace": False, "max_pages": None, "mode": "auto", "ocr_language": "eng", "dpi": 300,
            "ocr_min_chars": 20}


def steps(workflow_id) -> list[tuple[str, int, dict]]:
    db.session.expire_all()
    query = select(ToolInstance).where(ToolInstance.workflow_id == workflow_id).order_by(ToolInstance.step)
    return [(i.tool_id, i.step, i.metadata_) for i in db.session.scalars(query)]


def instance_ids(workflow_id) -> list:
    db.session.expire_all()
    query = select(ToolInstance.id).where(ToolInstance.workflow_id == workflow_id).order_by(ToolInstance.step)
    return list(db.session.scalars(query))


def rule(index: int, name: str, pattern: str, group: str = "0", type_: str = "string", required: bool = False) -> dict:
    prefix = f"metadata.rules.{index}"
    data = {f"{prefix}.name": name, f"{prefix}.pattern": pattern, f"{prefix}.group": group, f"{prefix}.type": type_}
    if required:
        data[f"{prefix}.required"] = "true"
    return data


def test_adding_a_text_extractor_returns_the_tools_section_with_the_step(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/tools",
                    {"tool_id": "text_extractor", "metadata.normalize_whitespace": "true", "metadata.max_pages": ""},
                    headers=htmx())
    fragment = html(response)
    assert response.status_code == 200 and fragment.lstrip().startswith('<section id="tools"')
    assert "Step added: Text extractor." in fragment and "Step 1: Text extractor" in fragment
    assert steps(workflow.id) == [("text_extractor", 1, {**DEFAULTS, "normalize_whitespace": True})]


def test_the_add_form_starts_with_a_text_extractor_then_offers_the_field_extractor(owner_client, workflow):
    first = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert '<option value="text_extractor" selected>' in first.split('id="tool-add"')[1]
    add_tool(workflow, "text_extractor")
    second = html(owner_client.get(f"/workflows/{workflow.id}"))
    assert '<option value="field_extractor" selected>' in second.split('id="tool-add"')[1]


def test_choosing_a_tool_returns_only_the_add_form_with_its_settings(owner_client, workflow):
    url = f"/workflows/{workflow.id}/tools/new?tool_id=field_extractor"
    fragment = html(owner_client.get(url, headers=htmx()))
    assert fragment.lstrip().startswith('<form id="tool-add"') and 'name="metadata.rules.0.pattern"' in fragment
    assert is_full_page(html(owner_client.get(url)))


def test_field_extractor_rules_are_saved_with_their_types(owner_client, workflow):
    data = {"tool_id": "field_extractor", **rule(0, "invoice", r"Invoice (\S+)", "1"),
            **rule(1, "total", r"Total (\d+)", "1", "number", required=True), **rule(2, "", "")}
    response = post(owner_client, f"/workflows/{workflow.id}/tools", data, headers=htmx())
    assert response.status_code == 200
    assert steps(workflow.id) == [("field_extractor", 1, {"rules": [
        {"name": "invoice", "pattern": r"Invoice (\S+)", "group": 1, "type": "string", "required": False},
        {"name": "total", "pattern": r"Total (\d+)", "group": 1, "type": "number", "required": True}]})]


def test_the_field_extractor_form_offers_how_numbers_and_dates_are_written(owner_client, workflow):
    form = html(owner_client.get(f"/workflows/{workflow.id}/tools/new?tool_id=field_extractor", headers=htmx()))
    for name in ("locale", "decimal_separator", "date_order"):
        assert f'name="metadata.{name}"' in form
    assert "Day/Month/Year" in form and "Comma (1.234,56)" in form and ">de-CH<" in form
    data = {"tool_id": "field_extractor", **rule(0, "total", r"Total (.+)", "1", "number"),
            "metadata.locale": "de-CH", "metadata.date_order": "MDY", "metadata.decimal_separator": "auto"}
    assert post(owner_client, f"/workflows/{workflow.id}/tools", data, headers=htmx()).status_code == 200
    [(_, _, metadata)] = steps(workflow.id)
    assert (metadata["locale"], metadata["date_order"], metadata["decimal_separator"]) == ("de-CH", "MDY", "auto")


@pytest.mark.parametrize("data, attr, message", [
    ({}, "add-metadata-rules", "Add at least one."),
    (rule(0, "x", "(unclosed"), "add-metadata-rules-0-pattern", "Invalid regular expression"),
    (rule(0, "x", "abc", "2"), "add-metadata-rules-0-group", "Group 2 does not exist in the pattern."),
    (rule(0, "x", "abc", "two"), "add-metadata-rules-0-group", "A valid integer is required."),
    (rule(0, "x", ""), "add-metadata-rules-0-pattern", "This field may not be blank."),
    (rule(0, "", "a"), "add-metadata-rules-0-name", "This field may not be blank."),
    ({**rule(0, "x", "a"), **rule(1, "x", "b")}, "add-metadata-rules-1-name", "Duplicate rule name: &#39;x&#39;."),
])
def test_rule_errors_are_shown_next_to_their_input_and_nothing_is_added(owner_client, workflow, data, attr, message):
    response = post(owner_client, f"/workflows/{workflow.id}/tools", {"tool_id": "field_extractor", **data},
                    headers=htmx())
    fragment = html(response)
    assert response.status_code == 400 and fragment.lstrip().startswith('<section id="tools"')
    assert message in fragment.split(f'id="{attr}-error">')[1].split("</p>")[0]
    assert steps(workflow.id) == []


def test_unknown_tool_is_reported_at_the_tool_select(owner_client, workflow):
    response = post(owner_client, f"/workflows/{workflow.id}/tools", {"tool_id": "ocr"}, headers=htmx())
    assert response.status_code == 400
    assert 'id="add-tool-id-error">&#34;ocr&#34; is not a valid choice.' in html(response)


def test_add_rule_button_redraws_the_form_with_one_more_row_and_saves_nothing(owner_client, workflow):
    data = {"tool_id": "field_extractor", **rule(0, "total", "Total"), "_row": "add:metadata.rules"}
    response = post(owner_client, f"/workflows/{workflow.id}/tools", data, headers=htmx())
    fragment = html(response)
    assert response.status_code == 200 and fragment.lstrip().startswith('<form id="tool-add"')
    assert 'name="metadata.rules.0.name" value="total"' in fragment
    assert 'name="metadata.rules.1.name" value=""' in fragment
    assert steps(workflow.id) == []


def test_remove_rule_button_on_a_step_redraws_that_step_only(owner_client, workflow):
    add_tool(workflow, "field_extractor", rules=[{"name": "a", "pattern": "a"}, {"name": "b", "pattern": "b"}])
    [step_id] = instance_ids(workflow.id)
    data = {**rule(0, "a", "a"), **rule(1, "b", "b"), "_row": "remove:metadata.rules:0"}
    response = post(owner_client, f"/workflows/{workflow.id}/tools/{step_id}", data, headers=htmx())
    fragment = html(response)
    assert fragment.lstrip().startswith(f'<li id="step-{step_id}"')
    assert '<details class="wf-step-edit" open>' in fragment
    assert 'name="metadata.rules.0.name" value="b"' in fragment and "metadata.rules.1.name" not in fragment
    assert len(steps(workflow.id)[0][2]["rules"]) == 2


def test_row_buttons_without_htmx_return_the_whole_page_with_the_form_open(owner_client, workflow):
    data = {"tool_id": "field_extractor", **rule(0, "total", "Total"), "_row": "add:metadata.rules"}
    page = html(post(owner_client, f"/workflows/{workflow.id}/tools", data))
    assert is_full_page(page) and 'id="add-metadata-rules-1-name"' in page
    add_tool(workflow, "field_extractor", rules=[{"name": "a", "pattern": "a"}])
    [step_id] = instance_ids(workflow.id)
    page = html(post(owner_client, f"/workflows/{workflow.id}/tools/{step_id}",
                     {**rule(0, "a", "a"), "_row": "add:metadata.rules"}))
    assert is_full_page(page) and f'id="step-{step_id}-metadata-rules-1-name"' in page
    assert '<details class="wf-step-edit" open>' in page and len(steps(workflow.id)[0][2]["rules"]) == 1


def test_editing_a_step_saves_its_rules_or_shows_errors_with_the_form_open(owner_client, workflow):
    add_tool(workflow, "field_extractor", rules=[{"name": "a", "pattern": "a"}])
    [step_id] = instance_ids(workflow.id)
    bad = post(owner_client, f"/workflows/{workflow.id}/tools/{step_id}", rule(0, "1bad", "a"), headers=htmx())
    fragment = html(bad)
    assert bad.status_code == 400 and "&#39;1bad&#39; is not in the expected format." in fragment
    assert 'value="1bad"' in fragment and '<details class="wf-step-edit" open>' in fragment
    ok = post(owner_client, f"/workflows/{workflow.id}/tools/{step_id}", rule(0, "total", "T (\\d+)", "1"),
              headers=htmx())
    assert ok.status_code == 200 and "Step 1 saved." in html(ok)
    assert steps(workflow.id)[0][2]["rules"][0] == {"name": "total", "pattern": "T (\\d+)", "group": 1,
                                                    "type": "string", "required": False}


def test_steps_move_up_and_down_and_are_removed_with_renumbering(owner_client, workflow):
    add_tool(workflow, "text_extractor")
    add_tool(workflow, "field_extractor", rules=[{"name": "a", "pattern": "a"}])
    text_id, field_id = instance_ids(workflow.id)
    moved = post(owner_client, f"/workflows/{workflow.id}/tools/{field_id}/move", {"direction": "up"}, headers=htmx())
    assert moved.status_code == 200 and "Step 1: Field extractor" in html(moved)
    assert instance_ids(workflow.id) == [field_id, text_id]
    post(owner_client, f"/workflows/{workflow.id}/tools/{text_id}/move", {"direction": "down"}, headers=htmx())
    post(owner_client, f"/workflows/{workflow.id}/tools/{field_id}/move", {"direction": "up"}, headers=htmx())
    assert instance_ids(workflow.id) == [field_id, text_id]
    removed = post(owner_client, f"/workflows/{workflow.id}/tools/{field_id}/delete", headers=htmx())
    assert "Step 1 removed: Field extractor." in html(removed)
    assert steps(workflow.id) == [("text_extractor", 1, DEFAULTS)]


def test_move_needs_a_direction(owner_client, workflow):
    add_tool(workflow, "text_extractor")
    [step_id] = instance_ids(workflow.id)
    response = post(owner_client, f"/workflows/{workflow.id}/tools/{step_id}/move", {"direction": "sideways"})
    assert response.status_code == 400


def test_plain_form_posts_come_back_to_the_page(owner_client, workflow):
    ok = post(owner_client, f"/workflows/{workflow.id}/tools", {"tool_id": "text_extractor"})
    assert ok.status_code == 303 and ok.headers["Location"] == f"/workflows/{workflow.id}#tools"
    assert "Step added: Text extractor." in html(owner_client.get(ok.headers["Location"]))
    bad = post(owner_client, f"/workflows/{workflow.id}/tools", {"tool_id": "field_extractor"})
    assert bad.status_code == 400 and is_full_page(html(bad)) and "Add at least one." in html(bad)


def test_a_step_of_another_workflow_is_404(owner_client, world, workflow):
    other = make_workflow(world.users["owner"], "acme")
    add_tool(other, "text_extractor")
    [step_id] = instance_ids(other.id)
    assert post(owner_client, f"/workflows/{workflow.id}/tools/{step_id}/delete").status_code == 404
    assert len(steps(other.id)) == 1


@pytest.mark.parametrize("email, status", [("viewer@acme.test", 403), ("member@acme.test", 404)])
def test_non_owners_cannot_change_tools(client, world, workflow, email, status):
    add_tool(workflow, "text_extractor")
    [step_id] = instance_ids(workflow.id)
    client.csrf = web_login(client, email)
    base = f"/workflows/{workflow.id}/tools"
    assert post(client, base, {"tool_id": "text_extractor"}).status_code == status
    assert post(client, f"{base}/{step_id}", {"metadata.normalize_whitespace": "true"}).status_code == status
    assert post(client, f"{base}/{step_id}/move", {"direction": "down"}).status_code == status
    assert post(client, f"{base}/{step_id}/delete").status_code == status
    assert client.get(f"{base}/new?tool_id=text_extractor", headers=htmx()).status_code == status
    assert steps(workflow.id) == [("text_extractor", 1, DEFAULTS)]


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_rule_editor_columns_fit_patterns_and_types(world, page, login, width):
    from tests.web.browser import screenshot

    workflow = make_workflow(world.users["owner"], "acme", workflow_name="Invoices")
    pattern = r"(?i)invoice\s+(?:no|number)[.:]?\s*([A-Z]{2,4}-\d{4,8})"
    add_tool(workflow, "field_extractor", rules=[
        {"name": "invoice_number", "pattern": pattern, "group": 1, "type": "string"},
        {"name": "total", "pattern": r"Total[:\s]+([\d.,]+)", "group": 1, "type": "number"}])
    page.set_viewport_size({"width": width, "height": 900})
    login("owner@acme.test")
    page.goto(f"/workflows/{workflow.id}")
    step = page.locator("details.wf-step-edit").first
    step.locator("summary").click()
    pattern_input = step.locator("input[name='metadata.rules.0.pattern']")
    type_select = step.locator("select[name='metadata.rules.1.type']")
    name_input = step.locator("input[name='metadata.rules.0.name']")
    # The pattern shows most of a real expression, a name shows whole, a type reads in full.
    assert pattern_input.bounding_box()["width"] >= (500 if width > 1000 else 250)
    assert name_input.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert type_select.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert type_select.bounding_box()["width"] >= 90
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert step.locator(".rows-wrap").evaluate("e => e.scrollWidth <= e.clientWidth")  # Remove is not cut off
    if width > 1000:
        screenshot(page, "workflow-rules")

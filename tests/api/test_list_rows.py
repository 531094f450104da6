"""A list page read as plain rows of its presenter's columns, UUIDs and timestamps as the API's text
(paging.page_rows(columns=…), models.wire), shows exactly what the same rows read as models show, for
every list of the API that reads them so; on SQLite and on PostgreSQL (both stores differ: 32 hex digits
and `YYYY-MM-DD HH:MM:SS.ffffff` text on SQLite, native uuid and timestamptz on PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from flask import current_app

from tests.factories import add_membership, make_execution, make_file_execution, make_history, make_log, make_workflow
from unstract.extensions import db
from unstract.fastpath import WireText, wire_timestamp
from unstract.models import ToolInstance, User
from unstract.paging import page_rows
from unstract.policy import Requester
from unstract.schemas.representations import (
    ExecutionLogSchema,
    ExecutionSchema,
    FileExecutionSchema,
    FileHistorySchema,
    WorkflowSchema,
)
from unstract.services import execution_queries as queries
from unstract.services import file_history
from unstract.services import workflows as workflow_service

# Whole seconds (SQLite stores .000000), sub-seconds, and a value given in another zone.
MOMENTS = [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=UTC),
           datetime(2026, 6, 30, 8, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5)))]


def shown(items, present, schema) -> list:
    """The items as the JSON the API sends for them (through the app's JSON responses)."""
    return json.loads(current_app.json.response(schema(many=True).dump([present(item) for item in items])).data)


def both_ways(query, columns, present, schema) -> tuple[list, list]:
    """The page from model objects and from plain rows of `columns`, as the JSON the API sends."""
    return (shown(page_rows(query, 0, 50), present, schema),
            shown(page_rows(query, 0, 50, columns=columns), present, schema))


def test_executions_files_logs_and_histories_show_the_same_from_plain_rows(world):
    workflow = make_workflow(world.users["owner"], "acme")
    executions = []
    for n, moment in enumerate(MOMENTS):
        execution = make_execution(workflow, status="COMPLETED", created_at=moment, next_step=n or None,
                                   execution_time=1.23456 * n, error_message="ünïcode ✓" * n)
        done = make_file_execution(execution, result={"fields": {"total": n}}, execution_time=0.5,
                                   created_at=moment, modified_at=moment + timedelta(microseconds=7))
        make_file_execution(execution, result=None, file_path=None, execution_time=None)
        make_log(execution, event_time=moment, file_execution=done)
        make_log(execution, event_time=moment + timedelta(seconds=1))
        make_history(workflow, file_path=f"in/{n}.txt", created_at=moment, result=None if n else {"x": [1]})
        executions.append(execution)
    cases = [
        (queries.executions_query(workflow), queries.EXECUTION_COLUMNS,
         lambda item: queries.present_execution(item, workflow.workflow_name), ExecutionSchema),
        (queries.file_executions_query(executions[1]), queries.FILE_EXECUTION_LIST_COLUMNS,
         queries.present_file_execution, FileExecutionSchema),
        (queries.logs_query(executions[2], queries.LogFilter()), queries.LOG_COLUMNS, queries.present_log,
         ExecutionLogSchema),
        (file_history.histories_query(workflow), file_history.HISTORY_LIST_COLUMNS,
         lambda item: file_history.present_history(item, 3, listed=True), FileHistorySchema),
    ]
    for query, columns, present, schema in cases:
        from_objects, from_rows = both_ways(query, columns, present, schema)
        assert len(from_objects) >= 2 and from_rows == from_objects, schema.__name__
    rows = page_rows(cases[0][0], 0, 50, columns=queries.EXECUTION_COLUMNS)
    assert {row.created_at for row in rows} == {wire_timestamp(moment) for moment in MOMENTS}
    assert all(type(row.id) is WireText and type(row.created_at) is WireText for row in rows)


def as_api_text(value):
    """A model's value as the API shows it (JSON aside)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    return wire_timestamp(value) if isinstance(value, datetime) else value


def test_the_workflow_list_reads_workflows_members_and_tools_as_the_models_hold_them(world):
    owner, member, admin = world.users["owner"], world.users["member"], world.users["admin"]
    shared = make_workflow(owner, "acme", viewers=[member])
    add_membership(make_workflow(admin, "acme"), owner, role="owner")
    db.session.add_all([ToolInstance(workflow_id=shared.id, tool_id=tool, step=step, metadata_={"n": step},
                                     created_at=MOMENTS[step]) for step, tool in ((2, "field_extractor"),
                                                                                  (1, "text_extractor"))])
    db.session.commit()
    who = Requester(user=owner, org=shared.organization, role="member")
    query = workflow_service.list_query(who).order_by(workflow_service.PRIMARY_KEY)
    objects = page_rows(query, 0, 50)
    rows = page_rows(query, 0, 50, columns=workflow_service.LIST_COLUMNS)
    names = [name for name in workflow_service.LIST_COLUMNS if isinstance(name, str)]
    assert len(rows) == 2 and [{name: getattr(row, name) for name in names} for row in rows] == \
        [{name: as_api_text(getattr(obj, name)) for name in names} for obj in objects]
    assert [row.created_by_email for row in rows] == [db.session.get(User, obj.created_by).email for obj in objects]
    presented = {item["workflow_name"]: item for item in workflow_service.present_page(rows, who)}
    for obj in objects:
        item = presented[obj.workflow_name]
        owners = [m.user for m in obj.memberships if m.role == "owner"]
        assert item["owner_emails"] == [user.email for user in owners] and item["is_owner"]
        assert item["shared_users"] == [str(m.user_id) for m in obj.memberships if m.role == "viewer"]
        assert [dict(tool) for tool in item["tool_instances"]] == \
            [{key: as_api_text(value) for key, value in workflow_service.present_tool_instance(tool).items()}
             for tool in obj.tool_instances]
    assert [tool["step"] for tool in presented[shared.workflow_name]["tool_instances"]] == [1, 2]
    assert presented[shared.workflow_name]["shared_users"] == [str(member.id)]
    sent = [shown([item], lambda item: item, WorkflowSchema)
            for item in (workflow_service.present_one(shared.id, who), presented[shared.workflow_name])]
    assert sent[0] == sent[1] and sent[0][0]["tool_instances"][0]["metadata"] == {"n": 1}

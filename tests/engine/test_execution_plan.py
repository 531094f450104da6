"""The typed run plan: one JSON round trip, and plans stored in today's shape load unchanged."""

import copy
from dataclasses import replace

from unstract.models import Execution
from unstract.models.plan import ConnectorSnapshot, EndpointSnapshot, ExecutionPlan, ListingCap, PlannedUpload, ToolStep

# A plan as the listing job stores it for an API source with an API destination.
STORED_API = {
    "uploads": [{"name": "a.txt", "staged_path": "/data/executions/x/uploads/0000", "sha256": "ab" * 32,
                 "size": 3, "mime_type": "text/plain"}],
    "duplicates": [["b.txt", "a.txt"]],
    "source": {"connection_type": "API", "configuration": {}, "connector": None},
    "destination": {"connection_type": "API", "configuration": {}, "connector": None},
    "tools": [{"tool_id": "text_extractor", "metadata": {"normalize_whitespace": False, "max_pages": None}}],
    "batch_size": 1,
}
# A filesystem-to-database plan after a CONTINUE, with a sealed secret in the snapshot.
STORED_FILESYSTEM = {
    "source": {"connection_type": "FILESYSTEM",
               "configuration": {"folders": ["in"], "processSubDirectories": True, "fileExtensions": [],
                                 "maxFiles": 100, "fileProcessingOrder": "unordered"},
               "connector": {"id": "7f0c4a52-9e4b-4d0e-9a51-2f6f1a0b9c11", "connector_id": "local_storage",
                             "metadata": {"path": "/srv/in"}}},
    "destination": {"connection_type": "DATABASE", "configuration": {"table": "out"},
                    "connector": {"id": "0d4f1c7e-8d55-4b8e-a1f4-5c2b7e3d9a20", "connector_id": "postgresql",
                                  "metadata": {"host": "db", "password": {"$enc": "gAAAA"}}}},
    "tools": [{"tool_id": "text_extractor", "metadata": {}},
              {"tool_id": "field_extractor", "metadata": {"rules": [{"name": "n", "pattern": "x"}]}}],
    "batch_size": 4,
    "run_to_end": True,
    "capped": {"max_files": 100, "left": 3104},
}


def test_stored_plans_of_todays_shape_load_and_serialize_back_unchanged():
    for stored in (STORED_API, STORED_FILESYSTEM, {"uploads": STORED_API["uploads"], "duplicates": []}, {}):
        assert ExecutionPlan.from_json(copy.deepcopy(stored)).to_json() == stored


def test_a_stored_plan_reads_as_the_domain():
    plan = ExecutionPlan.from_json(STORED_FILESYSTEM)
    assert plan.source.connector == ConnectorSnapshot("7f0c4a52-9e4b-4d0e-9a51-2f6f1a0b9c11", "local_storage",
                                                      {"path": "/srv/in"})
    assert plan.destination_type == "DATABASE" and plan.destination.settings == {"table": "out"}
    assert plan.tool_ids == ["text_extractor", "field_extractor"] and plan.tool(2).tool_id == "field_extractor"
    assert plan.batch_size == 4 and plan.run_to_end is True and plan.uploads is None
    assert plan.capped == ListingCap(100, 3104) and ExecutionPlan.from_json(STORED_API).capped is None
    api = ExecutionPlan.from_json(STORED_API)
    assert api.uploads[0] == PlannedUpload("a.txt", "/data/executions/x/uploads/0000", "ab" * 32, 3, "text/plain")
    assert api.duplicates == (("b.txt", "a.txt"),)


def test_from_json_of_to_json_is_the_same_plan():
    plan = ExecutionPlan(
        source=EndpointSnapshot("FILESYSTEM", {"folders": []}, ConnectorSnapshot("c1", "s3", {"bucket": "b"})),
        destination=EndpointSnapshot("API", {}, None),
        tools=(ToolStep("text_extractor", {"max_pages": 2}),),
        uploads=(PlannedUpload("a.pdf", "/tmp/0000", "00" * 32, 10, "application/pdf"),),
        duplicates=(("c.pdf", "a.pdf"),), batch_size=3, run_to_end=False, capped=ListingCap(3, 1))
    assert ExecutionPlan.from_json(plan.to_json()) == plan
    assert ExecutionPlan.from_json(ExecutionPlan().to_json()) == ExecutionPlan()


def test_an_execution_without_a_plan_has_the_empty_plan():
    plan = ExecutionPlan.from_json(None)
    assert plan == ExecutionPlan() and plan.to_json() == {}
    assert not plan.has_snapshot and plan.tool_ids == [] and plan.destination_type is None


def test_the_snapshot_joins_the_uploads_without_dropping_them():
    staged = ExecutionPlan.from_json({"uploads": STORED_API["uploads"], "duplicates": [["b.txt", "a.txt"]]})
    joined = staged.with_snapshot(ExecutionPlan.from_json(STORED_API))
    assert joined.has_snapshot and joined.uploads == staged.uploads and joined.duplicates == staged.duplicates
    assert joined.to_json() == {key: value for key, value in STORED_API.items() if key != "batch_size"}


def test_the_execution_row_reads_and_writes_its_plan_through_the_type():
    execution = Execution(plan=copy.deepcopy(STORED_API))
    assert execution.run_plan.tool_ids == ["text_extractor"]
    assert execution.run_plan is execution.run_plan  # read once per stored value
    execution.run_plan = replace(execution.run_plan, run_to_end=True, batch_size=2)
    assert execution.plan == {**STORED_API, "run_to_end": True, "batch_size": 2}
    execution.plan = {"tools": []}
    assert execution.run_plan == ExecutionPlan(tools=())

"""Job ids read back to their execution: what `unstract serve` names when a stop waits for a job."""

from __future__ import annotations

import uuid

from tests.factories import acme_workflow, make_execution, make_file_execution
from unstract.services import queueing


def test_every_job_id_kind_names_its_execution(world):
    execution = make_execution(acme_workflow(world))
    file_execution = make_file_execution(execution)
    job_ids = [queueing.listing_job_id(execution.id), queueing.steps_job_id(execution.id),
               queueing.file_batch_job_id(execution.id, 3), queueing.file_job_id(file_execution.id)]
    assert [queueing.execution_of_job(job_id) for job_id in job_ids] == [execution.id] * 4


def test_a_job_id_of_no_known_kind_or_row_names_no_execution(world):
    unknown = [queueing.file_job_id(uuid.uuid4()), "files-not-a-uuid-0", "listing-", "something-else"]
    assert [queueing.execution_of_job(job_id) for job_id in unknown] == [None] * 4


def test_running_jobs_of_processes_that_are_no_rq_workers_is_empty():
    assert queueing.running_jobs([1]) == {}

"""Try a step before running the workflow: a sample document's text per page (native or OCR) and, for an
LLM extractor, its fields edited in a form and extracted from that sample with tokens and cost.

Routes of the `web_workflows` blueprint, for the workflow's owners. A trial creates no execution and no
file history (unstract.worker.trials runs the tool in its own tool process). The sample's text travels
back with the form, so the uploaded file itself is never stored.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, render_template, request
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from unstract.errors import ValidationFailed
from unstract.jsonschemas import LLM_DEFAULT_INSTRUCTIONS, TOOL_SETTINGS, mime_type_for
from unstract.models import ToolInstance, Workflow
from unstract.services import adapters, tool_instances
from unstract.services.uploads import sanitized_name
from unstract.tools.llm_extractor import FIELD_TYPES, SCALAR_TYPES
from unstract.tools.registry import TOOLS
from unstract.web.schema_forms import errors_by_attr
from unstract.web.workflow_sections import step_instance
from unstract.web.workflows_blueprint import bp, owned_workflow
from unstract.worker import trials

TRIED_TOOLS = (trials.TEXT_TOOL, adapters.LLM_TOOL)
KEPT_TEXT_CHARS = 150_000  # the sample text a page carries between posts (form fields are bounded in size)
ROW = "_row"
FIELDS_PREFIX = "metadata.fields"
_FIELD_NAME = re.compile(r"^metadata\.fields\.(\d+)\.name$")
LLM_MODES = (("single_pass", "One call for all fields"), ("per_field", "One call per field"))


@dataclass
class Sample:
    """The sample shown on the page: its name, text and pages (each with its part of the text)."""

    name: str = ""
    text: str = ""
    pages: list[dict] = field(default_factory=list)
    normalized: bool = False
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def meta_json(self) -> str:
        return json.dumps([{k: page[k] for k in ("page", "method", "chars")} for page in self.pages])


def _step(workflow_id: uuid.UUID, instance_id: uuid.UUID) -> tuple[Any, Workflow, ToolInstance]:
    who, workflow = owned_workflow(workflow_id)
    instance = step_instance(workflow, instance_id)
    if instance is None or instance.tool_id not in TRIED_TOOLS:
        abort(404)
    return who, workflow, instance


def _text_settings(workflow: Workflow, instance: ToolInstance) -> dict:
    """How the sample is read: as the workflow's text extractor step before this one (this one, for a
    text extractor), else as the LLM extractor reads a file on its own (the defaults)."""
    earlier = [step for step in workflow.tool_instances
               if step.tool_id == trials.TEXT_TOOL and step.step <= instance.step]
    return dict(max(earlier, key=lambda step: step.step).metadata_) if earlier else {}


# --- The fields form ----------------------------------------------------------------------------

def fields_from_form(form: MultiDict, *, keep_blank: bool) -> list[dict]:
    """The LLM fields the form describes, in order; blank rows (no name, no prompt) are dropped unless
    `keep_blank` (a row being added is blank until filled in)."""
    indexes = sorted({int(m.group(1)) for key in form for m in [_FIELD_NAME.match(key)] if m})
    fields = []
    for index in indexes:
        prefix = f"{FIELDS_PREFIX}.{index}"
        item = {"name": form.get(f"{prefix}.name", "").strip(), "prompt": form.get(f"{prefix}.prompt", "").strip(),
                "type": form.get(f"{prefix}.type", "text"), "required": f"{prefix}.required" in form}
        if not item["name"] and not item["prompt"] and not keep_blank:
            continue
        columns = _columns_from_form(form, prefix)
        columns = columns if keep_blank else [column for column in columns if column["name"]]
        if item["type"] == "line_items" or (keep_blank and columns):
            item["columns"] = columns
        fields.append(item)
    return fields


def _columns_from_form(form: MultiDict, prefix: str) -> list[dict]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.columns\.(\d+)\.name$")
    indexes = sorted({int(m.group(1)) for key in form for m in [pattern.match(key)] if m})
    return [{"name": form.get(f"{prefix}.columns.{i}.name", "").strip(),
             "type": form.get(f"{prefix}.columns.{i}.type", "text")} for i in indexes]


def apply_row_action(fields: list[dict], action: str) -> list[dict]:
    """Add or remove a field or a column (buttons named _row), so the form works without JavaScript."""
    verb, _, rest = action.partition(":")
    numbers = [int(part) for part in rest.split(":") if part.isdigit()]
    if verb == "add_field":
        fields.append({"name": "", "prompt": "", "type": "text", "required": False})
    elif verb == "remove_field" and numbers and numbers[0] < len(fields):
        fields.pop(numbers[0])
    elif verb == "add_column" and numbers and numbers[0] < len(fields):
        fields[numbers[0]].setdefault("columns", []).append({"name": "", "type": "text"})
    elif verb == "remove_column" and len(numbers) == 2 and numbers[0] < len(fields):
        columns = fields[numbers[0]].get("columns") or []
        if numbers[1] < len(columns):
            columns.pop(numbers[1])
    return fields


def metadata_from_form(form: MultiDict, stored: dict, fields: list[dict]) -> dict:
    """The step's settings as the form sets them; what the form does not show is kept as stored."""
    return {**stored, "adapter_id": form.get("metadata.adapter_id", ""),
            "mode": form.get("metadata.mode", "single_pass"),
            "instructions": form.get("metadata.instructions", "").strip() or LLM_DEFAULT_INSTRUCTIONS,
            "fields": fields}


# --- The sample --------------------------------------------------------------------------------

def _uploaded_sample(workflow: Workflow, instance: ToolInstance) -> Sample | None:
    """The text of the uploaded sample (None when no file came); the file is read in memory only."""
    upload = request.files.get("sample")
    if upload is None or not upload.filename:
        return None
    name = sanitized_name(upload.filename)
    mime_type = mime_type_for(name)
    if mime_type is None:
        return Sample(name, error=f"Cannot read “{name}”: unsupported file type.")
    data = upload.stream.read(trials.SAMPLE_MAX_BYTES + 1)
    settings = _text_settings(workflow, instance)
    found = trials.extract_text(data, mime_type, settings, current_app.config["UNSTRACT_SETTINGS"])
    warnings = list(found.warnings)
    text = found.text
    if len(text) > KEPT_TEXT_CHARS:
        warnings.append(f"The sample's text is cut to its first {KEPT_TEXT_CHARS:,} characters for trying.")
        text = text[:KEPT_TEXT_CHARS]
    normalized = bool(settings.get("normalize_whitespace"))
    return Sample(name, text, trials.split_pages(text, found.pages, normalized), normalized, warnings, found.error)


def _posted_sample() -> Sample:
    """The sample text the page carried back (the file was read on an earlier post)."""
    text = request.form.get("sample_text", "")[:KEPT_TEXT_CHARS]
    normalized = request.form.get("sample_normalized") == "1"
    try:
        meta = json.loads(request.form.get("sample_pages", "[]"))
        pages = [{"page": int(p["page"]), "method": str(p["method"]), "chars": int(p["chars"])} for p in meta]
    except (ValueError, TypeError, KeyError):
        pages = [{"page": 1, "method": "native", "chars": len(text)}] if text else []
    return Sample(request.form.get("sample_name", "")[:255], text, trials.split_pages(text, pages, normalized),
                  normalized)


# --- Page ---------------------------------------------------------------------------------------

def _render(who, workflow, instance, *, sample: Sample, fields=None, metadata=None, messages=(),
            result=None, message="", problem="", status=200):
    settings = metadata if metadata is not None else dict(instance.metadata_)
    context = {
        "who": who, "workflow": workflow, "instance": instance, "tool_name": TOOLS[instance.tool_id].name,
        "is_llm": instance.tool_id == adapters.LLM_TOOL, "sample": sample, "result": result, "message": message,
        "problem": problem,
        "settings": settings, "fields": fields if fields is not None else list(settings.get("fields") or []),
        "errors": errors_by_attr(messages), "adapters": adapters.list_for_page(who),
        "modes": LLM_MODES, "field_types": FIELD_TYPES, "column_types": SCALAR_TYPES,
        "text_settings": _text_settings(workflow, instance),
        "text_schema": TOOL_SETTINGS[trials.TEXT_TOOL]["properties"], "max_mb": trials.SAMPLE_MAX_BYTES // 2**20,
    }
    return render_template("workflows/try.html", **context), status


@bp.get("/workflows/<uuid:workflow_id>/tools/<uuid:instance_id>/try")
@login_required
def try_step(workflow_id: uuid.UUID, instance_id: uuid.UUID):
    """The trial page: upload a sample, see its text, and (LLM extractor) edit the fields and run them."""
    who, workflow, instance = _step(workflow_id, instance_id)
    return _render(who, workflow, instance, sample=Sample())


@bp.post("/workflows/<uuid:workflow_id>/tools/<uuid:instance_id>/try")
@login_required
def try_step_post(workflow_id: uuid.UUID, instance_id: uuid.UUID):
    """Read a sample, run the extraction on it, save the fields, or add/remove a row of the form."""
    who, workflow, instance = _step(workflow_id, instance_id)
    sample = _uploaded_sample(workflow, instance) or _posted_sample()
    if instance.tool_id != adapters.LLM_TOOL:
        return _render(who, workflow, instance, sample=sample, status=400 if sample.error else 200)
    fields = fields_from_form(request.form, keep_blank=bool(request.form.get(ROW)))
    if request.form.get(ROW):
        fields = apply_row_action(fields, request.form[ROW])
    metadata = metadata_from_form(request.form, dict(instance.metadata_), fields)
    page = {"sample": sample, "fields": fields, "metadata": metadata}
    action = request.form.get("action", "extract")
    if request.form.get(ROW) or action not in ("run", "save"):
        return _render(who, workflow, instance, **page)
    try:
        if action == "save":
            tool_instances.update(instance, {"metadata": metadata}, [])
            return _render(who, workflow, instance, **page, message=f"Fields saved to step {instance.step}.")
        checked = tool_instances.checked_settings(instance, metadata)
    except ValidationFailed as exc:
        return _render(who, workflow, instance, **page, messages=exc.messages, status=400)
    if not sample.text:
        return _render(who, workflow, instance, **page, status=400,
                       problem="" if sample.error else "Upload a sample document first.")
    result = trials.run_llm_extractor(workflow.organization_id, checked, sample.text,
                                      current_app.config["UNSTRACT_SETTINGS"], current_app.config["SECRET_KEY"])
    return _render(who, workflow, instance, **page, result=result)

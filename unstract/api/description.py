"""The overview of the API's conventions shown at the top of /api/docs (OpenAPI `info.description`)."""

API_DESCRIPTION = """\
Every route lives under `/api/v1/unstract/{org_id}/` and answers the same with or without its trailing slash.

**Authentication.** Either the dashboard's session cookie (unsafe methods also send the `X-CSRFToken` header)
or `Authorization: Bearer <key>`. A key acts as its user in its organization, capped by its tier: `read`
(GET, HEAD, OPTIONS), `read_write` (+ POST, PUT, PATCH), `full_access` (+ DELETE). No credentials → 401.

**Scope.** An organization you are not a member of, and any object of another organization, is 404.
A workflow is visible to its owners, its shared users, every member when it is shared to the organization,
and org admins (who own every workflow); an invisible one is 404 everywhere, and a visible one on an
owner-only route is 403. Executions, logs, file history, endpoints and tool instances follow their workflow.

**Lists** are paginated: `page` (default 1) and `page_size` (default 50, at most 1000) give
`{count, next, previous, results}`; a page past the last is 404 `invalid_page`. `ordering` takes
comma-separated fields, `-` for descending; the primary key always breaks ties.

**Errors** share one envelope: `{"type": "validation_error" | "client_error" | "server_error",
"errors": [{"code", "detail", "attr"}]}`, 400 (never 422) for validation with `attr` naming the field
(dotted when nested).

**Formats.** JSON bodies (`multipart/form-data` too for uploads to `workflow/execute/`, by default at most 32 files);
bodies over `MAX_CONTENT_LENGTH` are 413. Timestamps are ISO 8601 UTC with microseconds and `Z`.

**Runs.** `POST workflow/execute/` waits up to `timeout` seconds (0 = return at once): 200 when the run
ended, 202 while it goes on. File history skips files already processed until it is cleared.

The repository's `docs/API.md` and `docs/EXECUTION.md` describe these rules in full.
"""

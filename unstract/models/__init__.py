"""All models, imported here so Alembic and the app see one complete metadata."""

from unstract.models.adapter import Adapter
from unstract.models.connector import CONNECTOR_MODES, Connector
from unstract.models.deployment import ApiDeployment, DeploymentKey, DeploymentRun, IdempotencyClaim
from unstract.models.execution import (
    NON_TERMINAL,
    STATUS_VALUES,
    TERMINAL,
    Execution,
    ExecutionType,
    FileExecution,
    Phase,
    Status,
)
from unstract.models.execution_log import LEVEL_ORDER, ExecutionLog, LogLevel, Stage
from unstract.models.file_history import FileHistory, FileReservation
from unstract.models.notification import (
    AUTHORIZATION_TYPES,
    EVENT_OF_STATUS,
    EVENTS,
    FORMATS,
    Delivery,
    DeliveryStatus,
    Notification,
)
from unstract.models.org_user import (
    TIER_METHODS,
    ApiKey,
    ApiKeyPermission,
    Organization,
    OrgMembership,
    OrgRole,
    User,
    UserSession,
)
from unstract.models.schedule import RunStatus, Schedule, ScheduleRun
from unstract.models.workflow import (
    ALLOWED_CONNECTION_TYPES,
    ConnectionType,
    DeploymentType,
    EndpointType,
    ToolInstance,
    Workflow,
    WorkflowEndpoint,
    WorkflowMembership,
    WorkflowRole,
)

__all__ = [
    "ALLOWED_CONNECTION_TYPES", "CONNECTOR_MODES", "LEVEL_ORDER", "NON_TERMINAL", "STATUS_VALUES",
    "TERMINAL", "TIER_METHODS", "Adapter", "ApiDeployment", "ApiKey", "ApiKeyPermission", "ConnectionType",
    "Connector", "DeploymentKey", "DeploymentRun", "DeploymentType", "EndpointType", "Execution",
    "ExecutionLog", "ExecutionType", "FileExecution", "FileHistory", "FileReservation", "IdempotencyClaim",
    "LogLevel", "OrgMembership", "OrgRole", "Organization", "Phase", "RunStatus", "Schedule", "ScheduleRun",
    "Stage", "Status", "ToolInstance", "User", "UserSession", "Workflow", "WorkflowEndpoint",
    "WorkflowMembership", "WorkflowRole",
    "AUTHORIZATION_TYPES", "EVENTS", "EVENT_OF_STATUS", "FORMATS", "Delivery", "DeliveryStatus", "Notification",
]

"""mongoengine documents, one aggregate per module; `DOCUMENTS` lists every collection."""

from server.models.alarm import Alarm
from server.models.audit_event import AuditEvent, AuditSignature
from server.models.checklist import ChecklistVersion
from server.models.counter import CounterClaim
from server.models.device import Device
from server.models.enterprise import Enterprise
from server.models.entry import EntryEvent, Roster
from server.models.entry_decision import EntryDecision
from server.models.figures import FigureCell, FigurePlace
from server.models.gas_limits import GasLimitsVersion
from server.models.hazard import Hazard
from server.models.hazard_listing import HazardListing
from server.models.inspection import Inspection
from server.models.issuing_body import IssuingBody
from server.models.job_run import JobRun
from server.models.jurisdiction import Jurisdiction
from server.models.label_key import LabelKeyRecord
from server.models.login_window import LoginWindow
from server.models.monthly_report import MonthlyReport
from server.models.notification import Notification
from server.models.number_block import NumberBlock
from server.models.order import Order
from server.models.outbox_entry import OutboxEntry
from server.models.permit import Permit, PermitRecord
from server.models.photo import Photo, PhotoContext
from server.models.public_report import PublicReport
from server.models.review_decision import ReviewDecision
from server.models.space import Space
from server.models.timer import Timer
from server.models.token import AuthToken
from server.models.upload import Upload
from server.models.user import User
from server.models.violation import Violation
from server.models.webhook import Webhook, WebhookDelivery

DOCUMENTS = (
    Jurisdiction,
    Enterprise,
    User,
    AuthToken,
    Device,
    ChecklistVersion,
    GasLimitsVersion,
    LabelKeyRecord,
    Inspection,
    Space,
    Permit,
    PermitRecord,
    Roster,
    EntryEvent,
    EntryDecision,
    Alarm,
    Violation,
    Hazard,
    HazardListing,
    Notification,
    PublicReport,
    IssuingBody,
    NumberBlock,
    Order,
    Webhook,
    WebhookDelivery,
    Upload,
    Photo,
    PhotoContext,
    CounterClaim,
    OutboxEntry,
    AuditEvent,
    AuditSignature,
    JobRun,
    Timer,
    LoginWindow,
    ReviewDecision,
    FigureCell,
    FigurePlace,
    MonthlyReport,
)

__all__ = [
    "DOCUMENTS",
    "Alarm",
    "AuditEvent",
    "AuditSignature",
    "AuthToken",
    "ChecklistVersion",
    "CounterClaim",
    "Device",
    "Enterprise",
    "EntryDecision",
    "EntryEvent",
    "FigureCell",
    "FigurePlace",
    "GasLimitsVersion",
    "Hazard",
    "HazardListing",
    "Inspection",
    "IssuingBody",
    "JobRun",
    "Jurisdiction",
    "LabelKeyRecord",
    "LoginWindow",
    "MonthlyReport",
    "NumberBlock",
    "Order",
    "Webhook",
    "WebhookDelivery",
    "Notification",
    "OutboxEntry",
    "Permit",
    "PermitRecord",
    "Photo",
    "PhotoContext",
    "Roster",
    "PublicReport",
    "ReviewDecision",
    "Space",
    "Timer",
    "Upload",
    "User",
    "Violation",
]

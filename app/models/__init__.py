"""All models, imported so that Alembic and the mappers see every table."""
from app.models.assessment import AssessmentMode, AssessmentRule
from app.models.audit import AuditChainStart, AuditEvent
from app.models.base import Model, PeriodKind, SchoolOwned
from app.models.classes import (
    ClassUnit,
    Enrolment,
    IndividualPlan,
    Stream,
    StudyGroup,
    stream_student,
    study_group_student,
)
from app.models.consent import (
    Channel,
    Consent,
    ContactKind,
    ContactPoint,
    Decision,
    DeliveryPreference,
    DocumentKind,
    Provenance,
)
from app.models.exchange import OutboxArchive, OutboxMessage, OutboxStatus
from app.models.extracts import ExtractLog
from app.models.journal import (
    Attendance,
    AttendanceCode,
    ChangeKind,
    ControlWorkPlan,
    Lesson,
    LessonChange,
    LessonStatus,
    LessonType,
    Mark,
    Recommendation,
    TimetableEntry,
)
from app.models.people import Guardian, Staff, Student, StudentGuardian
from app.models.promotion import PromotionDecision, PromotionOutcome
from app.models.results import (
    ExamKind,
    ExamResult,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from app.models.school import (
    AcademicYear,
    BellSlot,
    Holiday,
    PeriodStatusChange,
    ReportingPeriod,
    School,
    Subject,
    WorkType,
)
from app.models.sessions import SessionEpoch
from app.models.stats import StatsVersion
from app.models.teaching import CurriculumItem, TeachingAssignment

__all__ = [
    "SessionEpoch", "Model", "PeriodKind", "SchoolOwned", "ClassUnit", "Enrolment", "IndividualPlan", "Stream",
    "StudyGroup", "stream_student", "study_group_student", "Guardian", "Staff", "Student",
    "StudentGuardian", "AcademicYear", "BellSlot", "Holiday", "PeriodStatusChange",
    "ReportingPeriod", "School",
    "Subject", "WorkType", "CurriculumItem", "TeachingAssignment", "AuditEvent", "AuditChainStart", "Attendance",
    "AttendanceCode", "ChangeKind", "ControlWorkPlan", "Lesson", "LessonChange", "LessonStatus",
    "LessonType", "Mark", "Recommendation", "TimetableEntry", "Channel", "Consent", "ContactKind",
    "ContactPoint", "Decision", "DeliveryPreference", "DocumentKind", "Provenance", "ExamKind",
    "ExamResult", "FinalGrade", "FinalStatus", "FinalValue", "Notification", "NotificationKind",
    "NotificationStatus", "ExtractLog", "OutboxArchive", "OutboxMessage", "OutboxStatus", "AssessmentMode",
    "AssessmentRule", "PromotionDecision", "PromotionOutcome", "StatsVersion",
]

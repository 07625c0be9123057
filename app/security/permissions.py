"""Permission names as constants (resources × actions), shared by views, APIs and roles."""

ACTION_READ = "read"
ACTION_WRITE = "write"
CAN_READ = "can_read"
CAN_WRITE = "can_write"
MENU_ACCESS = "menu_access"

RESOURCE_SCHOOL = "School"
RESOURCE_ACADEMIC_YEAR = "AcademicYear"
RESOURCE_REPORTING_PERIOD = "ReportingPeriod"
RESOURCE_HOLIDAY = "Holiday"
RESOURCE_BELL_SLOT = "BellSlot"
RESOURCE_SUBJECT = "Subject"
RESOURCE_WORK_TYPE = "WorkType"
RESOURCE_STAFF = "Staff"
RESOURCE_CLASS_UNIT = "ClassUnit"
RESOURCE_ENROLMENT = "Enrolment"
RESOURCE_STUDY_GROUP = "StudyGroup"
RESOURCE_STREAM = "Stream"
RESOURCE_INDIVIDUAL_PLAN = "IndividualPlan"
RESOURCE_STUDENT = "Student"
RESOURCE_GUARDIAN = "Guardian"
RESOURCE_STUDENT_GUARDIAN = "StudentGuardian"
RESOURCE_TEACHING_ASSIGNMENT = "TeachingAssignment"
RESOURCE_CURRICULUM = "CurriculumItem"
RESOURCE_ASSESSMENT_RULE = "AssessmentRule"  # unmarked and pass/fail learning
RESOURCE_JOURNAL = "Journal"
RESOURCE_TIMETABLE = "TimetableEntry"
RESOURCE_LESSON = "Lesson"
RESOURCE_LESSON_CHANGE = "LessonChange"
RESOURCE_CONTROL_WORK = "ControlWorkPlan"
RESOURCE_MARK = "Mark"
RESOURCE_ATTENDANCE = "Attendance"
RESOURCE_RECOMMENDATION = "Recommendation"
RESOURCE_CONSENT = "Consent"
RESOURCE_CONTACT = "ContactPoint"
RESOURCE_DELIVERY = "DeliveryPreference"
RESOURCE_AUDIT = "AuditEvent"
RESOURCE_ROSTER_IMPORT = "RosterImport"
RESOURCE_FINAL_GRADE = "FinalGrade"
RESOURCE_EXAM_RESULT = "ExamResult"
RESOURCE_STATISTICS = "Statistics"
RESOURCE_FORECAST = "Forecast"
RESOURCE_ACADEMIC_RECORD = "AcademicRecord"
RESOURCE_NOTIFICATION = "Notification"
RESOURCE_EXTRACT = "Extract"  # printing paper extracts
RESOURCE_EXTRACT_LOG = "ExtractLog"  # the print log and verification
RESOURCE_EXCHANGE = "Exchange"  # the portal exchange page and «retry failed»
RESOURCE_OUTBOX = "Outbox"  # the outbox messages, read-only
RESOURCE_JOURNAL_CONTROL = "JournalControl"  # the deputy's control reports (teachers: their own journals)

# Model views and REST APIs map their methods onto the two actions.
VIEW_METHOD_ACTIONS = {
    "list": ACTION_READ, "show": ACTION_READ, "download": ACTION_READ, "action": ACTION_WRITE,
    "action_post": ACTION_WRITE, "add": ACTION_WRITE, "edit": ACTION_WRITE,
    "delete": ACTION_WRITE,
}
API_METHOD_ACTIONS = {
    "get": ACTION_READ, "get_list": ACTION_READ, "info": ACTION_READ, "post": ACTION_WRITE,
    "put": ACTION_WRITE, "delete": ACTION_WRITE,
}

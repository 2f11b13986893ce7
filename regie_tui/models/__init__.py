"""SQLModel tables, one module per aggregate. Importing this package registers them all."""

from regie_tui.models.activity import (  # noqa: F401
    Activity,
    ActivityKind,
    ActivityPeriod,
    AgeGroup,
    Capacity,
    Closure,
    DayOff,
    DayOffKind,
    Facility,
    FacilityKind,
    Unit,
    UnitRule,
    UnitRuleKind,
)
from regie_tui.models.agent import Agent, Role  # noqa: F401
from regie_tui.models.audit import AuditEntry  # noqa: F401
from regie_tui.models.base import Source  # noqa: F401  (sets the naming convention first)
from regie_tui.models.billing import (  # noqa: F401
    Charge,
    ChargeKind,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NumberSequence,
    QfBracket,
    Rate,
)
from regie_tui.models.booking import Booking, BookingState, Enrollment, EnrollmentStatus  # noqa: F401
from regie_tui.models.document import (  # noqa: F401
    Document,
    DocumentScope,
    DocumentStatus,
    DocumentType,
    StoredFile,
)
from regie_tui.models.family import (  # noqa: F401
    AuthorizedPerson,
    Child,
    ChildDiet,
    Consent,
    ConsentKind,
    Diet,
    Family,
    FamilyQuotient,
    FamilySearchWord,
    Guardian,
    HealthNote,
    HealthNoteKind,
    PortalAccount,
    PortalLogin,
    Sex,
)
from regie_tui.models.inbox import (  # noqa: F401
    ChangeRequest,
    Message,
    MessageDirection,
    News,
    RequestStatus,
    StructureDocument,
)
from regie_tui.models.payment import (  # noqa: F401
    CASH_LIMIT_CENTS,
    Allocation,
    Mandate,
    MandateSequence,
    Payment,
    PaymentMode,
)
from regie_tui.models.town import Regie, Town  # noqa: F401

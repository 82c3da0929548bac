"""SQLAlchemy models and the rules that guard their states."""
from .base import LOCAL_ZONE, Base, local_time, utcnow
from .directory import Community, Grid, Person, Street, Unit, mask_name, normalise_phone
from .errors import (
    AlreadyTaken,
    BadInput,
    InvalidState,
    NotAllowed,
    NotFound,
    UserError,
)
from .messaging import ApiToken, Notice, ProcessedMessage
from .service import Certificate
from .staff import StaffUser
from .wish import Claim, Wish, WishEvent
from .workflow import Proof, Registration

__all__ = [
    "AlreadyTaken", "ApiToken", "BadInput", "Base", "Certificate", "Claim", "Community", "Grid", "InvalidState", "LOCAL_ZONE", "local_time",
    "NotAllowed", "NotFound", "Notice", "Person", "ProcessedMessage", "Proof", "Registration", "StaffUser", "Street", "Unit",
    "UserError", "Wish", "WishEvent", "mask_name", "normalise_phone", "utcnow",
]

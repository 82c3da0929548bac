"""SQLAlchemy models and the rules that guard their states."""
from .base import Base, local_time, local_zone, use_local_zone, utcnow
from .directory import Community, Grid, Person, Street, Unit, mask_name, normalise_phone
from .errors import (
    AlreadyTaken,
    BadInput,
    InvalidState,
    NotAllowed,
    NotFound,
    UserError,
)
from .exports import ExportJob
from .messaging import ApiToken, Notice, ProcessedMessage
from .service import Certificate
from .staff import StaffUser
from .tally import FigureClaim, FigureState, FigureSum, FigureTally, FigureWish
from .wish import Claim, Wish, WishEvent, limited
from .workflow import Proof, Registration, WishDraft

__all__ = [
    "AlreadyTaken", "ApiToken", "BadInput", "Base", "Certificate", "Claim", "Community", "ExportJob", "FigureClaim", "FigureState", "FigureSum", "FigureTally", "FigureWish", "Grid",
    "InvalidState",
    "local_time", "local_zone",
    "NotAllowed", "NotFound", "Notice", "Person", "ProcessedMessage", "Proof", "Registration", "StaffUser", "Street", "Unit",
    "UserError", "Wish", "WishDraft", "WishEvent", "mask_name", "limited", "normalise_phone", "use_local_zone",
    "utcnow",
]

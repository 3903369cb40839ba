"""The progress strip ("frise") of the access and company pages: where a company stands among the onboarding
stages and what comes next (the ``progress`` macro of templates/_macros.html draws it).

The stage is derived only from what the page already shows — the analysis outcome on the public access page, the
file's state on the company pages — so the strip never tells a visitor more than the page's own message does.
Outcomes and states off the path (a site rather than the head office, a suspended access, a rejected file) show no
strip: any stage drawn for them would be a guess.
"""
from __future__ import annotations

STAGES = ("present", "cofor", "request", "terms", "asl", "users")

# AnalysisOutcome name (without ANALYSIS_OUTCOME_) → the stage the company is at.
ACCESS_STAGE = {
    "INVALID_COFOR": "present",  # no such company: presenting it is what the page offers
    "SUPPLIER_DEACTIVATED": "present",  # a new company must be presented again (new D-U-N-S, new COFOR)
    "ACCESS_NOT_REQUESTED": "request",
    "ACCESS_REQUEST_UNDER_REVIEW": "request",  # purchasing checks the signatory before any link is sent
    "TERMS_PENDING": "terms",
    "ADMINISTRATOR_PENDING": "asl",
    "ACCESS_OPEN": "users",  # the ASL gives each employee a V-identifier
}

# PresentationState name (without PRESENTATION_STATE_) → the stage the company is at.
FILE_STAGE = {
    "DRAFT": "present",
    "SUBMITTED": "cofor",  # purchasing decides and gives the COFOR
    "REFERENCED": "request",  # what the file knows: the access page tells the rest
    "EXPIRED": "present",  # the page offers to start a new file
}


def access_stage(outcome: str) -> str:
    """The stage of an analysis outcome, or "" for none (no strip)."""
    return ACCESS_STAGE.get(outcome, "")


def file_stage(state: str) -> str:
    """The stage of a company file's state, or "" for none (no strip)."""
    return FILE_STAGE.get(state, "")

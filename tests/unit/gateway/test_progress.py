"""The progress strip's stage for every analysis outcome and file state (an outcome the protos add must be placed or
left off on purpose), and the macro for the one stage the browser test cannot stop at (ADMINISTRATOR_PENDING lasts
as long as identity takes to create the ASL). The strip in a real browser: tests/browser/test_progress_strip.py."""
from __future__ import annotations

import re

from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from gateway.pages.progress import ACCESS_STAGE, FILE_STAGE, STAGES, access_stage, file_stage
from gateway.pages.rendering import ENV

OFF_THE_PATH = {"UNSPECIFIED", "SITE_NOT_ELIGIBLE", "ACCESS_SUSPENDED"}  # no strip: any stage would be a guess
FILE_OFF_THE_PATH = {"UNSPECIFIED", "REJECTED"}


def test_every_outcome_and_file_state_is_placed_or_left_off_on_purpose() -> None:
    outcomes = {name.removeprefix("ANALYSIS_OUTCOME_") for name in cofor.AnalysisOutcome.keys()}
    assert set(ACCESS_STAGE) == outcomes - OFF_THE_PATH
    assert all(access_stage(name) == "" for name in OFF_THE_PATH)
    states = {name.removeprefix("PRESENTATION_STATE_") for name in cofor_pb.PresentationState.keys()}
    assert set(FILE_STAGE) == states - FILE_OFF_THE_PATH
    assert all(file_stage(name) == "" for name in FILE_OFF_THE_PATH)
    assert set(ACCESS_STAGE.values()) | set(FILE_STAGE.values()) <= set(STAGES)
    order = ["INVALID_COFOR", "ACCESS_NOT_REQUESTED", "TERMS_PENDING", "ADMINISTRATOR_PENDING", "ACCESS_OPEN"]
    assert [STAGES.index(access_stage(o)) for o in order] == [0, 2, 3, 4, 5]


def test_the_macro_marks_the_asl_stage_current_while_the_account_is_created() -> None:
    html = ENV.from_string('{% import "_macros.html" as m with context %}{{ m.progress(stage) }}').render(
        lang="en", stage=access_stage("ADMINISTRATOR_PENDING"))
    states = re.findall(r'data-stage="(\w+)" data-state="(\w+)"', html)
    assert states == [("present", "done"), ("cofor", "done"), ("request", "done"), ("terms", "done"),
                      ("asl", "current"), ("users", "next")]
    assert re.findall(r'data-stage="(\w+)"[^>]*aria-current="step"', html) == ["asl"]
    assert "style" not in html and "<script" not in html
    assert ENV.from_string('{% import "_macros.html" as m with context %}{{ m.progress("") }}').render(
        lang="fr").strip() == ""

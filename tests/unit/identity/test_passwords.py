"""Unit tests of the identity password policy (ARCHITECTURE.md §5, NIST SP 800-63B rev. 4)."""
from __future__ import annotations

import pytest

from identity.domain import passwords
from identity.domain.passwords import MAX_LENGTH, PolicyViolation, check_policy, normalize

IDENTIFIER = "V123456"
COFOR_ROOT = "12345A"
EMAIL = "jean.dupont@forges.example"

PASSPHRASE = "Les sapins de Gérardmer brillent sous la neige"
# A filler of unrelated words, strong enough for zxcvbn at any prefix length used below.
WORDS = "glacier tambour orchidee vertige pelican mousson cadran falaise boussole renard oursin lanterne "


def reasons(password: str, *, identifier: str = IDENTIFIER, cofor_root: str = COFOR_ROOT, email: str = EMAIL,
            **kwargs: int) -> list[str]:
    return [v.reason for v in check_policy(password, identifier=identifier, cofor_root=cofor_root, email=email,
                                           **kwargs)]


def words(length: int) -> str:
    text = (WORDS * (length // len(WORDS) + 1))[:length]
    assert len(text) == length
    return text


# --- acceptable passwords ---------------------------------------------------------------------------------------

def test_long_passphrase_with_accents_and_spaces_passes() -> None:
    assert check_policy(PASSPHRASE, identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL) == []


def test_no_composition_rule_all_lowercase_letters_pass() -> None:
    assert reasons("xjqpvrwmtkzlbnhdgfcs") == []
    assert reasons("quartz violon lagune ombrelle") == []


def test_any_unicode_is_allowed() -> None:
    assert reasons("Ωμέγα 東京タワー 🌲🌲 sapin vert ünd blau") == []


# --- NFKC -------------------------------------------------------------------------------------------------------

def test_normalize_is_nfkc_only() -> None:
    assert normalize("ﬁ") == "fi"
    assert normalize("ＡＢＣ１２３") == "ABC123"
    assert normalize("e\u0301") == "é"
    # No trimming, no case change.
    assert normalize("  Mot De Passe  ") == "  Mot De Passe  "


def test_ligature_counts_as_its_nfkc_form_for_length() -> None:
    raw = "ﬁ" + "quartzvolubi"  # 13 code points, 14 once "ﬁ" becomes "fi"
    assert len(raw) == 13 and len(normalize(raw)) == 14
    assert passwords.PASSWORD_TOO_SHORT not in reasons(raw, min_length=14)
    assert passwords.PASSWORD_TOO_SHORT in reasons(raw, min_length=15)
    # Same verdicts as the NFKC form itself.
    assert reasons(raw, min_length=14) == reasons(normalize(raw), min_length=14)


def test_combining_characters_are_composed_before_counting() -> None:
    raw = "Ge\u0301rardmer sapins"  # 17 code points, 16 once "e" + acute compose to "é"
    assert len(raw) == 17 and len(normalize(raw)) == 16
    assert passwords.PASSWORD_TOO_SHORT in reasons(raw, min_length=17)
    assert passwords.PASSWORD_TOO_SHORT not in reasons(raw, min_length=16)


def test_full_width_identifier_counts_as_the_identifier() -> None:
    assert reasons("sapin ｖ１２３４５６ sous la neige") == [passwords.PASSWORD_CONTAINS_IDENTIFIER]


# --- length -----------------------------------------------------------------------------------------------------

def test_too_short_with_default_minimum() -> None:
    password = "Kx9#vQ2!mTz7Lp"
    assert len(password) == 14
    violations = check_policy(password, identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL)
    assert violations == [PolicyViolation("PASSWORD_TOO_SHORT", "must be at least 15 characters")]


def test_minimum_is_configurable() -> None:
    password = "Kx9#vQ2!mTz7Lp"
    assert reasons(password, min_length=8) == []
    assert reasons("Kx9#vQ2", min_length=8)[0] == passwords.PASSWORD_TOO_SHORT
    assert check_policy("Kx9#vQ2", identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL,
                        min_length=8)[0].description == "must be at least 8 characters"
    assert reasons(words(15)) == []


def test_invalid_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        check_policy(PASSPHRASE, identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL, min_length=0)
    with pytest.raises(ValueError):
        check_policy(PASSPHRASE, identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL, min_length=129)


def test_exactly_max_length_passes_one_more_is_too_long() -> None:
    assert MAX_LENGTH == 128
    assert reasons(words(128)) == []
    violations = check_policy(words(129), identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL)
    assert violations == [PolicyViolation("PASSWORD_TOO_LONG", "must be at most 128 characters")]


def test_length_counts_code_points_after_nfkc() -> None:
    # 128 ligatures are 256 characters once normalised.
    assert passwords.PASSWORD_TOO_LONG in reasons("ﬁ" * 128)
    # 128 astral-plane emoji are 128 code points (not 256 UTF-16 units, not 512 bytes).
    assert passwords.PASSWORD_TOO_LONG not in reasons("🌲" * 100 + words(28))


# --- personal information ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["V123456", "v123456"])
def test_identifier_in_any_case(form: str) -> None:
    assert reasons(f"mon code est {form} chez nous") == [passwords.PASSWORD_CONTAINS_IDENTIFIER]


def test_identifier_given_in_lower_case_still_matches() -> None:
    assert reasons("mon code est V123456 chez nous", identifier="v123456") == [
        passwords.PASSWORD_CONTAINS_IDENTIFIER
    ]


def test_identifier_digits_alone_do_not_count_as_identifier() -> None:
    assert passwords.PASSWORD_CONTAINS_IDENTIFIER not in reasons("mes voisins 123456 sont aimables")


@pytest.mark.parametrize("form", ["12345A", "12345a"])
def test_cofor_root_in_any_case(form: str) -> None:
    assert reasons(f"la cofor {form} est la notre ok") == [passwords.PASSWORD_CONTAINS_COFOR]


def test_email_local_part_in_any_case() -> None:
    assert reasons("Jean.Dupont aime les montagnes") == [passwords.PASSWORD_CONTAINS_EMAIL]


def test_email_piece_of_local_part() -> None:
    assert reasons("chez DUPONT on fabrique des vis") == [passwords.PASSWORD_CONTAINS_EMAIL]
    assert reasons("marie quartz violon lagune", email="marie-claire+portal@forges.example") == [
        passwords.PASSWORD_CONTAINS_EMAIL
    ]
    assert reasons("claire quartz violon lagune", email="marie_claire@forges.example") == [
        passwords.PASSWORD_CONTAINS_EMAIL
    ]


def test_email_short_local_part_and_short_pieces_are_ignored() -> None:
    # Local part under 3 characters: not checked.
    assert reasons("jo quartz violon lagune", email="jo@forges.example") == []
    # Piece under 4 characters: not checked on its own, but the whole local part still is.
    assert reasons("al quartz violon lagune", email="al.dupont@forges.example") == []
    assert reasons("ali quartz violon lagune", email="ali@forges.example") == [passwords.PASSWORD_CONTAINS_EMAIL]


def test_email_local_part_is_before_the_last_at() -> None:
    # The domain is not part of the rule.
    assert reasons("xx forges violon lagune", email="jean.dupont@forges.example") == []
    assert reasons("lagune Marc@Violon xx", email='marc@violon@forges.example') == [passwords.PASSWORD_CONTAINS_EMAIL]
    assert reasons("lagune marc violon xx", email='marc@violon@forges.example') == []


# --- common or guessable ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["passwordpassword", "Password Password", "qwertyqwertyqwerty"])
def test_common_password_padded_to_length_is_too_common(password: str) -> None:
    assert reasons(password) == [passwords.PASSWORD_TOO_COMMON]


def test_guessable_password_is_too_common() -> None:
    assert reasons("aaaaaaaaaaaaaaaa") == [passwords.PASSWORD_TOO_COMMON]
    assert reasons("abcdefghijklmnopq") == [passwords.PASSWORD_TOO_COMMON]


def test_too_common_description() -> None:
    (violation,) = check_policy("passwordpassword", identifier=IDENTIFIER, cofor_root=COFOR_ROOT, email=EMAIL)
    assert violation == PolicyViolation("PASSWORD_TOO_COMMON", "is too common or too easy to guess")


class _RecordingZxcvbn:
    def __init__(self, score: int) -> None:
        self.score = score
        self.calls: list[tuple[str, list[str]]] = []

    def zxcvbn(self, password: str, user_inputs: list[str]) -> dict[str, int]:
        self.calls.append((password, list(user_inputs)))
        return {"score": self.score}


def test_dictionary_alone_refuses_repeated_common_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_zxcvbn_package", _RecordingZxcvbn(score=4))
    assert reasons("Dragon Dragon Dragon") == [passwords.PASSWORD_TOO_COMMON]
    assert reasons("dragon dragon dragonx") == []


def test_zxcvbn_gets_user_inputs_and_at_most_72_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _RecordingZxcvbn(score=4)
    monkeypatch.setattr(passwords, "_zxcvbn_package", fake)
    assert reasons(words(100)) == []
    assert fake.calls == [(words(72), [IDENTIFIER, COFOR_ROOT, "jean.dupont"])]
    # A password over the maximum is not scored at all.
    fake.calls.clear()
    assert reasons(words(129)) == [passwords.PASSWORD_TOO_LONG]
    assert fake.calls == []


def test_score_below_three_is_too_common(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_zxcvbn_package", _RecordingZxcvbn(score=2))
    assert reasons(PASSPHRASE) == [passwords.PASSWORD_TOO_COMMON]
    monkeypatch.setattr(passwords, "_zxcvbn_package", _RecordingZxcvbn(score=3))
    assert reasons(PASSPHRASE) == []


# --- several rules at once --------------------------------------------------------------------------------------

def test_several_failures_are_all_reported_in_order() -> None:
    assert reasons("V12345612345A") == [
        "PASSWORD_TOO_SHORT",
        "PASSWORD_CONTAINS_IDENTIFIER",
        "PASSWORD_CONTAINS_COFOR",
        "PASSWORD_TOO_COMMON",
    ]
    assert reasons("dupont 12345a v123456 x") == [
        "PASSWORD_CONTAINS_IDENTIFIER",
        "PASSWORD_CONTAINS_COFOR",
        "PASSWORD_CONTAINS_EMAIL",
    ]


def test_too_long_password_still_gets_contains_checks_but_no_guessability() -> None:
    password = "v123456 " + "12345A " + "jean.dupont " + "a" * 120
    assert reasons(password) == [
        "PASSWORD_TOO_LONG",
        "PASSWORD_CONTAINS_IDENTIFIER",
        "PASSWORD_CONTAINS_COFOR",
        "PASSWORD_CONTAINS_EMAIL",
    ]


def test_at_most_one_violation_per_reason() -> None:
    found = reasons("dupont jean dupont V123456 v123456 12345A 12345a")
    assert len(found) == len(set(found))
    assert found == ["PASSWORD_CONTAINS_IDENTIFIER", "PASSWORD_CONTAINS_COFOR", "PASSWORD_CONTAINS_EMAIL"]

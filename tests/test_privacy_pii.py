"""PII detection, checksums, keyed pseudonyms, and the ``anonymize`` command."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

import simulacra
from simulacra import privacy
from simulacra.errors import InvalidDataError, InvalidParameterError
from simulacra.privacy import checksums

EXE = shutil.which("simulacra") or str(Path(sys.executable).parent / "simulacra")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _digits(rng: np.random.Generator, n: int, k: int) -> list[str]:
    return ["".join(map(str, row)) for row in rng.integers(0, 10, (n, k))]


def pii_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A table with every supported PII kind (real-looking, made here) and a few plain columns."""
    rng = np.random.default_rng(seed)
    fake = Faker(["de_DE", "fr_FR", "it_IT", "es_ES"])  # not the en_US pools fakes come from
    fake.seed_instance(seed)
    first = [fake.first_name() for _ in range(n)]
    last = [fake.last_name().replace(" ", "") for _ in range(n)]
    d16, d18, d8, d7, d6 = (_digits(rng, n, k) for k in (16, 18, 8, 7, 6))
    cards = pd.Series([f"4{d[:3]} {d[3:7]} {d[7:11]} {d[11:15]}" for d in d16])
    letters = np.array(list("ABCEGHJKLMPRSTWXY"))
    prefixes = ["".join(p) for p in rng.choice(letters, (n, 2))]
    outward = np.array(["SW1A", "EC2V", "M1", "B33", "LS11", "G2", "CR0"])
    units = ["".join(u) for u in rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), (n, 2))]
    streets = np.array(["Baker Street", "Elm Road", "Harbour Lane", "Mill Avenue", "Church Way"])
    born = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 23000, n), "D")
    ssn = zip(
        rng.integers(1, 665, n), rng.integers(1, 99, n), rng.integers(1, 9999, n), strict=True
    )
    return pd.DataFrame(
        {
            "email": [
                f"{f.lower()}.{s.lower()}{i}@corp-mail.com"
                for i, (f, s) in enumerate(zip(first, last, strict=True))
            ],
            "phone": [f"+44 20 {d[:4]} {d[4:]}" for d in d8],
            "full_name": [f"{f} {s}" for f, s in zip(first, last, strict=True)],
            "contact": [f"{f} {s}" for f, s in zip(first[::-1], last, strict=True)],
            "home_address": [
                f"{h} {s}, Leeds"
                for h, s in zip(rng.integers(1, 300, n), rng.choice(streets, n), strict=True)
            ],
            "zip": [f"{z:05d}" for z in rng.integers(1000, 99999, n)],
            "postcode_uk": [
                f"{o} {d[0]}{u}" for o, d, u in zip(rng.choice(outward, n), d6, units, strict=True)
            ],
            "date_of_birth": born.strftime("%Y-%m-%d"),
            "payment": checksums.luhn_fix(cards),
            "account": checksums.iban_fix(pd.Series(["DE00" + d for d in d18])),
            "ssn": [f"{a:03d}-{g:02d}-{s:04d}" for a, g, s in ssn],
            "ni": [
                f"{p if p not in ('GB', 'KN', 'NK', 'NT', 'TN', 'BG') else 'AB'}{d}{'ABCD'[i % 4]}"
                for i, (p, d) in enumerate(zip(prefixes, d6, strict=True))
            ],
            "bsn": checksums.bsn_fix(pd.Series(["1" + d + "0" for d in d7])),
            "documento": checksums.dni_fix(pd.Series([d + "A" for d in d8])),
            "client": [".".join(map(str, r)) for r in rng.integers(1, 255, (n, 4))],
            "source": [":".join(f"{x:x}" for x in r) for r in rng.integers(0, 65536, (n, 8))],
            "website": [f"https://www.{s.lower()}{i}.org/about" for i, s in enumerate(last)],
            "notes": [
                f"Please call +1 555-{d[:3]}-{d[3:7]} or mail {f.lower()}{i}@mailbox.org today"
                for i, (d, f) in enumerate(zip(d7, first, strict=True))
            ],
            "age": rng.integers(18, 90, n),
            "region": rng.choice(["North", "South", "East", "West"], n),
            "spend": np.round(rng.gamma(2.0, 40.0, n), 2),
            "visit": (
                pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
            ).strftime("%Y-%m-%d"),
        }
    )


EXPECTED = {
    "email": ("email", "email"),
    "phone": ("phone", "phone number"),
    "full_name": ("person_name", "known first name + surname"),
    "contact": ("person_name", "known first name + surname"),
    "home_address": ("address", "street address"),
    "zip": ("postcode", "us-zip"),
    "postcode_uk": ("postcode", "uk-postcode"),
    "date_of_birth": ("date_of_birth", "date"),
    "payment": ("credit_card", "card number with Luhn check"),
    "account": ("iban", "iban mod-97"),
    "ssn": ("national_id", "us-ssn"),
    "ni": ("national_id", "uk-nino"),
    "bsn": ("national_id", "nl-bsn"),
    "documento": ("national_id", "es-dni"),
    "client": ("ip_address", "ipv4"),
    "source": ("ip_address", "ipv6"),
    "website": ("url", "url"),
    "notes": ("free_text", "pii inside text"),
}
SMALL_DOMAIN = {"zip", "postcode_uk", "date_of_birth"}  # values that repeat by chance


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pii_table()


@pytest.fixture(scope="module")
def findings(table: pd.DataFrame) -> dict[str, privacy.PIIFinding]:
    return {f.column: f for f in privacy.detect_pii(table)}


# ------------------------------------------------------------------ detection
def test_detection_finds_every_kind_and_nothing_else(findings: dict) -> None:
    assert {c: (f.kind, f.pattern) for c, f in findings.items()} == EXPECTED


def test_findings_carry_their_evidence(findings: dict) -> None:
    for finding in findings.values():
        assert 0.0 <= finding.share <= 1.0 and finding.by in ("values", "name", "name+values")
        assert finding.column in finding.evidence and finding.kind in finding.evidence
    assert findings["payment"].share == 1.0 and findings["payment"].by == "values"
    assert findings["contact"].by == "values" and findings["ssn"].by == "name+values"
    assert set(findings["notes"].contains) == {"email", "phone"}
    assert findings["notes"].to_dict()["contains"] == list(findings["notes"].contains)


def test_metadata_detect_marks_the_same_columns_pii(table: pd.DataFrame) -> None:
    meta = simulacra.Metadata.detect(table)
    assert {c: meta.columns[c].pii for c in EXPECTED} == {c: k for c, (k, _) in EXPECTED.items()}
    kinds = {c: meta.columns[c].type for c in ("age", "region", "spend", "visit")}
    assert kinds == {"age": "numerical", "region": "categorical", "spend": "numerical",
                     "visit": "datetime"}  # fmt: skip


def test_metadata_overrides_detection(table: pd.DataFrame) -> None:
    meta = simulacra.Metadata.detect(table)
    meta.columns["contact"] = simulacra.Column("categorical")
    meta.columns["region"] = simulacra.Column("pii", pii="person_name")
    found = {f.column: f for f in privacy.detect_pii(table, meta)}
    assert "contact" not in found and found["region"].by == "metadata"
    assert found["region"].share == 0.0  # evidence is still measured on the values


def test_broken_checksums_are_not_pii() -> None:
    rng = np.random.default_rng(1)
    valid = checksums.luhn_fix(pd.Series(_digits(rng, 50, 16)))
    broken = valid.str[:-1] + ((valid.str[-1].astype(int) + 1) % 10).astype(str)
    assert privacy.detect_pii(pd.DataFrame({"v": valid}))[0].kind == "credit_card"
    assert privacy.detect_pii(pd.DataFrame({"v": broken})) == []
    bsn = checksums.bsn_fix(pd.Series(_digits(rng, 50, 9)))
    assert privacy.detect_pii(pd.DataFrame({"v": bsn}))[0].pattern == "nl-bsn"
    as_numbers = pd.DataFrame({"v": valid.astype("int64")})  # a card column read as integers
    assert simulacra.Metadata.detect(as_numbers).columns["v"].pii == "credit_card"


def test_plain_columns_are_not_pii() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {
            "city": rng.choice(["New York", "San Jose", "Los Angeles"], 100),
            "dish": rng.choice(["apple pie", "banana split", "cherry tart"], 100),
            "amount": rng.integers(10**8, 10**9, 100),
            "opened": ["2023-01-01", "2023-02-01"] * 50,
            "note": ["the parcel arrived late and the box was damaged"] * 100,
        }
    )
    assert privacy.detect_pii(df) == []


def test_a_pii_like_name_over_a_small_vocabulary_is_a_category() -> None:
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "card_type": rng.choice(["Visa", "Amex", "Mastercard"], n),
            "address_status": rng.choice(["verified", "unverified", "moved"], n),
            "email_domain": rng.choice(["gmail.com", "yahoo.com", "corp.org"], n),
            "discard_reason": [f"item{i}" for i in rng.integers(0, 300, n)],
            # a name settles these alone: opaque tokens, foreign names repeated over orders
            "email": [f"tok{i:05d}" for i in range(n)],
            "customer_name": rng.choice(["Xiong Wu", "Oyelaran Adebayo", "Tiwari Ananya"], n),
        }
    )
    df["paymentCard"] = df["debitcard"] = _digits(rng, n, 16)  # no Luhn: the name settles it
    found = {f.column: f.kind for f in privacy.detect_pii(df)}
    assert found == {
        "email": "email",
        "customer_name": "person_name",
        "paymentCard": "credit_card",
        "debitcard": "credit_card",
    }
    meta = simulacra.Metadata.detect(df)
    assert {c: meta.columns[c].type for c in ("card_type", "address_status", "email_domain")} == {
        "card_type": "categorical",
        "address_status": "categorical",
        "email_domain": "categorical",
    }
    out = simulacra.create("cart", seed=0).fit(df).sample(200, conditions={"card_type": "Visa"})
    assert (out["card_type"] == "Visa").all()


# ------------------------------------------------------------------ checksums
@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (checksums.luhn_valid, ["4111 1111 1111 1111", "79927398713", "5500-0000-0000-0004"],
         ["4111 1111 1111 1112", "79927398710", "1"]),
        (checksums.iban_valid, ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
                                "NL91ABNA0417164300", "FR1420041010050500013M02606"],
         ["GB82 WEST 1234 5698 7654 33", "DE8937040044053201300", "NL91ABNA0417164301", "XX"]),
        (checksums.bsn_valid, ["111222333", "123456782"], ["123456789", "000000000", "12345678"]),
        (checksums.dni_valid, ["12345678Z", "X1234567L", "00000000T"], ["12345678A", "1234567Z"]),
        (checksums.ssn_valid, ["123-45-6789", "665-01-0001"],
         ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"]),
        (checksums.nino_valid, ["AB123456C", "ab 12 34 56 d"], ["BG123456C", "AB123456E", "DA123456A"]),  # noqa: E501
    ],
)  # fmt: skip
def test_checksums_on_known_numbers(check, good: list[str], bad: list[str]) -> None:
    assert check(pd.Series(good)).all()
    assert not check(pd.Series(bad)).any()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("0123456789", min_size=16, max_size=16), min_size=1, max_size=20))
def test_fixed_check_digits_always_pass(bodies: list[str]) -> None:
    values = pd.Series(bodies)
    assert checksums.luhn_valid(checksums.luhn_fix(values)).all()
    ibans = checksums.iban_fix("DE00" + values + "12")
    assert checksums.iban_valid(ibans).all()
    assert checksums.bsn_valid(checksums.bsn_fix("1" + values.str[:8])).all()
    assert checksums.dni_valid(checksums.dni_fix(values.str[:8] + "A")).all()


# ------------------------------------------------------------- synthetic copy
def test_no_real_pii_value_appears_in_a_synthetic_copy(table: pd.DataFrame) -> None:
    synth = simulacra.create("copula", seed=0).fit(table).sample(len(table))
    cells = set(synth.astype(str).to_numpy().ravel())
    blob = "\n".join(cells)
    for column in set(EXPECTED) - SMALL_DOMAIN:
        real = set(table[column].astype(str))
        assert not real & cells, column
        assert not any(v in blob for v in real if len(v) >= 8), column  # not inside text either
    inside = table["notes"].str.extractall(r"(\S+@\S+|\+1 555-\d{3}-\d{4})")[0]
    assert not any(v in blob for v in inside)
    # Dates of birth and postcodes come from small sets: a fresh draw meets a real one by
    # chance, but no more often than chance, and never with the same row's other values.
    for column in SMALL_DOMAIN:
        assert synth[column].isin(table[column]).mean() < 0.05, column
    pairs = set(zip(table["date_of_birth"], table["zip"], strict=True))
    assert not pairs & set(zip(synth["date_of_birth"], synth["zip"], strict=True))


# ----------------------------------------------------------------- pseudonyms
def test_pseudonyms_keep_format_and_checksums(table: pd.DataFrame) -> None:
    out = privacy.anonymize(table, secret="test-secret")
    for column in EXPECTED:
        assert not out[column].isin(table[column]).all(), column
    assert not set(out["email"]) & set(table["email"]) and out["email"].str.match(EMAIL).all()
    assert checksums.luhn_valid(out["payment"]).all()
    assert out["payment"].str.fullmatch(r"4\d{3} \d{4} \d{4} \d{4}").all()
    assert checksums.iban_valid(out["account"]).all() and out["account"].str[:2].eq("DE").all()
    checks = {"ssn": checksums.ssn_valid, "ni": checksums.nino_valid}
    checks |= {"bsn": checksums.bsn_valid, "documento": checksums.dni_valid}
    for column, check in checks.items():
        assert check(out[column]).all(), column
    assert all(ipaddress.ip_address(v).version == 4 for v in out["client"])
    assert all(ipaddress.ip_address(v).version == 6 for v in out["source"])
    assert out["phone"].str.startswith("+44 ").all()
    assert out["notes"].str.startswith("Please call +1 ").all()
    assert not out["notes"].str.contains("mailbox.org").any()
    born, real = pd.to_datetime(out["date_of_birth"]), pd.to_datetime(table["date_of_birth"])
    assert ((born - real).abs() <= pd.Timedelta(days=365)).all() and (born != real).all()
    plain = ["age", "region", "spend", "visit"]
    pd.testing.assert_frame_equal(out[plain], table[plain])


def test_keyed_pseudonyms_are_consistent_across_tables(table: pd.DataFrame) -> None:
    customers = table[["email", "full_name", "ssn"]].iloc[:100]
    orders = pd.DataFrame(
        {"customer_email": customers["email"].to_numpy()[np.arange(400) % 100], "n": range(400)}
    )
    plan = {"customer_email": "fake:email"}
    a = privacy.anonymize(customers, secret="s3cret")
    b = privacy.anonymize(orders, plan, secret="s3cret")
    mapping = dict(zip(customers["email"], a["email"], strict=True))
    assert b["customer_email"].tolist() == orders["customer_email"].map(mapping).tolist()
    assert len(a.merge(b, left_on="email", right_on="customer_email")) == 400  # joins still work
    assert a["email"].is_unique
    again = privacy.anonymize(customers, secret="s3cret")
    pd.testing.assert_frame_equal(a, again)
    other = privacy.anonymize(customers, secret="another")
    for column in customers:
        assert (other[column] != a[column]).mean() > 0.9, column
    same = privacy.pseudonymize(customers["email"], "email", secret="s3cret")
    assert same.tolist() == a["email"].tolist()  # the same map in any column


def test_keyed_operations_need_a_secret(table: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="--secret-env VAR") as info:
        privacy.anonymize(table, {"email": "hash"})
    assert "never write the secret" in str(info.value)
    with pytest.raises(InvalidParameterError, match="--secret-env"):
        privacy.mask.tokenize(table["email"], "")
    unkeyed = privacy.anonymize(table[["email"]])  # fresh random key: consistent in one call
    assert not unkeyed["email"].isin(table["email"]).any()


def test_missing_cells_stay_missing() -> None:
    values = pd.Series(["ann@x.com", None, "bob@y.org", "ann@x.com"])
    out = privacy.pseudonymize(values, "email", secret="k")
    assert out.isna().tolist() == [False, True, False, False] and out[0] == out[3]


# ------------------------------------------------------------------------ CLI
def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "COLUMNS": "120", **(env or {})}
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, env=full)


def test_cli_anonymize(tmp_path: Path, table: pd.DataFrame) -> None:
    table.to_csv(tmp_path / "people.csv", index=False)
    before = hashlib.sha256((tmp_path / "people.csv").read_bytes()).hexdigest()
    secret = {"PSEUDO_KEY": "correct horse battery staple"}
    args = ["anonymize", "people.csv", "-o", "anon.csv", "--secret-env", "PSEUDO_KEY"]
    args += ["--mask", "payment=partial", "--mask", "email=hash", "--generalize", "age=10"]
    args += ["--k", "5", "--quasi", "age,region", "--sensitive", "spend", "--report", "r.json"]
    done = _run(*args, cwd=tmp_path, env=secret)
    assert done.returncode == 0, done.stderr
    achieved = re.search(r"k=(\d+) achieved \(asked 5\)", done.stderr)
    assert achieved and int(achieved.group(1)) >= 5, done.stderr
    assert "NCP" in done.stderr and "payment: partial" in done.stderr
    out = pd.read_csv(tmp_path / "anon.csv", dtype=str)
    assert out["payment"].str.fullmatch(r"\*{15}\d{4}").all()
    assert out.groupby(["age", "region"]).size().min() >= 5
    assert not out["full_name"].isin(table["full_name"]).any()
    assert not out["email"].isin(table["email"]).any()
    report = (tmp_path / "r.json").read_text()
    assert f'"k_achieved": {achieved.group(1)}' in report and "correct horse" not in report
    assert hashlib.sha256((tmp_path / "people.csv").read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--secret-env", "NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE is not set"),
        (["--mask", "email=hash"], "--secret-env VAR"),
        (["--k", "999", "--quasi", "age"], "larger than the table (300 rows)"),
        (["--k", "5"], "--k needs --quasi"),
        (["--mask", "email"], "must look like column=fake"),
        (["--mask", "email=blur"], "unknown masking operation 'blur'"),
        (["--k", "5", "--quasi", "agee"], "people.csv: quasi-identifier 'agee' is not a column"),
        (["--k", "5", "--quasi", "agee"], "did you mean 'age'?"),
    ],
)
def test_cli_anonymize_bad_input(
    tmp_path: Path, table: pd.DataFrame, capsys, args: list[str], needle: str
) -> None:
    from simulacra.cli import main

    table.to_csv(tmp_path / "people.csv", index=False)
    with pytest.raises(SystemExit) as info:
        main(["anonymize", str(tmp_path / "people.csv"), "-o", str(tmp_path / "x.csv"), *args])
    assert info.value.code == 1
    assert needle in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "x.csv").exists()


def test_cli_anonymize_never_overwrites_the_input(tmp_path: Path, capsys) -> None:
    from simulacra.cli import main

    pd.DataFrame({"email": ["a@x.com", "b@y.org"]}).to_csv(tmp_path / "in.csv", index=False)
    before = (tmp_path / "in.csv").read_bytes()
    with pytest.raises(SystemExit):
        main(["anonymize", str(tmp_path / "in.csv"), "-o", str(tmp_path / "." / "in.csv")])
    assert "is the input" in capsys.readouterr().err
    assert (tmp_path / "in.csv").read_bytes() == before


def test_errors_name_the_column() -> None:
    df = pd.DataFrame({"email": ["a@x.com"], "age": [3]})
    with pytest.raises(InvalidDataError, match="did you mean 'email'"):
        privacy.anonymize(df, {"emial": "partial"})
    with pytest.raises(InvalidParameterError, match="say which"):
        privacy.anonymize(df, {"age": "fake"})

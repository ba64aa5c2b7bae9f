"""Privacy: PII detection, pseudonyms, masking, k-anonymity, and the DP budget and ledger.

>>> import pandas as pd
>>> from simulacra import privacy
>>> df = pd.DataFrame({"email": ["ann@corp.com", "bo@corp.com"], "age": [37, 41]})
>>> [f.kind for f in privacy.detect_pii(df)]
['email']
>>> out = privacy.anonymize(df, {"age": "generalize:10"}, secret="from-an-env-var")
>>> out["age"].tolist()
['30-39', '40-49']
"""

from __future__ import annotations

from simulacra.privacy import checksums, mask
from simulacra.privacy.anonymize import OPERATIONS, Action, anonymize, parse_action, resolve_plan
from simulacra.privacy.budget import PrivacyBudget, describe
from simulacra.privacy.detect import PIIFinding, detect_pii
from simulacra.privacy.kanonymity import KAnonymityReport, k_anonymize
from simulacra.privacy.pseudonymize import pseudonymize

__all__ = [
    "OPERATIONS",
    "Action",
    "KAnonymityReport",
    "PIIFinding",
    "PrivacyBudget",
    "anonymize",
    "checksums",
    "describe",
    "detect_pii",
    "k_anonymize",
    "mask",
    "parse_action",
    "pseudonymize",
    "resolve_plan",
]

"""ISO 20022 camt.054 debit/credit notifications: the built-in mapping as a named adapter class.

The format itself is described declaratively in `xml_adapters/mappings/camt054.toml`; this
module keeps the `Camt054Adapter` name for code that constructs the adapter directly.
"""

from __future__ import annotations

from pathlib import Path

from xml_adapters.mapping import MappingAdapter
from xml_adapters.mapping_schema import read_mapping_file

KEY = "camt054"
FAMILY = "camt.054"
MAPPING_FILE = Path(__file__).resolve().with_name("mappings") / "camt054.toml"


class Camt054Adapter(MappingAdapter):
    """camt.054 BankToCustomerDebitCreditNotification, versions 001.02, 001.04 and 001.08.

    Each `Ntfctn` names an account (`Acct/Id/IBAN` or `Acct/Id/Othr/Id`); each of its `Ntry`
    becomes a `debit_/credit_` + `posted` (BOOK) / `pending` (PDNG) / `info` event, identified by
    `<account>:<AcctSvcrRef or NtryRef>` or, lacking both, `<account>:<Ntfctn/Id>#<position>`.
    """

    def __init__(self) -> None:
        super().__init__(read_mapping_file(MAPPING_FILE), source=str(MAPPING_FILE))

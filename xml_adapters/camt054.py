"""ISO 20022 camt.054 debit/credit notifications: one AccountEvent per entry (`Ntry`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from lxml import etree

from xml_adapters.base import AccountEvent, RecordProblem, UnknownFormatError
from xml_adapters.iso20022 import (
    Fields,
    MessageType,
    clark_steps,
    is_currency,
    message_type,
    normalise_account,
    parse_amount,
    parse_date,
    parse_datetime_date,
)
from xml_adapters.parse import detect_root, iterparse_records, line_of

KEY = "camt054"
FAMILY = "camt.054"
SUPPORTED_VERSIONS = ("001.02", "001.04", "001.08")

_DIRECTION = {"DBIT": "debit", "CRDT": "credit"}
_STAGE = {"BOOK": "posted", "PDNG": "pending"}  # any other status: "info"
# The counterparty shown to the customer: who was paid on a debit, who paid on a credit.
_COUNTERPARTY = {"DBIT": ("Cdtr", "UltmtCdtr"), "CRDT": ("Dbtr", "UltmtDbtr")}
_PARTY_NAME = ("Nm", "Pty/Nm", "Agt/FinInstnId/Nm")  # v02/v04, v08 party, v08 agent
_MAX_VALUE_CHARS = 200


@dataclass(frozen=True, slots=True)
class _Notification:
    """What a `Ntfctn` says about all its entries; read before its first entry is released."""

    id: str | None
    account: str | None
    currency: str | None
    owner: str | None


class _Invalid(Exception):
    """A field that stops an entry from becoming an event."""

    def __init__(self, field: str, value: str | None, reason: str, line: int | None) -> None:
        super().__init__(reason)
        if value is not None and len(value) > _MAX_VALUE_CHARS:
            value = value[:_MAX_VALUE_CHARS] + "..."
        self.field, self.value, self.reason, self.line = field, value, reason, line


class Camt054Adapter:
    """camt.054 BankToCustomerDebitCreditNotification, versions 001.02, 001.04 and 001.08.

    Each `Ntfctn` names an account (`Acct/Id/IBAN` or `Acct/Id/Othr/Id`); each of its `Ntry`
    becomes a `debit_/credit_` + `posted` (BOOK) / `pending` (PDNG) / `info` event, identified by
    `<account>:<AcctSvcrRef or NtryRef>` or, lacking both, `<account>:<Ntfctn/Id>#<position>`.
    """

    key = KEY
    title = "ISO 20022 camt.054 Bank-to-Customer Debit/Credit Notification"
    versions = SUPPORTED_VERSIONS

    def accepts(self, root_tag: str) -> bool:
        return self.version(root_tag) is not None

    def version(self, root_tag: str) -> str | None:
        """The message version (`001.08`) of a camt.054 root this adapter reads, else None."""
        message = message_type(root_tag)
        if message is None or message.family != FAMILY or message.version not in self.versions:
            return None
        return message.version

    def iter_records(self, stream: BinaryIO, path: str) -> Iterator[AccountEvent | RecordProblem]:
        root_tag = detect_root(stream, path)
        message = message_type(root_tag)
        if message is None or not self.accepts(root_tag):
            found = message.name if message else root_tag
            raise UnknownFormatError(
                f"{path}: the document is {found}, not a camt.054 notification of a supported "
                f"version ({', '.join(f'{FAMILY}.{v}' for v in self.versions)})."
            )
        return self._records(stream, path, message)

    def _records(
        self, stream: BinaryIO, path: str, message: MessageType
    ) -> Iterator[AccountEvent | RecordProblem]:
        ns = message.namespace
        (ntfctn,), (ntry,) = clark_steps(ns, "Ntfctn"), clark_steps(ns, "Ntry")
        notification: _Notification | None = None
        position = 0
        events = iterparse_records(stream, path, record_tags={ntry}, context_tags={ntfctn})
        for event in events:
            if event.element.tag == ntfctn:
                if event.kind == "start":
                    notification, position = None, 0
                continue
            position += 1
            if notification is None:
                notification = _read_notification(event.element.getparent(), ns)
            entry = Fields(event.element, ns)
            yield _entry(entry, event.line, message, notification, position)


def _read_notification(element: etree._Element | None, ns: str) -> _Notification:
    if element is None:
        return _Notification(None, None, None, None)
    ntfctn = Fields(element, ns)
    account = ntfctn.text("Acct/Id/IBAN") or ntfctn.text("Acct/Id/Othr/Id")
    return _Notification(
        id=ntfctn.text("Id"),
        account=normalise_account(account) if account else None,
        currency=ntfctn.text("Acct/Ccy"),
        owner=ntfctn.text("Acct/Ownr/Nm") or ntfctn.text("Acct/Ownr/Pty/Nm"),
    )


def _entry(
    entry: Fields,
    line: int | None,
    message: MessageType,
    notification: _Notification,
    position: int,
) -> AccountEvent | RecordProblem:
    servicer_ref, entry_ref = entry.text("AcctSvcrRef"), entry.text("NtryRef")
    positional = f"{notification.id}#{position}" if notification.id else None
    reference = servicer_ref or entry_ref or positional
    try:
        if notification.account is None:
            raise _Invalid(
                "Acct/Id",
                None,
                "the notification names no account (Acct/Id/IBAN or Acct/Id/Othr/Id)",
                line,
            )
        amount, currency = _amount(entry, notification, line)
        direction = _direction(entry, line)
        booking_date = _date_choice(entry, "BookgDt")
        value_date = _date_choice(entry, "ValDt")
        if reference is None:
            raise _Invalid(
                "AcctSvcrRef",
                None,
                "the entry has no AcctSvcrRef or NtryRef and the notification no Id, so the "
                "event cannot be given a stable id",
                line,
            )
    except _Invalid as bad:
        return RecordProblem(
            line=bad.line or line,
            record_id=reference or f"entry {position}",
            field=bad.field,
            value=bad.value,
            reason=bad.reason,
        )
    status = _status(entry)
    details = _details(entry, direction)
    additional = entry.text("AddtlNtryInf")
    data = {
        "message_version": message.name,
        "notification_id": notification.id,
        "entry_ref": entry_ref,
        "account_servicer_ref": servicer_ref,
        "account_currency": notification.currency,
        "account_owner": notification.owner,
        "booking_datetime": entry.text("BookgDt/DtTm"),
        "value_date": value_date.isoformat() if value_date else None,
        "bank_transaction_code": _transaction_code(entry),
        "reversal": "true" if entry.text("RvslInd") in ("true", "1") else None,
        "additional_info": additional,
        **details,
    }
    return AccountEvent(
        source=KEY,
        source_event_id=f"{notification.account}:{reference}",
        event_type=f"{_DIRECTION[direction]}_{_STAGE.get(status or '', 'info')}",
        account_id=notification.account,
        amount=amount,
        currency=currency,
        credit_debit=direction,
        status=status,
        booking_date=booking_date,
        description=details.get("counterparty") or details.get("remittance") or additional,
        line=line,
        data={k: v for k, v in data.items() if v is not None},
    )


def _amount(entry: Fields, notification: _Notification, line: int | None) -> tuple[Decimal, str]:
    amt = entry.child("Amt")
    if amt is None:
        raise _Invalid("Amt", None, "the entry has no amount (Amt)", line)
    raw = (amt.text or "").strip()
    try:
        amount = parse_amount(raw)
    except ValueError:
        raise _Invalid(
            "Amt", raw, "the amount is not a decimal number like 1234.56", line_of(amt)
        ) from None
    currency = amt.get("Ccy")
    if currency is None:
        currency = notification.currency
        if currency is None:
            raise _Invalid("Amt/@Ccy", None, "the amount has no currency (Ccy)", line_of(amt))
    if not is_currency(currency):
        raise _Invalid(
            "Amt/@Ccy", currency, "the currency is not an ISO 4217 code like EUR", line_of(amt)
        )
    return amount, currency


def _direction(entry: Fields, line: int | None) -> str:
    indicator = entry.child("CdtDbtInd")
    if indicator is None:
        raise _Invalid("CdtDbtInd", None, "the entry has no credit/debit indicator", line)
    value = (indicator.text or "").strip()
    if value not in _DIRECTION:
        raise _Invalid("CdtDbtInd", value, "must be CRDT or DBIT", line_of(indicator))
    return value


def _status(entry: Fields) -> str | None:
    """`Sts` is a code in v02/v04 and a choice (`Sts/Cd` or `Sts/Prtry`) from v08 on."""
    sts = entry.child("Sts")
    if sts is None:
        return None
    return entry.text("Sts/Cd") or entry.text("Sts/Prtry") or (sts.text or "").strip() or None


def _date_choice(entry: Fields, name: str) -> date | None:
    """A DateAndDateTimeChoice (`<name>/Dt` or `<name>/DtTm`) as a calendar date."""
    for choice, parse in (("Dt", parse_date), ("DtTm", parse_datetime_date)):
        found = entry.child(f"{name}/{choice}")
        if found is not None:
            raw = (found.text or "").strip()
            try:
                return parse(raw)
            except ValueError:
                raise _Invalid(
                    f"{name}/{choice}",
                    raw,
                    "not a valid date (expected 2024-01-31 or 2024-01-31T13:15:00+01:00)",
                    line_of(found),
                ) from None
    return None


def _details(entry: Fields, direction: str) -> dict[str, str | None]:
    """Counterparty, remittance and references of the entry's first transaction."""
    transactions = entry.all("NtryDtls/TxDtls")
    if not transactions:
        return {}
    tx = Fields(transactions[0], entry.namespace)
    counterparty = None
    for party in _COUNTERPARTY[direction]:
        for name_path in _PARTY_NAME:
            counterparty = counterparty or tx.text(f"RltdPties/{party}/{name_path}")
    party_account = f"RltdPties/{_COUNTERPARTY[direction][0]}Acct/Id"
    account = tx.text(f"{party_account}/IBAN") or tx.text(f"{party_account}/Othr/Id")
    end_to_end = tx.text("Refs/EndToEndId")
    return {
        "counterparty": counterparty,
        "counterparty_account": normalise_account(account) if account else None,
        "remittance": " ".join(tx.texts("RmtInf/Ustrd")) or None,
        "end_to_end_id": end_to_end if end_to_end != "NOTPROVIDED" else None,
        "transaction_count": str(len(transactions)),
    }


def _transaction_code(entry: Fields) -> str | None:
    """`PMNT/ICDT/DMCT` (domain/family/sub-family), else the proprietary code."""
    parts = [entry.text(f"BkTxCd/Domn/{p}") for p in ("Cd", "Fmly/Cd", "Fmly/SubFmlyCd")]
    if all(parts):
        return "/".join(p for p in parts if p)
    return entry.text("BkTxCd/Prtry/Cd")

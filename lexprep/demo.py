"""A small demo matter that lexprep writes itself (fictional parties; our own text).

``write_demo_matter(folder)`` creates:

- ``opinion.pdf``: a born-digital, 3-page appellate opinion with a running header and page footers
- ``services-agreement.docx``: a contract with a fee table
- ``counsel-email.eml``: an e-mail with a DOCX attachment (a settlement term sheet)
- ``motion-to-dismiss.txt``: a plain-text filing on pleading paper (numbered lines)

Every name, docket number and event in them is invented; the case citations and statutes cited are
real public citations (facts, not copied text).
"""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

from lexprep.errors import MissingDependencyError

OPINION_PAGES = [
    """UNITED STATES COURT OF APPEALS FOR THE NINTH CIRCUIT

HARBORLINE LOGISTICS, INC., Plaintiff-Appellant,
v.
MERIDIAN COASTAL SHIPPING CO., Defendant-Appellee.

No. 24-1187
D.C. No. 2:23-cv-04512-RGK

OPINION

Appeal from the United States District Court for the Central District of California.
Argued and Submitted March 4, 2025. Filed June 17, 2025.

Before: Judges Elena Vasquez, Thomas Okafor and Miriam Lindqvist.
Opinion by Judge Vasquez.

Harborline Logistics, Inc. appeals the district court's grant of summary judgment to Meridian
Coastal Shipping Co. on Harborline's claim for breach of a master services agreement. We have
jurisdiction under 28 U.S.C. § 1291, and we reverse.

I. Background

In January 2022, Harborline and Meridian signed a master services agreement under which Meridian
would carry Harborline's containers between the Port of Oakland and Honolulu, Hawaii. The agree-
ment fixed a minimum annual volume and a fee of $1,250,000 per year.""",
    """In October 2022 Meridian stopped accepting Harborline's bookings. Harborline's chief executive,
Daniel Reyes, wrote to Meridian's general counsel, Priya Natarajan, that the refusal breached
section 4.2 of the agreement. Meridian answered that Harborline had missed the minimum volume.

II. Standard of Review

We review a grant of summary judgment de novo. Celotex Corp. v. Catrett, 477 U.S. 317, 322 (1986);
Anderson v. Liberty Lobby, Inc., 477 U.S. 242, 248 (1986). Summary judgment is proper only when
there is no genuine dispute as to any material fact. Fed. R. Civ. P. 56(a).

III. Discussion

The district court read the volume clause as a condition precedent. But under California law a
contract is read as a whole, Cal. Civ. Code § 1641, and the agreement elsewhere treats a volume
shortfall as a matter for the price adjustment in section 6, not for termination. Meridian's
reading would make section 6 surplusage. See Boghos v. Certain Underwriters at Lloyd's of London,
36 Cal. 4th 495, 503 (2005).""",
    """Reyes's letter and Natarajan's reply show, at the least, a genuine dispute about whether Meridian
waived the volume clause by accepting bookings through September 2022. Harborline also claims
damages of $3,400,000 in lost contracts, which the district court did not reach.

IV. Conclusion

The judgment of the United States District Court for the Central District of California is
REVERSED and the case is REMANDED for further proceedings consistent with this opinion.
Costs on appeal are awarded to Harborline Logistics, Inc.

REVERSED AND REMANDED.""",
]

CONTRACT_PARAGRAPHS = [
    ("MASTER SERVICES AGREEMENT", "Title"),
    (
        "This Master Services Agreement (the \"Agreement\") is made on January 10, 2022 (the \"Effective "
        "Date\") between Harborline Logistics, Inc., a Delaware corporation (\"Harborline\"), and Meridian "
        "Coastal Shipping Co., a California corporation (\"Meridian\").",
        None,
    ),
    ("WHEREAS, Harborline ships containers between California and Hawaii; and WHEREAS, Meridian operates "
     "vessels on that route; NOW, THEREFORE, the parties agree as follows.", None),
    ("1. Services. Meridian shall carry Harborline's containers between the Port of Oakland and the Port "
     "of Honolulu on the schedule in Exhibit A.", None),
    ("4.2 Bookings. Meridian shall accept every booking Harborline places at least ten days before "
     "sailing, up to 400 containers per month.", None),
    ("6. Volume Adjustment. If Harborline ships fewer than 3,000 containers in a contract year, the fee "
     "for the next year increases by 5 percent. A shortfall is not a ground for termination.", None),
    ("9. Governing Law. This Agreement is governed by the laws of the State of California.", None),
]

CONTRACT_FEES = [
    ("Service", "Fee", "Due"),
    ("Annual base fee", "$1,250,000", "January 31"),
    ("Per-container surcharge", "$85", "monthly"),
    ("Late booking fee", "$2,500", "per booking"),
]

TERM_SHEET = [
    "SETTLEMENT TERM SHEET (CONFIDENTIAL, FOR SETTLEMENT PURPOSES ONLY)",
    "Parties: Harborline Logistics, Inc. and Meridian Coastal Shipping Co.",
    "Payment: Meridian pays Harborline $900,000 within 30 days of signature.",
    "Release: mutual release of claims in Harborline Logistics, Inc. v. Meridian Coastal Shipping Co., "
    "No. 2:23-cv-04512-RGK (C.D. Cal.).",
]

MOTION_LINES = [
    "Priya Natarajan (SBN 287731)",
    "MERIDIAN COASTAL SHIPPING CO.",
    "400 Embarcadero West, Oakland, California 94607",
    "Attorney for Defendant",
    "",
    "UNITED STATES DISTRICT COURT",
    "CENTRAL DISTRICT OF CALIFORNIA",
    "",
    "HARBORLINE LOGISTICS, INC.,          Case No. 2:23-cv-04512-RGK",
    "          Plaintiff,",
    "     v.                              DEFENDANT'S NOTICE OF MOTION AND",
    "MERIDIAN COASTAL SHIPPING CO.,       MOTION TO DISMISS",
    "          Defendant.",
    "",
    "PLEASE TAKE NOTICE that Defendant Meridian Coastal Shipping Co. moves to dismiss the complaint",
    "under Federal Rule of Civil Procedure 12(b)(6). The complaint does not plead facts that make a",
    "claim plausible. Bell Atlantic Corp. v. Twombly, 550 U.S. 544, 570 (2007); Ashcroft v. Iqbal,",
    "556 U.S. 662, 678 (2009). Harborline alleges that Meridian refused bookings in October 2022 but",
    "does not allege that it met the minimum volume in section 6 of the agreement.",
    "",
    "Dated: May 2, 2023                   Respectfully submitted,",
    "                                     /s/ Priya Natarajan",
]


def _pdf_bytes() -> bytes:
    try:
        from reportlab.lib.pagesizes import letter
        from reportlab.pdfgen import canvas
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("reportlab", "lexprep[demo]") from exc
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setTitle("Harborline Logistics, Inc. v. Meridian Coastal Shipping Co.")
    width, height = letter
    for number, text in enumerate(OPINION_PAGES, start=1):
        c.setFont("Times-Roman", 9)
        c.drawString(72, height - 40, "HARBORLINE LOGISTICS V. MERIDIAN COASTAL SHIPPING")
        c.setFont("Times-Roman", 11)
        y = height - 80
        for line in text.splitlines():
            c.drawString(72, y, line)
            y -= 15
        c.setFont("Times-Roman", 9)
        c.drawString(width / 2 - 20, 40, f"Page {number} of {len(OPINION_PAGES)}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _docx_bytes(paragraphs, table=None) -> bytes:
    import docx

    document = docx.Document()
    for text, style in paragraphs:
        document.add_paragraph(text, style=style) if style else document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
        document.add_paragraph("IN WITNESS WHEREOF, the parties have signed this Agreement on the Effective Date.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _eml_bytes(attachment: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Priya Natarajan <pnatarajan@meridian-coastal.example>"
    msg["To"] = "Daniel Reyes <dreyes@harborline.example>"
    msg["Cc"] = "Elena Park <epark@parklaw.example>"
    msg["Subject"] = "Harborline v. Meridian - settlement term sheet"
    msg["Date"] = format_datetime(datetime(2023, 8, 14, 16, 5, tzinfo=timezone.utc))
    msg["Message-ID"] = "<term-sheet-0814@meridian-coastal.example>"
    msg.set_content(
        "Daniel,\n\nFollowing our call, attached is Meridian's proposed term sheet. Meridian would pay "
        "$900,000 within 30 days, with a mutual release of the claims in No. 2:23-cv-04512-RGK.\n\n"
        "Please let me know by August 21, 2023 whether Harborline Logistics agrees.\n\nPriya Natarajan\n"
        "General Counsel, Meridian Coastal Shipping Co.\n"
    )
    msg.add_attachment(
        attachment,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="term-sheet.docx",
    )
    return msg.as_bytes()


def _pleading_text() -> str:
    return "\n".join(f"{n:>2}  {line}" if line else f"{n:>2}" for n, line in enumerate(MOTION_LINES, start=1)) + "\n"


def write_demo_matter(folder: Path | str) -> list[Path]:
    """Write the demo matter's four files into ``folder`` (created if needed); returns their paths.

    Raises:
        MissingDependencyError: reportlab (the ``demo`` extra) is not installed.
    """
    folder = Path(folder)
    (folder / "correspondence").mkdir(parents=True, exist_ok=True)
    files = {
        folder / "opinion.pdf": _pdf_bytes(),
        folder / "services-agreement.docx": _docx_bytes(CONTRACT_PARAGRAPHS, CONTRACT_FEES),
        folder / "correspondence" / "counsel-email.eml": _eml_bytes(_docx_bytes([(p, None) for p in TERM_SHEET])),
        folder / "motion-to-dismiss.txt": _pleading_text().encode("utf-8"),
    }
    for path, data in files.items():
        path.write_bytes(data)
    return list(files)

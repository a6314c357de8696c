"""roster.py - a class list as the course platforms export it, and CSV
cells a spreadsheet cannot run.

Understood as exported, in English or in French:
  Moodle (participants or gradebook export)
      First name,Last name,ID number,Email address[,...]
      "Prénom","Nom","Numéro d'identification","Adresse de courriel"[,...]
  Moodle's grading worksheet   Identifier ("Participant 4183"),Full name,Email address
  GitHub Classroom             identifier,github_username,github_id,name
  Gradescope                   First Name,Last Name,SID,Email[,...] or Name,SID,Email

Each column is recognised by its header (case, accents and spaces do not
matter). The key, the column a course platform matches its users on, is
chosen by --key idnumber|email|username, or else the first of those the
roster fills. Every value is kept exactly as written (UTF-8, accents,
commas, quotes): only the students' folder names are made safe for a
file system, never the key or the names written to a CSV.
"""
import csv
import re
import unicodedata

KEYS = ("idnumber", "email", "username")

# Normalised header -> field. A header is normalised by norm_header().
HEADERS = {
    "first": ("first name", "firstname", "first_name", "prenom", "given name"),
    "last": ("last name", "lastname", "last_name", "surname", "nom", "nom de famille", "family name"),
    "name": ("name", "full name", "fullname", "nom complet", "student name", "nom et prenom"),
    "idnumber": ("id number", "idnumber", "numero d'identification", "numero d identification",
                 "sid", "student id", "student_id", "identifier", "numero d'etudiant",
                 "numero etudiant", "student number"),
    "email": ("email address", "email", "e-mail", "e-mail address", "adresse de courriel",
              "adresse courriel", "courriel", "adresse email", "adresse e-mail", "mail"),
    "username": ("username", "user name", "nom d'utilisateur", "github_username",
                 "github username", "login"),
    "participant": ("identifiant", "participant"),
}
PARTICIPANT = re.compile(r"^Participant\S*\s+\d+$", re.I)
KEY_HEADER = {"idnumber": "ID number", "email": "Email address", "username": "Username"}


def norm_header(h):
    """'Numéro d'identification ' -> "numero d'identification"."""
    h = unicodedata.normalize("NFKD", h.replace("\u2019", "'")).encode("ascii", "ignore").decode()
    return " ".join(h.strip().strip('"').lower().split())


def norm_name(s):
    """A person's name for comparison: case, accents, spaces and
    punctuation do not matter ("Chloé  LEFÈVRE" == "chloe lefevre")."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: a value starting with a
    formula character (= + - @), a tab or a carriage return gets a leading
    apostrophe (OWASP's advice for CSV injection). The grader writes no
    negative number, so no grade is touched."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def write_rows(f, rows, delimiter=","):
    """Write rows to f as CSV, every cell through safe_cell()."""
    w = csv.writer(f, delimiter=delimiter, lineterminator="\r\n" if delimiter == "\t" else "\n")
    for row in rows:
        w.writerow([safe_cell(c) for c in row])


def safe_folder(text):
    """A file name for a student's folder (and work directory): letters
    (accents kept), digits and . _ @ -; nothing that a shell, a path or a
    regular expression treats specially."""
    s = unicodedata.normalize("NFC", text)
    s = "".join(c if c.isalnum() or c in "._@-" else "_" for c in s).strip("._-") or "student"
    return s[:80]


class RosterError(ValueError):
    pass


class Roster:
    """Rows of a class list, each a dict with the fields of HEADERS that
    the file has ("first", "last", "name", "idnumber", "email",
    "username", "participant"), and "key", the value of the key column."""

    def __init__(self, path, key=None):
        self.path = path
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                text = f.read()
        except UnicodeDecodeError:
            raise RosterError(f"roster {path}: not UTF-8 (export it from Moodle as UTF-8)")
        try:
            dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
            delim = dialect.delimiter
        except csv.Error:
            delim = ","
        reader = csv.reader(text.splitlines(), delimiter=delim)
        rows = [r for r in reader if any(c.strip() for c in r)]
        if len(rows) < 2:
            raise RosterError(f"roster {path}: no student (a header line, then one line per student)")
        self.header = rows[0]
        self.cols = {}
        for i, h in enumerate(self.header):
            # Moodle's grading worksheet: "Identifier" holds "Participant 4183".
            values = [r[i].strip() for r in rows[1:] if i < len(r) and r[i].strip()]
            if values and all(PARTICIPANT.match(v) for v in values):
                self.cols.setdefault("participant", i)
                continue
            n = norm_header(h)
            for field, names in HEADERS.items():
                if n in names and field not in self.cols:
                    self.cols[field] = i
        if not ({"first", "last", "name"} & set(self.cols) or set(KEYS) & set(self.cols)):
            raise RosterError(f"roster {path}: no column of names or ids recognised in "
                              f"{', '.join(self.header)}")
        self.rows = []
        for r in rows[1:]:
            row = {f: (r[i].strip() if i < len(r) else "") for f, i in self.cols.items()}
            m = re.search(r"(\d+)", row.get("participant", ""))
            row["participant"] = m.group(1) if m else ""
            self.rows.append(row)
        self.key = key or next((k for k in KEYS if any(r.get(k) for r in self.rows)), None)
        if self.key not in KEYS:
            raise RosterError(f"roster {path}: no column to use as the key (ID number, email "
                              f"address or username) in {', '.join(self.header)}")
        if self.key not in self.cols:
            raise RosterError(f"roster {path}: --key {self.key}: no such column in "
                              f"{', '.join(self.header)}")
        for r in self.rows:
            r["key"] = r.get(self.key, "")
            r["display"] = self.display(r)

    def display(self, row):
        if row.get("first") or row.get("last"):
            return " ".join(x for x in (row.get("first", ""), row.get("last", "")) if x)
        return row.get("name", "")

    def without_key(self):
        return [r for r in self.rows if not r["key"]]

    def values(self, row):
        return [v for f, v in row.items() if f not in ("display",) and v]

    def match(self, name):
        """The row a submission named `name` belongs to: a value of the
        row equal to the name, or the name ending with "-VALUE" (GitHub
        Classroom names repositories ASSIGNMENT-USERNAME), or the row's
        full name; None unless exactly one row matches."""
        n = name.strip().casefold()
        for test in (lambda v: v.casefold() == n,
                     lambda v: n.endswith("-" + v.casefold())):
            hits = [r for r in self.rows if any(test(v) for v in self.values(r))]
            if len(hits) == 1:
                return hits[0]
        rows, _ = self.by_name(name)
        return rows[0] if len(rows) == 1 else None

    def by_participant(self, pid):
        return [r for r in self.rows if pid and r.get("participant") == pid]

    def by_name(self, full_name):
        """Rows whose full name is full_name (either order: Moodle writes
        "First Last", some exports "LAST First"); (rows, how)."""
        n = norm_name(full_name)
        if not n:
            return [], ""
        hits = [r for r in self.rows if n in (norm_name(r["display"]),
                                              norm_name(f"{r.get('last', '')} {r.get('first', '')}"))]
        return hits, "name"

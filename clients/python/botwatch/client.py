"""The botwatch API client: one class, one HTTP connection per request (urllib).

Every method maps to one documented route of `botwatch serve` (docs/API.md):

    check_account(a)         GET  /v1/accounts/{id} or /v1/accounts/by-name/{name}
    check_accounts([a, ...]) POST /v1/accounts:lookup, in batches, input order kept
    export(...)              GET  /v1/accounts (ndjson, paged with the cursor)
    explain(id, ...)         GET  /v1/accounts/{id}/explain
    report(...)              GET  /v1/report (the conversation report)
    models(), health()       GET  /v1/models, /healthz

Errors are raised as BotwatchError (NotFound for an unknown account) carrying the
HTTP status and the server's JSON error; nothing is retried silently.
"""
import json
import re
import urllib.error
import urllib.parse
import urllib.request

_ID = re.compile(r"^(0|[1-9][0-9]{0,19})$|^did:[a-z]+:[A-Za-z0-9:._%-]+$")

#: The score columns of a flattened record, before the per-type columns
#: (``raw_scores.<name>``, one per bot type the model has). The names are those
#: of the server's CSV export (GET /v1/accounts?format=csv).
SCORE_COLUMNS = ["score", "english", "universal", "cap.english", "cap.universal",
                 "categories.user", "categories.friend", "categories.network",
                 "categories.temporal", "categories.content", "categories.sentiment"]


class BotwatchError(Exception):
    """A request the server refused or could not answer.

    ``status`` is the HTTP status (0 when the server could not be reached),
    ``body`` the decoded JSON answer when there was one."""

    def __init__(self, status, message, body=None):
        super().__init__("HTTP %d: %s" % (status, message) if status else message)
        self.status = status
        self.body = body


class NotFound(BotwatchError):
    """The account is not in the store (404 {"status": "not_found"})."""


def _is_id(account):
    if isinstance(account, bool):
        return False
    if isinstance(account, int):
        return account >= 0
    return bool(_ID.match(str(account)))


class Client:
    """A botwatch server at ``url`` (``http://host:port``).

    ``token`` is api.token when the server has one (sent as a Bearer token);
    ``batch_size`` bounds each /v1/accounts:lookup request (the server's
    api.max_batch, 1,000 by default)."""

    def __init__(self, url="http://127.0.0.1:8080", token=None, timeout=30.0,
                 batch_size=1000):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size

    # ---- transport ---------------------------------------------------------------

    def _request(self, method, path, params=None, body=None, raw=False):
        url = self.url + path
        if params:
            q = {k: v for k, v in params.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                err = json.loads(text)
            except ValueError:
                err = None
            msg = err.get("error") if isinstance(err, dict) and err.get("error") else text.strip()
            if e.code == 404 and isinstance(err, dict) and err.get("status") == "not_found":
                raise NotFound(404, "account not found", err) from None
            raise BotwatchError(e.code, msg or e.reason, err) from None
        except urllib.error.URLError as e:
            raise BotwatchError(0, "cannot reach %s: %s" % (self.url, e.reason)) from None
        if raw:
            return payload
        return json.loads(payload.decode("utf-8"))

    # ---- lookups -----------------------------------------------------------------

    def check_account(self, account):
        """The score record (docs/SCORES.md) of one account: an id (int or
        digits, or a DID) or a screen name (a leading '@' is ignored).
        Raises NotFound when the store has no such account."""
        if _is_id(account):
            return self._request("GET", "/v1/accounts/" + urllib.parse.quote(str(account)))
        name = str(account).lstrip("@")
        return self._request("GET", "/v1/accounts/by-name/" + urllib.parse.quote(name))

    def check_accounts(self, accounts):
        """One entry per input, in input order: the score record, or the
        server's ``{"id"|"screen_name": ..., "status": "not_found" | "invalid_id"
        | "invalid_screen_name"}``. Ids and screen names may be mixed; inputs go
        in batches of ``batch_size``."""
        accounts = list(accounts)
        out = []
        for start in range(0, len(accounts), self.batch_size):
            chunk = accounts[start:start + self.batch_size]
            ids = [(i, str(a)) for i, a in enumerate(chunk) if _is_id(a)]
            names = [(i, str(a)) for i, a in enumerate(chunk) if not _is_id(a)]
            body = {}
            if ids:
                body["ids"] = [a for _, a in ids]
            if names:
                body["screen_names"] = [a for _, a in names]
            results = self._request("POST", "/v1/accounts:lookup", body=body)["results"]
            if len(results) != len(chunk):
                raise BotwatchError(200, "lookup answered %d entries for %d inputs"
                                    % (len(results), len(chunk)))
            placed = [None] * len(chunk)
            # the server answers ids first, then screen names, each in input order
            for (i, _), r in zip(ids + names, results):
                placed[i] = r
            out.extend(placed)
        return out

    def export(self, min_score=None, status=None, limit=None, page_size=1000):
        """Iterate over every scored account (id order), fetching pages of
        ``page_size`` with the export cursor; ``min_score``, ``status`` and
        ``limit`` are the route's filters."""
        cursor = None
        left = limit
        while left is None or left > 0:
            n = page_size if left is None else min(page_size, left)
            text = self._request("GET", "/v1/accounts", params={
                "format": "ndjson", "min_score": min_score, "status": status,
                "limit": n, "cursor": cursor}, raw=True).decode("utf-8")
            page = [json.loads(line) for line in text.splitlines() if line.strip()]
            for rec in page:
                yield rec
            if len(page) < n:
                return
            cursor = page[-1]["user_id"]
            if left is not None:
                left -= len(page)

    def dataframe(self, accounts=None, **export_filters):
        """A pandas DataFrame, one row per account and one column per score
        (see to_dataframe): of ``accounts`` (looked up, input order, not-found
        rows kept with their status) or else of the whole export."""
        if accounts is not None:
            recs = self.check_accounts(accounts)
        else:
            recs = self.export(**export_filters)
        return to_dataframe(recs)

    def explain(self, account_id, top=10, score=None):
        """Why the account got its score: top features with their log-odds
        contributions, the class subscores and the full feature vector."""
        return self._request("GET", "/v1/accounts/%s/explain" % urllib.parse.quote(str(account_id)),
                             params={"top": top, "score": score})

    def report(self, by=None, window=None, threshold=None, cap=None, since=None,
               until=None, top=None, key=None, **params):
        """The conversation report (GET /v1/report, docs/REPORT.md): for each
        hashtag / domain / keyword (``by``) and event-time window (``window``:
        "1h", "1d", "all", ...), the posts and accounts seen and the shares of
        each above the CAP ``threshold``, with 95 % intervals. ``since`` /
        ``until`` (ISO 8601) are the route's ``from`` / ``to``; ``top`` keys per
        window, ``key`` one key only; other keyword arguments are passed as
        query parameters. Returns the route's JSON ({"rows": [...], ...})."""
        q = {"by": by, "window": window, "threshold": threshold, "cap": cap,
             "from": since, "to": until, "top": top, "key": key}
        q.update(params)
        return self._request("GET", "/v1/report", params=q)

    def report_dataframe(self, **kwargs):
        """report(**kwargs)'s rows as a pandas DataFrame, one row per key and
        window; the intervals split into ``share_accounts_lo``/``_hi`` and
        ``share_posts_lo``/``_hi``."""
        pd = _pandas()
        rows = []
        for r in self.report(**kwargs).get("rows", []):
            r = dict(r)
            for f in ("share_accounts_ci", "share_posts_ci"):
                ci = r.pop(f, None) or [None, None]
                base = f[:-3]
                r[base + "_lo"], r[base + "_hi"] = ci[0], ci[1]
            rows.append(r)
        return pd.DataFrame(rows)

    def models(self):
        """The loaded model's identity and metadata (GET /v1/models)."""
        return self._request("GET", "/v1/models")

    def health(self):
        """{"status": "ok", "accounts": N} (GET /healthz)."""
        return self._request("GET", "/healthz")


EVIDENCE = ("profile_text", "profile_counts", "posts")


def flatten_record(rec):
    """A score record as one flat dict with the CSV export's column names:
    ``cap.english``, ``categories.user``, ``raw_scores.<bot type>`` for each bot
    type, ``evidence.<kind>`` (True/False) for each kind of evidence; a
    not-found entry keeps its id / screen name and status."""
    row = {"user_id": rec.get("user_id", rec.get("id")),
           "screen_name": rec.get("screen_name"), "status": rec.get("status")}
    for k in ("score", "english", "universal"):
        row[k] = rec.get(k)
    for group in ("cap", "categories"):
        for k, v in (rec.get(group) or {}).items():
            row["%s.%s" % (group, k)] = v
    for k, v in (rec.get("raw_scores") or {}).items():
        row["raw_scores." + k] = v
    if isinstance(rec.get("evidence"), list):
        for k in EVIDENCE:
            row["evidence." + k] = k in rec["evidence"]
    for k in ("posts_seen", "in_support", "scored_at", "model_version", "feature_schema"):
        if k in rec:
            row[k] = rec[k]
    return row


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("DataFrame export needs pandas: pip install 'botwatch[pandas]'") from None
    return pd


def to_dataframe(records):
    """A pandas DataFrame of score records with the columns of the server's CSV
    export, in its order: user_id, screen_name, status, SCORE_COLUMNS,
    model_version, feature_schema, scored_at, posts_seen, in_support,
    ``evidence.<kind>`` (True/False), then ``raw_scores.<name>`` per bot type.
    Needs pandas (pip install 'botwatch[pandas]')."""
    pd = _pandas()
    rows = [flatten_record(r) for r in records]
    types = []
    for r in rows:  # in the records' order (the model's), each once
        types += [k for k in r if k.startswith("raw_scores.") and k not in types]
    lead = ["user_id", "screen_name", "status"]
    meta = [c for c in ("model_version", "feature_schema", "scored_at", "posts_seen", "in_support")
            + tuple("evidence." + k for k in EVIDENCE) if any(c in r for r in rows)]
    cols = lead + SCORE_COLUMNS + meta + types  # the CSV export's order
    return pd.DataFrame([[r.get(c) for c in cols] for r in rows], columns=cols)

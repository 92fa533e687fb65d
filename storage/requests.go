package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// RequestLogLimit is how many requests the log keeps; older ones are deleted as new ones arrive.
const RequestLogLimit = 10000

// Request is one request a mock provider answered. Bodies are stored already redacted.
type Request struct {
	ID           int64
	At           time.Time
	Protocol     string // osp, bsp, oap, ospbox
	Provider     string
	Method       string
	Path         string
	Status       int
	Latency      time.Duration
	Agent        string
	RequestID    string
	RequestBody  string
	ResponseBody string
	// ResponseRef, when set, names ResponseBody as a shared body (a served discovery document):
	// it is stored once under this key and every request that returned it refers to it.
	ResponseRef string
	// RequestHeaders and ResponseHeaders are JSON objects of header name to values, redacted.
	RequestHeaders  string
	ResponseHeaders string
	// Scenario is the id of the scenario rule that changed the answer, "" for none.
	Scenario string
}

// RecordRequest appends r to the request log and trims the log to RequestLogLimit rows.
func (db *DB) RecordRequest(ctx context.Context, r Request) (int64, error) {
	return db.RecordRequests(ctx, []Request{r})
}

// requestColumns are the columns a logged request is inserted with.
const requestColumns = `(at, protocol, provider, method, path, status, latency_us, agent, request_id, request_body,
	response_body, response_ref, headers_ref, scenario)`

// requestArgs is how many values one request row is inserted with.
const requestArgs = 14

// insertChunk is how many requests one INSERT statement writes: SQLite's per-statement and the
// driver's per-call costs are paid once for the chunk instead of once a row.
const insertChunk = 32

// insertRequests returns the INSERT statement for n requests.
var insertRequests = func() func(n int) string {
	one := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	full := "INSERT INTO requests " + requestColumns + " VALUES " + one + strings.Repeat(", "+one, insertChunk-1)
	single := "INSERT INTO requests " + requestColumns + " VALUES " + one
	return func(n int) string {
		if n == insertChunk {
			return full
		}
		return single
	}
}()

const insertSharedBody = `INSERT OR IGNORE INTO bodies (hash, body) VALUES (?, ?)`

// sharedHeaders is how a request's header sets are stored: both in one shared body, named by
// the hash of its text. Rendered header sets never hold a raw newline, so one separates them.
func sharedHeaders(request, response string) (ref, body string) {
	body = jsonObject(request) + "\n" + jsonObject(response)
	sum := sha256.Sum256([]byte(body))
	return "hdr:" + hex.EncodeToString(sum[:16]), body
}

// splitHeaders undoes sharedHeaders.
func splitHeaders(body string) (request, response string) {
	request, response, _ = strings.Cut(body, "\n")
	return request, response
}

// RecordRequests appends a batch in one transaction (one commit for many requests is what lets
// the log keep up with a load test) and returns the last id.
func (db *DB) RecordRequests(ctx context.Context, rs []Request) (int64, error) {
	var id int64
	err := db.Update(ctx, func(tx *Tx) error {
		shared := map[string]bool{}
		share := func(ref, body string) error {
			if shared[ref] {
				return nil
			}
			shared[ref] = true
			_, err := tx.ExecContext(ctx, insertSharedBody, ref, body)
			return err
		}
		lastReq, lastResp, lastRef := "", "", ""
		args := make([]any, 0, requestArgs*insertChunk)
		chunked := len(rs) - len(rs)%insertChunk
		flush := func(n int) error {
			// The writer's statement cache keeps both statement shapes prepared across batches.
			res, err := tx.ExecContext(ctx, insertRequests(n), args...)
			if err != nil {
				return err
			}
			args = args[:0]
			id, err = res.LastInsertId()
			return err
		}
		for i, r := range rs {
			body := r.ResponseBody
			if r.ResponseRef != "" {
				if err := share(r.ResponseRef, body); err != nil {
					return err
				}
				body = ""
			}
			// Consecutive requests mostly carry the same headers: hash each distinct pair once.
			if lastRef == "" || r.RequestHeaders != lastReq || r.ResponseHeaders != lastResp {
				ref, text := sharedHeaders(r.RequestHeaders, r.ResponseHeaders)
				if err := share(ref, text); err != nil {
					return err
				}
				lastReq, lastResp, lastRef = r.RequestHeaders, r.ResponseHeaders, ref
			}
			args = append(args, r.At.UTC().Format(TimeFormat), r.Protocol, r.Provider, r.Method, r.Path, r.Status,
				r.Latency.Microseconds(), r.Agent, r.RequestID, r.RequestBody, body, r.ResponseRef, lastRef, r.Scenario)
			// Whole chunks go in one statement each; the rest of the batch one row at a time.
			if i >= chunked || len(args) == requestArgs*insertChunk {
				if err := flush(len(args) / requestArgs); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM requests WHERE id <= ?`, id-RequestLogLimit); err != nil {
			return err
		}
		if first := id - int64(len(rs)) + 1; (first-1)/pruneEvery != id/pruneEvery {
			if err := pruneSharedBodies(ctx, tx); err != nil {
				return err
			}
		}
		tx.Changed("requests", strconv.FormatInt(id, 10), "insert")
		return nil
	})
	return id, err
}

// RecentRequests returns up to limit requests, newest first.
func (db *DB) RecentRequests(ctx context.Context, limit int) ([]Request, error) {
	return db.FilterRequests(ctx, RequestFilter{}, limit)
}

// RequestFilter narrows the request log; zero fields match everything.
type RequestFilter struct {
	Provider    string
	Method      string
	StatusClass int    // 2 for 2xx … 5 for 5xx
	Text        string // found in the path, the agent or the request id
}

// FilterRequests returns up to limit requests matching f, newest first.
func (db *DB) FilterRequests(ctx context.Context, f RequestFilter, limit int) ([]Request, error) {
	where, args := []string{"1=1"}, []any{}
	if f.Provider != "" {
		where, args = append(where, "provider = ?"), append(args, f.Provider)
	}
	if f.Method != "" {
		where, args = append(where, "method = ?"), append(args, f.Method)
	}
	if f.StatusClass >= 1 && f.StatusClass <= 5 {
		where, args = append(where, "status >= ? AND status < ?"), append(args, f.StatusClass*100, f.StatusClass*100+100)
	}
	if f.Text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Text) + "%"
		where = append(where, `(path LIKE ? ESCAPE '\' OR agent LIKE ? ESCAPE '\' OR request_id LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, `SELECT id, at, protocol, provider, method, path, status, latency_us, agent, request_id, scenario
		FROM requests WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		var at string
		var us int64
		if err := rows.Scan(&r.ID, &at, &r.Protocol, &r.Provider, &r.Method, &r.Path, &r.Status, &us, &r.Agent, &r.RequestID, &r.Scenario); err != nil {
			return nil, err
		}
		r.At, _ = time.Parse(TimeFormat, at)
		r.Latency = time.Duration(us) * time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// RequestByID returns one logged request with both bodies, or ErrNotFound.
func (db *DB) RequestByID(ctx context.Context, id int64) (Request, error) {
	r, err := scanFullRequest(db.read.QueryRowContext(ctx, fullRequestQuery+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// fullRequestQuery selects logged requests with both bodies and their headers.
const fullRequestQuery = `SELECT r.id, r.at, r.protocol, r.provider, r.method, r.path, r.status, r.latency_us,
		r.agent, r.request_id, r.request_body, COALESCE(b.body, r.response_body), r.response_ref,
		r.request_headers, r.response_headers, COALESCE(h.body, ''), r.scenario
	FROM requests r LEFT JOIN bodies b ON b.hash = r.response_ref AND r.response_ref <> ''
	LEFT JOIN bodies h ON h.hash = r.headers_ref AND r.headers_ref <> ''`

// scanFullRequest reads one row of fullRequestQuery.
func scanFullRequest(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var at, headers string
	var us int64
	err := row.Scan(&r.ID, &at, &r.Protocol, &r.Provider, &r.Method, &r.Path, &r.Status, &us, &r.Agent, &r.RequestID,
		&r.RequestBody, &r.ResponseBody, &r.ResponseRef, &r.RequestHeaders, &r.ResponseHeaders, &headers, &r.Scenario)
	if err != nil {
		return r, err
	}
	if headers != "" {
		r.RequestHeaders, r.ResponseHeaders = splitHeaders(headers)
	}
	r.ResponseHeaders = withRequestID(r.ResponseHeaders, r.RequestID)
	r.At, _ = time.Parse(TimeFormat, at)
	r.Latency = time.Duration(us) * time.Microsecond
	return r, nil
}

// jsonObject stores an absent header set as the empty object.
func jsonObject(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// pruneEvery is how many logged requests pass between sweeps of unreferenced shared bodies: a
// sweep reads every logged request, and a body can only become unreferenced as the log rolls over.
const pruneEvery = RequestLogLimit

// pruneSharedBodies deletes shared bodies no logged request refers to any more.
func pruneSharedBodies(ctx context.Context, tx *Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM bodies
		WHERE hash NOT IN (SELECT response_ref FROM requests) AND hash NOT IN (SELECT headers_ref FROM requests)`)
	return err
}

// withRequestID puts the response's X-Request-Id back into its logged headers: the log keeps it
// in its own column, so that the rest of the header set repeats and is stored once.
func withRequestID(headers, id string) string {
	if id == "" {
		return headers
	}
	h := map[string][]string{}
	if err := json.Unmarshal([]byte(jsonObject(headers)), &h); err != nil {
		return headers
	}
	if _, ok := h["X-Request-Id"]; ok {
		return headers
	}
	h["X-Request-Id"] = []string{id}
	b, _ := json.Marshal(h)
	return string(b)
}

// Counts is how many rows each part of the sandbox state holds.
type Counts struct {
	Resources       int // not deprovisioned
	ActiveSandboxes int
	Credentials     int // not revoked
	Requests        int
	Events          int
}

// Counts reads the Overview's numbers in one snapshot.
func (db *DB) Counts(ctx context.Context) (Counts, error) {
	return scanCounts(db.read.QueryRowContext(ctx, countsQuery))
}

func scanCounts(row *sql.Row) (Counts, error) {
	var c Counts
	err := row.Scan(&c.Resources, &c.ActiveSandboxes, &c.Credentials, &c.Requests, &c.Events)
	return c, err
}

const countsQuery = `SELECT
	(SELECT COUNT(*) FROM resources WHERE status <> 'deprovisioned'),
	(SELECT COUNT(*) FROM resources WHERE status <> 'deprovisioned' AND sandbox = 1),
	(SELECT COUNT(*) FROM credentials WHERE revoked_at IS NULL),
	(SELECT COUNT(*) FROM requests),
	(SELECT COUNT(*) FROM events)`

// ProviderCounts is the per-provider slice of the state.
type ProviderCounts struct {
	Resources int
	Requests  int
}

// CountsByProvider returns resource and request counts keyed by provider slug.
func (db *DB) CountsByProvider(ctx context.Context) (map[string]ProviderCounts, error) {
	out := map[string]ProviderCounts{}
	rows, err := db.read.QueryContext(ctx, `SELECT provider, SUM(res), SUM(req) FROM (
		SELECT provider, 1 AS res, 0 AS req FROM resources WHERE status <> 'deprovisioned'
		UNION ALL SELECT provider, 0, 1 FROM requests WHERE provider <> '') GROUP BY provider`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var c ProviderCounts
		if err := rows.Scan(&p, &c.Resources, &c.Requests); err != nil {
			return nil, err
		}
		out[p] = c
	}
	return out, rows.Err()
}

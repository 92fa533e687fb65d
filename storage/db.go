// Package storage keeps ospbox's sandbox state in SQLite (modernc.org/sqlite): embedded numbered
// migrations, every SQL statement ospbox runs, and a change feed published after each commit.
// SQLite is the single source of truth; nothing else holds state that must survive a restart.
// It imports nothing of mock, frontend or app.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// TimeFormat is how timestamps are stored: RFC 3339 in UTC with a Z suffix, sortable as text.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// DB is the workspace state: one writer connection (SQLite allows one writer at a time, so
// ospbox serialises writes itself instead of meeting SQLITE_BUSY) and a pool of readers.
type DB struct {
	write      *sql.DB
	read       *sql.DB
	Feed       *Feed
	path       string
	writes     chan *writeOp
	writerOnce sync.Once
	writerDone chan struct{}
	mu         sync.RWMutex // guards closed against sends on writes
	closed     bool
	// ckpt is the background checkpointer's own connection; commits counts the writer's
	// commits so the checkpointer sleeps while nothing is written.
	ckpt     *sql.DB
	commits  atomic.Uint64
	ckptStop chan struct{}
	ckptDone chan struct{}
}

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(5000)", "synchronous(NORMAL)", "temp_store(MEMORY)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + filepath.ToSlash(path) + "?" + pragmas.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	c.SetMaxOpenConns(1)
	db := &DB{write: w, read: r, ckpt: c, Feed: NewFeed(), path: path}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// Close closes both pools and checkpoints the WAL so the database file stands alone.
func (db *DB) Close() error {
	db.mu.Lock()
	wasClosed := db.closed
	db.closed = true
	db.mu.Unlock()
	if wasClosed {
		return nil
	}
	db.writerOnce.Do(func() {}) // no writer may start after this
	if db.writes != nil {
		close(db.writes)
		<-db.writerDone
		close(db.ckptStop)
		<-db.ckptDone
	}
	db.ckpt.Close()
	_, _ = db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	rerr := db.read.Close()
	werr := db.write.Close()
	db.Feed.Close()
	if werr != nil {
		return werr
	}
	return rerr
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if len(names) > 0 {
		newest, _ := strconv.Atoi(strings.SplitN(filepath.Base(names[len(names)-1]), "_", 2)[0])
		if current > newest {
			return fmt.Errorf("the state was written by a newer ospbox (schema %d; this build knows up to %d)", current, newest)
		}
	}
	for _, name := range names {
		base := filepath.Base(name)
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if n <= current {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, n, time.Now().UTC().Format(TimeFormat)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// SQLiteVersion reports the embedded SQLite library's version.
func SQLiteVersion() string {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return "unknown"
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT sqlite_version()`).Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

// Tx is a write transaction that remembers what it changed, for the feed.
type Tx struct {
	*sql.Tx
	changes []Change
	after   []func()
	cache   *stmtCache
}

// stmtCache keeps the write connection's prepared statements across transactions: preparing
// a statement costs as much as running it, and the same few dozen statements run all the time.
// Only the writer goroutine touches it.
type stmtCache struct {
	stmts  map[string]*sql.Stmt
	wanted map[string]bool // seen in this group, prepared once the connection is free again
}

// maxCachedStmts bounds the cache should a caller build SQL text dynamically.
const maxCachedStmts = 256

// prepared returns query's statement bound to this transaction, or nil when not cached yet.
func (tx *Tx) prepared(ctx context.Context, query string) *sql.Stmt {
	if tx.cache == nil {
		return nil
	}
	if st, ok := tx.cache.stmts[query]; ok {
		return tx.Tx.StmtContext(ctx, st)
	}
	if len(tx.cache.stmts)+len(tx.cache.wanted) < maxCachedStmts {
		tx.cache.wanted[query] = true
	}
	return nil
}

// ExecContext runs query in the transaction, through the statement cache. Statements inside the
// writer's group transaction ignore the caller's cancellation: an interrupted statement could roll
// back the whole group (other callers' updates too), and watching a context costs the driver a
// goroutine per statement. The writer checks each update's context before running it.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := tx.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query in the transaction, through the statement cache.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := tx.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query in the transaction, through the statement cache.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := tx.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// prepareWanted prepares the statements the last group ran uncached, now that the single write
// connection is free.
func (c *stmtCache) prepareWanted(w *sql.DB) {
	for q := range c.wanted {
		if st, err := w.Prepare(q); err == nil {
			c.stmts[q] = st
		}
		delete(c.wanted, q)
	}
}

func (c *stmtCache) close() {
	for _, st := range c.stmts {
		st.Close()
	}
}

// Changed records a change to publish once the transaction commits.
func (tx *Tx) Changed(table, id, kind string) {
	tx.changes = append(tx.changes, Change{Table: table, ID: id, Kind: kind})
}

// AfterCommit runs fn once the transaction has committed, on the writer, in commit order: two
// updates' hooks run in the order their changes became visible. fn must not block or write.
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

// Update runs fn as one atomic unit of work and, after its commit, publishes what fn recorded
// with Tx.Changed. A failing fn changes nothing and publishes nothing.
//
// Concurrent updates are committed together (group commit): one goroutine owns the write
// connection, takes every update waiting, runs each inside its own savepoint of one transaction,
// and commits once. Each fn still sees the effects of those before it, and a failing fn rolls
// back only its savepoint. Under load this turns many small commits into few large ones.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.submit(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// submit hands w to the writer and waits for its outcome.
func (db *DB) submit(w *writeOp) error {
	ctx := w.ctx
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return errors.New("the state database is closed")
	}
	db.startWriter()
	select {
	case db.writes <- w:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()
	return <-w.done
}

type writeOp struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
	tx   *Tx
	// raw, when set instead of fn, runs alone on the write connection outside any transaction
	// (for statements SQLite refuses inside one, such as ATTACH).
	raw func(conn *sql.DB) error
}

// exclusive runs fn on the write connection outside a transaction, between two groups of
// updates; fn manages its own transaction.
func (db *DB) exclusive(ctx context.Context, fn func(conn *sql.DB) error) error {
	return db.submit(&writeOp{ctx: ctx, raw: fn, done: make(chan error, 1)})
}

const maxGroup = 64

func (db *DB) startWriter() {
	db.writerOnce.Do(func() {
		db.writes = make(chan *writeOp, 1024)
		db.writerDone = make(chan struct{})
		db.ckptStop, db.ckptDone = make(chan struct{}), make(chan struct{})
		go db.writer()
		go db.checkpointer()
	})
}

// checkpointInterval is how often the checkpointer copies committed pages from the WAL into
// the database file while writes happen.
const checkpointInterval = 50 * time.Millisecond

// checkpointer copies the WAL into the database file in the background with PASSIVE
// checkpoints, which never block the writer or readers. SQLite's automatic checkpoint still
// runs inside a commit once the WAL passes 1,000 pages (only the writer's own checkpoint lets
// the WAL start over), but it finds most pages already copied and synced, so that commit
// stalls for the last few milliseconds' pages rather than for the whole WAL. (Turning the
// automatic checkpoint off instead lets the WAL grow without bound under constant writes:
// a checkpoint from another connection never catches up with its end.)
func (db *DB) checkpointer() {
	defer close(db.ckptDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-db.ckptStop:
			return
		case <-t.C:
			if n := db.commits.Load(); n != seen {
				seen = n
				_, _ = db.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			}
		}
	}
}

// writer commits waiting updates in groups until the database closes.
func (db *DB) writer() {
	defer close(db.writerDone)
	cache := &stmtCache{stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
	defer cache.close()
	var held *writeOp // an exclusive op met while grouping, run after the group
	for {
		first := held
		held = nil
		if first == nil {
			var ok bool
			if first, ok = <-db.writes; !ok {
				return
			}
		}
		if first.raw != nil {
			// Cached statements stay prepared on the connection: fine between transactions.
			first.done <- runRawSafely(first.raw, db.write)
			db.commits.Add(1)
			continue
		}
		group := []*writeOp{first}
	more:
		for len(group) < maxGroup {
			select {
			case w, ok := <-db.writes:
				if !ok {
					break more
				}
				if w.raw != nil {
					held = w
					break more
				}
				group = append(group, w)
			default:
				break more
			}
		}
		db.commitGroup(group, cache)
		cache.prepareWanted(db.write)
	}
}

func (db *DB) commitGroup(group []*writeOp, cache *stmtCache) {
	fail := func(err error) {
		for _, w := range group {
			w.done <- err
		}
	}
	sqlTx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	var ok []*writeOp
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		if _, err := sqlTx.Exec(`SAVEPOINT op`); err != nil {
			w.done <- err
			continue
		}
		w.tx = &Tx{Tx: sqlTx, cache: cache}
		if err := runSafely(w.fn, w.tx); err != nil {
			if _, rerr := sqlTx.Exec(`ROLLBACK TO op`); rerr != nil {
				// The transaction is unusable: give up on the whole group, the updates already
				// run and those not yet run alike.
				sqlTx.Rollback()
				w.done <- err
				for _, o := range ok {
					o.done <- rerr
				}
				for _, o := range group[i+1:] {
					o.done <- rerr
				}
				return
			}
			sqlTx.Exec(`RELEASE op`)
			w.done <- err
			continue
		}
		sqlTx.Exec(`RELEASE op`)
		ok = append(ok, w)
	}
	if err := sqlTx.Commit(); err != nil {
		for _, w := range ok {
			w.done <- err
		}
		return
	}
	db.commits.Add(1)
	for _, w := range ok {
		for _, c := range w.tx.changes {
			db.Feed.Publish(c)
		}
		for _, fn := range w.tx.after {
			fn()
		}
		w.done <- nil
	}
}

// runRawSafely runs an exclusive op, turning a panic into an error.
func runRawSafely(fn func(*sql.DB) error, conn *sql.DB) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in a write: %v", v)
		}
	}()
	return fn(conn)
}

// runSafely runs fn, turning a panic into an error so one bad update cannot stop the writer.
func runSafely(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in a write: %v", v)
		}
	}()
	return fn(tx)
}

// View runs fn in a read-only transaction on a reader connection: a consistent snapshot that
// never waits for, or holds up, the writer. Writes inside fn fail.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	return fn(&Tx{Tx: sqlTx})
}

// IntegrityCheck runs SQLite's integrity check and returns its verdict ("ok" when sound).
func (db *DB) IntegrityCheck(ctx context.Context) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&v)
	return v, err
}

// IsBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY or SQLITE_LOCKED):
// another connection — another process on the same file — held the lock past busy_timeout.
// It is a passing condition, not a failure of the request.
func IsBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff // the primary result code
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return err != nil && strings.Contains(err.Error(), "database is locked")
}

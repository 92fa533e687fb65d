package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Project is an orchestrator project.
type Project struct {
	ID, Name  string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// VaultItem is one resource's credentials in a project's vault, sealed.
type VaultItem struct {
	ProjectID, ResourceID, ProviderID, ProviderURL, OfferingID, TierID, AccountID string
	Sealed                                                                        []byte
	CreatedAt                                                                     time.Time
}

// VaultRead is one read of a project's credentials.
type VaultRead struct {
	ProjectID string
	At        time.Time
	Revealed  bool
	Items     int
}

// InsertProject stores a new project with its token's hash.
func (tx *Tx) InsertProject(ctx context.Context, p Project, tokenHash string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO projects (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`, p.ID, p.Name, tokenHash, ts(p.CreatedAt))
	if err == nil {
		tx.Changed("projects", p.ID, "insert")
	}
	return err
}

func scanProject(row interface{ Scan(...any) error }) (Project, error) {
	var p Project
	var created string
	var revoked sql.NullString
	err := row.Scan(&p.ID, &p.Name, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	p.CreatedAt, _ = time.Parse(TimeFormat, created)
	p.RevokedAt = parseTS(revoked)
	return p, err
}

// Project reads one project.
func (db *DB) Project(ctx context.Context, id string) (Project, error) {
	return scanProject(db.read.QueryRowContext(ctx, `SELECT id, name, created_at, revoked_at FROM projects WHERE id = ?`, id))
}

// ProjectByToken finds the project whose token hashes to tokenHash.
func (db *DB) ProjectByToken(ctx context.Context, tokenHash string) (Project, error) {
	return scanProject(db.read.QueryRowContext(ctx, `SELECT id, name, created_at, revoked_at FROM projects WHERE token_hash = ?`, tokenHash))
}

// Projects lists the projects, newest first.
func (db *DB) Projects(ctx context.Context) ([]Project, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, created_at, revoked_at FROM projects ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokeProject marks a project revoked.
func (tx *Tx) RevokeProject(ctx context.Context, id string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE projects SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id)
	if err == nil {
		tx.Changed("projects", id, "update")
	}
	return err
}

// PutVaultItem stores or replaces a resource's sealed credentials.
func (tx *Tx) PutVaultItem(ctx context.Context, v VaultItem) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO vault_items (project_id, resource_id, provider_id, provider_url, offering_id, tier_id, account_id, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, resource_id) DO UPDATE SET sealed = excluded.sealed, account_id = excluded.account_id`,
		v.ProjectID, v.ResourceID, v.ProviderID, v.ProviderURL, v.OfferingID, v.TierID, v.AccountID, v.Sealed, ts(v.CreatedAt))
	if err == nil {
		tx.Changed("vault_items", v.ResourceID, "update")
	}
	return err
}

// DeleteVaultItem removes a resource's credentials from a project; it reports whether any were there.
func (tx *Tx) DeleteVaultItem(ctx context.Context, projectID, resourceID string) (bool, error) {
	r, err := tx.ExecContext(ctx, `DELETE FROM vault_items WHERE project_id = ? AND resource_id = ?`, projectID, resourceID)
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	if n > 0 {
		tx.Changed("vault_items", resourceID, "delete")
	}
	return n > 0, nil
}

// VaultItems lists a project's items in the order they were stored.
func (db *DB) VaultItems(ctx context.Context, projectID string) ([]VaultItem, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT project_id, resource_id, provider_id, provider_url, offering_id, tier_id, account_id, sealed, created_at
		FROM vault_items WHERE project_id = ? ORDER BY created_at, resource_id`, projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VaultItem
	for rows.Next() {
		var v VaultItem
		var created string
		if err := rows.Scan(&v.ProjectID, &v.ResourceID, &v.ProviderID, &v.ProviderURL, &v.OfferingID, &v.TierID, &v.AccountID, &v.Sealed, &created); err != nil {
			return nil, err
		}
		v.CreatedAt, _ = time.Parse(TimeFormat, created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// RecordVaultRead records that a project's credentials were read.
func (tx *Tx) RecordVaultRead(ctx context.Context, r VaultRead) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO vault_reads (project_id, at, revealed, items) VALUES (?, ?, ?, ?)`, r.ProjectID, ts(r.At), r.Revealed, r.Items)
	if err == nil {
		tx.Changed("vault_reads", r.ProjectID, "insert")
	}
	return err
}

// VaultReads lists the newest reads of every project's credentials, at most limit.
func (db *DB) VaultReads(ctx context.Context, limit int) ([]VaultRead, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT project_id, at, revealed, items FROM vault_reads ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VaultRead
	for rows.Next() {
		var r VaultRead
		var at string
		if err := rows.Scan(&r.ProjectID, &at, &r.Revealed, &r.Items); err != nil {
			return nil, err
		}
		r.At, _ = time.Parse(TimeFormat, at)
		out = append(out, r)
	}
	return out, rows.Err()
}

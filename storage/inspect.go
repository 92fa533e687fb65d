package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// ResourceFilter narrows the inspector's resource list; zero fields match everything.
type ResourceFilter struct {
	Provider string
	Project  string // a project id (proj_…)
	Offering string
	Tier     string
	Status   string
	Sandbox  string // "yes", "no" or "" for both
	Oldest   bool   // oldest first instead of newest first
}

// ResourcePage is one page of the resource list and the cursor of the next, "" at the end.
type ResourcePage struct {
	Resources []Resource
	Next      string
}

// ListResources returns up to limit resources matching f, newest first, after cursor (a Next
// from the previous page). Keyset pagination on (created_at, id) keeps deep pages as cheap as
// the first.
func (db *DB) ListResources(ctx context.Context, f ResourceFilter, cursor string, limit int) (ResourcePage, error) {
	where, args := []string{"1=1"}, []any{}
	if f.Provider != "" {
		where, args = append(where, "provider = ?"), append(args, f.Provider)
	}
	if f.Project != "" {
		where, args = append(where, "project_id = ?"), append(args, f.Project)
	}
	if f.Offering != "" {
		where, args = append(where, "offering_id = ?"), append(args, f.Offering)
	}
	if f.Tier != "" {
		where, args = append(where, "tier_id = ?"), append(args, f.Tier)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	switch f.Sandbox {
	case "yes":
		where = append(where, "sandbox = 1")
	case "no":
		where = append(where, "sandbox = 0")
	}
	before, order := "<", "DESC"
	if f.Oldest {
		before, order = ">", "ASC"
	}
	if at, id, ok := strings.Cut(cursor, "|"); ok {
		where, args = append(where, "(created_at "+before+" ? OR (created_at = ? AND id "+before+" ?))"), append(args, at, at, id)
	}
	args = append(args, limit+1)
	rs, err := collectResources(db.read.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE `+
		strings.Join(where, " AND ")+` ORDER BY created_at `+order+`, id `+order+` LIMIT ?`, args...))
	if err != nil {
		return ResourcePage{}, err
	}
	page := ResourcePage{Resources: rs}
	if len(rs) > limit {
		last := rs[limit-1]
		page.Resources, page.Next = rs[:limit], ts(last.CreatedAt)+"|"+last.ID
	}
	return page, nil
}

// ResourceByID finds a resource by its id alone (ids are unique across providers).
func (db *DB) ResourceByID(ctx context.Context, id string) (Resource, error) {
	r, err := scanResource(db.read.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// SeededFrom lists the sandboxes seeded from resource id, newest first.
func (db *DB) SeededFrom(ctx context.Context, id string) ([]Resource, error) {
	return collectResources(db.read.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resources
		WHERE sandbox = 1 AND json_extract(data, '$.metadata.osp_seed_from') = ? ORDER BY created_at DESC, id DESC LIMIT 50`, id))
}

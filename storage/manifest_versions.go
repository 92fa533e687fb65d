package storage

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// ServedVersion returns the manifest_version and published_at to serve for provider's manifest
// whose content hashes to hash: the latest stored version when the content is unchanged, else a
// new version numbered one higher, published now. Versions survive restarts (spec/osp.md §3.1).
func (db *DB) ServedVersion(ctx context.Context, provider, hash string, now time.Time) (int, time.Time, error) {
	var version int
	var published time.Time
	err := db.Update(ctx, func(tx *Tx) error {
		var last int
		var lastHash, at string
		err := tx.QueryRowContext(ctx, `SELECT version, content_hash, published_at FROM manifest_versions
			WHERE provider = ? ORDER BY version DESC LIMIT 1`, provider).Scan(&last, &lastHash, &at)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && lastHash == hash {
			version = last
			published, _ = time.Parse(TimeFormat, at)
			return nil
		}
		version, published = last+1, now.UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_versions (provider, version, content_hash, published_at) VALUES (?, ?, ?, ?)`,
			provider, version, hash, published.Format(TimeFormat)); err != nil {
			return err
		}
		tx.Changed("manifest_versions", provider+"/"+strconv.Itoa(version), "insert")
		return nil
	})
	return version, published, err
}

package osp

import (
	"context"
	"errors"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// ExtendTTL moves a live sandbox's expiry d later (and lets the one-hour warning go out again):
// the operator's action on the resource page. It returns an error for a non-positive d or a
// resource without a live TTL, storage.ErrNotFound, or the database's error.
func (s *Engine) ExtendTTL(ctx context.Context, id string, d time.Duration) error {
	if d <= 0 {
		return errors.New("extend by a positive duration")
	}
	return s.db.Update(ctx, func(tx *storage.Tx) error {
		res, err := tx.ResourceByID(ctx, id)
		if err != nil {
			return err
		}
		if res.ExpiresAt == nil || res.Status == "deprovisioned" {
			return errors.New(id + " has no TTL to extend")
		}
		exp := res.ExpiresAt.Add(d)
		res.ExpiresAt, res.UpdatedAt = &exp, s.clock.Now()
		data := decodeData(res)
		data.ExpiringSent = false
		data.TTLSeconds += int(d / time.Second)
		res.Data = encodeData(data)
		if err := tx.PutResource(ctx, res); err != nil {
			return err
		}
		return s.event(ctx, tx, res, "ospbox.ttl_extended", "", s.clock.Now(), map[string]any{
			"expires_at": rfc3339(exp), "extended_by_seconds": int(d / time.Second)})
	})
}

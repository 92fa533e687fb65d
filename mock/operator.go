package mock

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"net/http"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// The UI acts on resources as the sandbox's operator: it sends the provider API the same
// requests an agent would (rotate, change tier, promote, deprovision, read credentials and
// usage), marked by a context value no network request can carry, which authorize accepts in
// place of the resource's token. So the UI goes through exactly the engine the API uses.

type operatorKey struct{}

// AsOperator marks r as the sandbox operator's own request.
func AsOperator(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), operatorKey{}, true))
}

func isOperator(r *http.Request) bool {
	v, _ := r.Context().Value(operatorKey{}).(bool)
	return v
}

// ResourceCost is a resource's cost in the clock's month, from the lines the cost endpoints add up.
func (s *Sandbox) ResourceCost(ctx context.Context, res storage.Resource) (base, metered, total string, currency string, err error) {
	p := s.Snapshot().Provider(res.Provider)
	if p == nil || p.Serving == nil {
		return "0.00", "0.00", "0.00", "USD", nil
	}
	from, to := monthBounds(s.clock.Now())
	lines, err := s.costLines(ctx, p, from, to, func(r storage.Resource) bool { return r.ID == res.ID })
	if err != nil {
		return "", "", "", "", err
	}
	currency = baseCurrency(p)
	b, m := new(big.Rat), new(big.Rat)
	for _, l := range lines {
		b.Add(b, l.base)
		m.Add(m, l.metered)
		currency = l.currency
	}
	return Cents(b), Cents(m), Cents(new(big.Rat).Add(b, m)), currency, nil
}

// ExtendTTL moves a live sandbox's expiry d later (and lets the one-hour warning go out again).
func (s *Sandbox) ExtendTTL(ctx context.Context, id string, d time.Duration) error {
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

// Do serves req in process, as if it had arrived over the network, and returns the status and
// body of the answer: the UI's actions and the MCP tools call the API through it.
func (s *Sandbox) Do(req *http.Request) (int, []byte) {
	rec := &memoryResponse{header: http.Header{}}
	s.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes()
}

// memoryResponse collects a response in memory.
type memoryResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (m *memoryResponse) Header() http.Header { return m.header }

func (m *memoryResponse) WriteHeader(code int) {
	if m.status == 0 {
		m.status = code
	}
}

func (m *memoryResponse) Write(p []byte) (int, error) {
	if m.status == 0 {
		m.status = http.StatusOK
	}
	return m.body.Write(p)
}

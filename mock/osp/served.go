package osp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/mock/kernel"
)

// ProviderState pairs what is on disk with what is being served.
type ProviderState struct {
	Slug    string
	Report  manifests.Report // the file on disk as last read
	Serving *Served          // last good version; nil when the file never validated
}

// Served is a validated manifest with its published identity.
type Served struct {
	Manifest    *manifests.OSPManifest
	Version     int
	PublishedAt time.Time
	LoadedAt    time.Time
	key         manifests.SigningKey
	bodies      sync.Map // servedKey → *kernel.Document
	cached      atomic.Int32
}

type servedKey struct{ mount, style string }

// KeyID is the id of the key the served copy is signed with.
func (sv *Served) KeyID() string { return sv.key.KeyID }

// Stale reports whether the provider serves an older version than the file on disk.
func (p *ProviderState) Stale() bool { return p.Serving != nil && !p.Report.Valid }

// body renders (once per mount and style) the signed served manifest.
func (sv *Served) body(mount, style string) *kernel.Document {
	k := servedKey{mount, style}
	if b, ok := sv.bodies.Load(k); ok {
		return b.(*kernel.Document)
	}
	n := manifests.ServedManifest(sv.Manifest, manifests.ServeOptions{
		MountURL: mount, Version: sv.Version, PublishedAt: sv.PublishedAt, Style: style, Key: sv.key,
	})
	body := jsondoc.Indent(n)
	sum := sha256.Sum256(body)
	b := kernel.NewDocument(body, `"`+strconv.Itoa(sv.Version)+"-"+hex.EncodeToString(sum[:])[:16]+`"`)
	if sv.cached.Add(1) > kernel.MaxCachedBodies {
		return b
	}
	actual, _ := sv.bodies.LoadOrStore(k, b)
	return actual.(*kernel.Document)
}

// Install publishes a valid manifest: same content keeps its version (old is returned), new
// content gets the next, signed with the provider's key. The host calls it on reload; it returns
// the database's or the key store's error.
func (s *Engine) Install(ctx context.Context, m *manifests.OSPManifest, old *Served) (*Served, error) {
	sum := sha256.Sum256(jsondoc.Canonical(m.Doc.Root))
	hash := hex.EncodeToString(sum[:])
	version, published, err := s.db.ServedVersion(ctx, m.Slug, hash, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if old != nil && old.Version == version {
		return old, nil
	}
	key, err := s.ws.ProviderKey(m.Slug)
	if err != nil {
		return nil, err
	}
	return &Served{Manifest: m, Version: version, PublishedAt: published, LoadedAt: s.clock.Now(), key: key}, nil
}

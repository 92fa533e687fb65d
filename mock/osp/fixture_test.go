package osp_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/storage"
)

// fixture is a whole sandbox on the sample workspace, served over loopback HTTP: the OSP
// engine's external tests drive it as an agent would.
type fixture struct {
	sb  *mocktest.Sandbox
	db  *storage.DB
	dir string
	srv *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sb := mocktest.New(t)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &fixture{sb: sb, db: sb.DB, dir: sb.Dir, srv: srv}
}

type agent = agenttest.Agent

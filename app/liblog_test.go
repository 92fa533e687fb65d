package app

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestLibraryLogs: a library's warning becomes debug (shown only at debug level); ospbox's own
// records pass at their level.
func TestLibraryLogs(t *testing.T) {
	if !demoted("/root/go/pkg/mod/github.com/zitadel/oidc/v3@v3.52.0/pkg/op/error.go") || demoted("/work/main/app/app.go") {
		t.Fatal("demoted decides by module path")
	}
	var buf bytes.Buffer
	h := LibraryLogs(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	own := slog.NewRecord(time.Now(), slog.LevelWarn, "ours", pcs[0])
	if err := h.Handle(context.Background(), own); err != nil || !strings.Contains(buf.String(), "level=WARN msg=ours") {
		t.Errorf("ospbox's own warning: %q %v", buf.String(), err)
	}
	if !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("warnings must reach Handle")
	}
}

package app

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
)

// LibraryLogs is the process's default slog handler: libraries that log through slog's default
// logger (zitadel/oidc's authorization server logs every refused OAuth request as a warning or an
// error) write in ospbox's format and settings, and their records are demoted to debug, since
// the refusal is already in the answer and the request log. ospbox's own records pass unchanged.
func LibraryLogs(h slog.Handler) slog.Handler { return libraryLogs{h} }

type libraryLogs struct{ h slog.Handler }

// demotedModules are the libraries whose log records are debug for ospbox's user.
var demotedModules = []string{"/github.com/zitadel/"}

func demoted(file string) bool {
	for _, m := range demotedModules {
		if strings.Contains(file, m) {
			return true
		}
	}
	return false
}

func (l libraryLogs) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level) || l.h.Enabled(ctx, slog.LevelDebug)
}

func (l libraryLogs) Handle(ctx context.Context, r slog.Record) error {
	if r.PC != 0 {
		frame, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		if demoted(frame.File) {
			r.Level = slog.LevelDebug
		}
	}
	if !l.h.Enabled(ctx, r.Level) {
		return nil
	}
	return l.h.Handle(ctx, r)
}

func (l libraryLogs) WithAttrs(as []slog.Attr) slog.Handler { return libraryLogs{l.h.WithAttrs(as)} }
func (l libraryLogs) WithGroup(name string) slog.Handler    { return libraryLogs{l.h.WithGroup(name)} }

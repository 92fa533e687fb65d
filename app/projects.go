package app

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ospbox/ospbox/mock/orchestrator"
	"github.com/ospbox/ospbox/mock/projects"
)

// Projects is `ospbox projects`'s client (package projects), named here so the command line
// needs only app.
type Projects = projects.Client

// CapSpend is one cap's line of /orchestrator/v1/spend.
type CapSpend = orchestrator.CapSpend

// ProjectsClient is `ospbox projects`'s client of the ospbox at target, or, when target is "",
// of the ospbox serving the workspace (the per-user one by default), else 127.0.0.1:7410.
func ProjectsClient(target, workspace string, wait time.Duration, progress io.Writer) *projects.Client {
	if target == "" {
		target = RunningTarget(workspace)
	}
	c := &projects.Client{Target: target, Wait: wait}
	if progress != nil {
		c.Log = func(format string, a ...any) { fmt.Fprintf(progress, "ospbox projects: "+format+"\n", a...) }
	}
	return c
}

// RunningTarget is the base URL of the ospbox serving workspace ("": the per-user one), or the
// default address when none serves it.
func RunningTarget(workspace string) string {
	dir, err := workspaceDir(Config{Workspace: workspace})
	if _, serr := os.Stat(lockFile(dir)); err == nil && serr == nil {
		if lock, lerr := lockWorkspace(dir); lerr != nil {
			if url := holderURL(dir); url != "" {
				return url
			}
		} else {
			lock.release()
		}
	}
	return "http://" + DefaultListen
}

//go:build !unix

package app

import (
	"os"
	"os/exec"
)

// tryLock has no advisory lock to take here: the second process is not refused.
func tryLock(*os.File) error { return nil }

// relaunch starts args as a new process (the desktop app opening another workspace); this one
// then ends.
func relaunch(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Start()
}

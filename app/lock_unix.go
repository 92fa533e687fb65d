//go:build unix

package app

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive advisory lock on f without waiting; the kernel drops it when the
// process ends, however it ends.
func tryLock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) }

// relaunch replaces this process with args (the desktop app opening another workspace): the same
// process id, so a terminal or a supervisor keeps following it.
func relaunch(args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, args, os.Environ())
}

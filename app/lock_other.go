//go:build !unix

package app

import "os"

// tryLock has no advisory lock to take here: the second process is not refused.
func tryLock(*os.File) error { return nil }

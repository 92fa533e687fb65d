package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The profiles BENCHMARKS.md takes of a server under load: both files are gzipped pprof
// profiles once the run ends.
func TestProfileEnvironmentVariablesWriteProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, allocs := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "allocs.prof")
	t.Setenv("OSPBOX_CPUPROFILE", cpu)
	t.Setenv("OSPBOX_ALLOCSPROFILE", allocs)
	startCPUProfile()()
	writeAllocsProfile()
	for _, path := range []string{cpu, allocs} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzipped profile (%d bytes)", filepath.Base(path), len(b))
		}
	}
}

package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var hostLine = regexp.MustCompile(`sandbox host\s+(http://127\.0\.0\.1:\d+)`)

// timeToFirstManifest starts a server binary and measures from exec to the first 200 on
// /.well-known/osp.json, polling every 2 ms once the process has printed its address. It
// returns that duration and the process's RSS at that moment.
func timeToFirstManifest(b *testing.B, bin string, args ...string) (time.Duration, int) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=")
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	base := ""
	for sc.Scan() {
		if m := hostLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		b.Fatalf("%s printed no address", bin)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	for {
		resp, err := http.Get(base + "/.well-known/osp.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), rssKiB(cmd.Process.Pid)
			}
		}
		if time.Since(start) > 30*time.Second {
			b.Fatalf("%s: no 200 within 30s", bin)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func rssKiB(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkStartupToFirstManifest alternates the real ospbox binary (fresh workspace each time,
// so it seeds, migrates and signs) with the baseline server, and reports both medians and the
// ratio. Run with -benchtime=10x for the median of 10.
func BenchmarkStartupToFirstManifest(b *testing.B) {
	dir := b.TempDir()
	ospbox := filepath.Join(dir, "ospbox")
	baseline := filepath.Join(dir, "baseline")
	for bin, pkg := range map[string]string{ospbox: ".", baseline: "./testdata/baseline"} {
		if out, err := exec.Command("go", "build", "-ldflags", "-s -w", "-o", bin, pkg).CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	var ours, base []time.Duration
	var oursRSS, baseRSS int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, rss := timeToFirstManifest(b, baseline)
		base, baseRSS = append(base, d), rss
		d, rss = timeToFirstManifest(b, ospbox, "serve", "--workspace", filepath.Join(dir, "ws"+strconv.Itoa(i)), "--addr", "127.0.0.1:0")
		ours, oursRSS = append(ours, d), rss
	}
	b.StopTimer()
	mo, mb := median(ours), median(base)
	b.ReportMetric(float64(mo.Microseconds())/1000, "ospbox-ms")
	b.ReportMetric(float64(mb.Microseconds())/1000, "baseline-ms")
	b.ReportMetric(float64(mo)/float64(mb), "ratio")
	b.ReportMetric(float64(oursRSS)/1024, "ospbox-rss-MiB")
	b.ReportMetric(float64(baseRSS)/1024, "baseline-rss-MiB")
}

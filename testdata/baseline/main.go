// Command baseline is the yardstick for ospbox's startup benchmark: the smallest Go program that
// answers GET /.well-known/osp.json with a fixed JSON body on a loopback port. ospbox's figures are
// reported as ratios against it, measured in the same run.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body := []byte(`{"osp_version":"1.0","provider_id":"baseline.example"}`)
	http.HandleFunc("/.well-known/osp.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	fmt.Printf("  sandbox host  http://%s\n", l.Addr())
	http.Serve(l, nil)
}

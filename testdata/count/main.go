// Command count prints how many resources a state database holds (for scripts/load.sh).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ospbox/ospbox/storage"
)

func main() {
	db, err := storage.Open(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer db.Close()
	c, err := db.Counts(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(c.Resources)
}

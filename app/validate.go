package app

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ospbox/ospbox/manifests"
)

// Exit codes of ospbox validate.
const (
	ValidateClean  = 0 // no errors (warnings allowed)
	ValidateErrors = 1 // at least one error
	ValidateFailed = 2 // usage or I/O failure
)

// ValidateOptions is what `ospbox validate` was asked.
type ValidateOptions struct {
	Paths   []string // files or folders; none means the current folder if it is a workspace, else the default workspace
	Format  string   // text, json or sarif
	Colour  bool
	Version string
	Out     io.Writer
	Err     io.Writer
}

// Validate checks manifests without starting a server and returns the process exit code.
func Validate(o ValidateOptions) int {
	if o.Format == "" {
		o.Format = "text"
	}
	if o.Format != "text" && o.Format != "json" && o.Format != "sarif" {
		fmt.Fprintf(o.Err, "ospbox validate: --format must be text, json or sarif, not %q\n", o.Format)
		return ValidateFailed
	}
	paths := o.Paths
	if len(paths) == 0 {
		if _, err := os.Stat(manifests.ConfigFile); err == nil {
			paths = []string{"."}
		} else if _, err := os.Stat(manifests.ProvidersDir); err == nil {
			paths = []string{"."}
		} else {
			dir, err := manifests.DefaultDir()
			if err != nil {
				fmt.Fprintln(o.Err, "ospbox validate:", err)
				return ValidateFailed
			}
			paths = []string{dir}
		}
	}
	reports, err := manifests.ValidatePaths(paths)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			fmt.Fprintf(o.Err, "ospbox validate: %s: %v\n", pe.Path, pe.Err)
		} else {
			fmt.Fprintln(o.Err, "ospbox validate:", err)
		}
		return ValidateFailed
	}
	switch o.Format {
	case "json":
		err = manifests.WriteJSON(o.Out, reports)
	case "sarif":
		err = manifests.WriteSARIF(o.Out, reports, o.Version)
	default:
		manifests.WriteText(o.Out, reports, o.Colour)
	}
	if err != nil {
		fmt.Fprintln(o.Err, "ospbox validate:", err)
		return ValidateFailed
	}
	if manifests.Count(reports).Errors > 0 {
		return ValidateErrors
	}
	return ValidateClean
}

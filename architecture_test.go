package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The layout's rules (README, Code; DESIGN.md, Inside mock/): who may import whom, how many
// methods a type may carry, how long a file may grow. Each rule names the packages it governs
// (relative to the module; "x/..." is x and everything under it) and the packages of ours they
// may not import, or the only ones they may.

const module = "github.com/ospbox/ospbox"

type importRule struct {
	pkgs []string // governed packages
	// allowed, when set, is the complete list of our packages the governed ones may import;
	// forbidden lists what they may not. A package never violates a rule by importing itself.
	allowed, forbidden []string
	why                string
}

// The protocol engines, and the orchestrator, which is a party of its own with the same rules.
var protocols = []string{"mock/osp", "mock/bsp", "mock/oap", "mock/orchestrator"}

var importRules = []importRule{
	{pkgs: protocols, allowed: []string{"mock/kernel", "mock/authserver", "manifests/...", "storage/..."},
		why: "a protocol package may import only the kernel, the providers' authorization server, manifests and storage: never another protocol or the host"},
	{pkgs: []string{"mock/authserver"}, allowed: []string{"mock/kernel", "manifests/...", "storage/..."},
		why: "the authorization server is a part a provider mounts: it knows no protocol and no host"},
	{pkgs: []string{"mock/kernel"}, allowed: []string{"manifests/...", "storage/..."},
		why: "the kernel may import only manifests and storage"},
	{pkgs: []string{"storage/...", "manifests/..."}, forbidden: []string{"mock/...", "frontend/...", "app/..."},
		why: "storage and manifests import nothing of mock, frontend or app"},
	{pkgs: []string{"mock/..."}, forbidden: []string{"frontend/...", "app/..."},
		why: "mock imports nothing of frontend or app"},
	{pkgs: []string{"mock"}, forbidden: []string{"mock/check", "mock/demo", "mock/mcptools", "mock/mocktest"},
		why: "the host does not import its own clients"},
	{pkgs: []string{"ospboxtest"}, forbidden: []string{"frontend/...", "app/..."},
		why: "ospboxtest, the Go test helper, runs the sandbox alone: no UI, no app"},
	{pkgs: []string{"mock/scenario"}, allowed: []string{"manifests/...", "storage/..."},
		why: "scenario rules know requests, not protocols: the host carries their effects out"},
	{pkgs: []string{"lsp"}, allowed: []string{"manifests/..."},
		why: "the language server reuses the validator as it is: manifests only, no sandbox, no UI"},
	{pkgs: []string{"mock/agenttest"}, allowed: []string{},
		why: "agenttest imports nothing of ospbox, so every test package may use it"},
}

// matches reports whether pkg (module-relative) is named by pattern ("x" or "x/...").
func matches(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchesAny(patterns []string, pkg string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, pkg) })
}

// ourImports lists each of our packages with the packages of ours it imports (tests excluded:
// an external test may drive the whole sandbox).
func ourImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return parseImports(out)
}

func parseImports(listing []byte) map[string][]string {
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(listing))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg := relative(fields[0])
		deps[pkg] = nil
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module+"/") || imp == module {
				deps[pkg] = append(deps[pkg], relative(imp))
			}
		}
	}
	return deps
}

func relative(importPath string) string {
	if importPath == module {
		return "."
	}
	return strings.TrimPrefix(importPath, module+"/")
}

// violations names every import that breaks a rule.
func violations(deps map[string][]string) []string {
	var out []string
	for pkg, imports := range deps {
		for _, rule := range importRules {
			if !matchesAny(rule.pkgs, pkg) {
				continue
			}
			for _, imp := range imports {
				if imp == pkg {
					continue
				}
				bad := rule.forbidden != nil && matchesAny(rule.forbidden, imp) ||
					rule.allowed != nil && !matchesAny(rule.allowed, imp)
				if bad {
					out = append(out, fmt.Sprintf("%s imports %s: %s", pkg, imp, rule.why))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestArchitectureImports(t *testing.T) {
	deps := ourImports(t)
	for _, want := range append([]string{"mock", "mock/kernel", "storage", "manifests", "lsp"}, protocols...) {
		if _, ok := deps[want]; !ok {
			t.Fatalf("go list did not report %s; the rules would check nothing", want)
		}
	}
	for _, v := range violations(deps) {
		t.Error(v)
	}
}

// TestArchitectureRulesCatchWrongImports feeds the rules a listing with one wrong import of each
// kind, so a rule that stopped matching fails here rather than passing silently.
func TestArchitectureRulesCatchWrongImports(t *testing.T) {
	for listing, want := range map[string]string{
		module + "/mock/osp " + module + "/mock/bsp":          "mock/osp imports mock/bsp",
		module + "/mock/bsp " + module + "/mock":              "mock/bsp imports mock",
		module + "/mock/oap " + module + "/mock/check":        "mock/oap imports mock/check",
		module + "/mock/kernel " + module + "/mock/osp":       "mock/kernel imports mock/osp",
		module + "/storage " + module + "/mock/kernel":        "storage imports mock/kernel",
		module + "/manifests/jsondoc " + module + "/frontend": "manifests/jsondoc imports frontend",
		module + "/mock " + module + "/frontend":              "mock imports frontend",
		module + "/mock/demo " + module + "/app":              "mock/demo imports app",
		module + "/mock " + module + "/mock/mocktest":         "mock imports mock/mocktest",
		module + "/lsp " + module + "/app":                    "lsp imports app",
	} {
		got := violations(parseImports([]byte(listing)))
		if len(got) == 0 || !strings.HasPrefix(got[0], want+":") {
			t.Errorf("%s: violations %q, want one naming %q", listing, got, want)
		}
	}
	fine := module + "/mock/osp " + module + "/mock/kernel " + module + "/manifests/jsondoc " + module + "/storage\n" +
		module + "/mock " + module + "/mock/osp " + module + "/mock/bsp " + module + "/mock/oap"
	if got := violations(parseImports([]byte(fine))); len(got) > 0 {
		t.Errorf("allowed imports reported: %q", got)
	}
}

// maxMethods and maxFileLines bound a type's methods (exported types in mock/...) and a
// hand-written file's length anywhere in the repository.
const maxMethods, maxFileLines = 40, 700

func TestArchitectureSizes(t *testing.T) {
	files, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "*.go").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	methods := map[string]int{} // dir.Type → methods
	fset := token.NewFileSet()
	for _, path := range strings.Fields(string(files)) {
		src, err := os.ReadFile(path)
		if err != nil {
			continue // deleted in the work tree
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if ast.IsGenerated(f) {
			continue
		}
		if n := bytes.Count(src, []byte("\n")); n > maxFileLines {
			t.Errorf("%s has %d lines; split it by concept (at most %d outside generated code)", path, n, maxFileLines)
		}
		if !strings.HasPrefix(path, "mock/") || strings.HasSuffix(path, "_test.go") {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
				methods[filepath.Dir(path)+"."+id.Name]++
			}
		}
	}
	if len(methods) == 0 {
		t.Fatal("no methods found under mock/: the check would pass on nothing")
	}
	for typ, n := range methods {
		if n > maxMethods {
			t.Errorf("%s has %d methods; at most %d: give part of its work its own type", typ, n, maxMethods)
		}
	}
}

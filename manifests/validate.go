package manifests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// ProtocolOf infers a manifest's protocol from its root key (spec/README.md, Validator report):
// oap → OAP, BSP/bsp/best → BSP, anything else → OSP.
func ProtocolOf(data []byte) string {
	doc, err := jsondoc.Parse(data)
	if err != nil || doc.Root.Kind != jsondoc.Object || len(doc.Root.Members) != 1 {
		return "osp"
	}
	switch doc.Root.Members[0].Name {
	case "oap":
		return "oap"
	case "BSP", "bsp", "best":
		return "bsp"
	}
	return "osp"
}

// ValidateData validates one manifest's bytes; protocol "" infers it. file names the manifest in
// the report.
func ValidateData(file, protocol string, data []byte) Report {
	if protocol == "" {
		protocol = ProtocolOf(data)
	}
	switch protocol {
	case "bsp":
		return ParseBSP(file, data).Report
	case "oap":
		return ParseOAP(file, data).Report
	default:
		slug := filepath.Base(filepath.Dir(file))
		_, rep := ParseOSP(slug, file, data)
		return rep
	}
}

// ValidateWorkspace validates every manifest a workspace serves, in a stable order.
func (w *Workspace) ValidateWorkspace() ([]Report, error) {
	slugs, err := w.ProviderSlugs()
	if err != nil {
		return nil, err
	}
	var out []Report
	if data, err := os.ReadFile(filepath.Join(w.Dir, ConfigFile)); err == nil {
		out = append(out, w.ValidateText(ConfigFile, data))
	}
	for _, slug := range slugs {
		_, rep := w.LoadOSP(slug)
		out = append(out, rep)
	}
	for _, s := range []Surface{w.LoadBSP(), w.LoadOAP()} {
		if s.Present {
			out = append(out, s.Report)
		}
		out = append(out, s.Related...)
	}
	for _, f := range w.LoadScenarios() {
		out = append(out, f.Report)
	}
	return out, nil
}

// ValidatePaths validates files and workspaces named on a command line. A folder with an
// ospbox.json or a providers/ folder is a workspace; any other folder is searched for *.json
// manifests; a file is validated on its own. Report file names are the paths as given (joined
// with the workspace-relative name for workspaces).
func ValidatePaths(paths []string) ([]Report, error) {
	var out []Report
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, ValidateData(filepath.ToSlash(p), "", data))
			continue
		}
		if isWorkspace(p) {
			w, err := OpenWorkspace(p)
			if err != nil {
				return nil, err
			}
			reps, err := w.ValidateWorkspace()
			if err != nil {
				return nil, err
			}
			for _, r := range reps {
				r = prefixReport(r, p)
				out = append(out, r)
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && skipDir(filepath.Base(path)) {
				return filepath.SkipDir
			}
			if !d.IsDir() && filepath.Ext(path) == ".json" {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no workspace (ospbox.json or providers/) and no .json files", p)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			out = append(out, ValidateData(filepath.ToSlash(f), "", data))
		}
	}
	return out, nil
}

func isWorkspace(dir string) bool {
	for _, marker := range []string{ConfigFile, ProvidersDir} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return true
		}
	}
	return false
}

// prefixReport rewrites a workspace-relative report to be relative to where the user pointed.
func prefixReport(r Report, dir string) Report {
	if dir == "." || dir == "" {
		return r
	}
	join := func(f string) string { return filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(f))) }
	r.File = join(r.File)
	fix := func(ds []Diagnostic) []Diagnostic {
		out := make([]Diagnostic, len(ds))
		for i, d := range ds {
			d.File = join(d.File)
			out[i] = d
		}
		return out
	}
	r.Errors, r.Warnings = fix(r.Errors), fix(r.Warnings)
	return r
}

// SettingsFile validates ospbox.json: strict JSON and the settings ospbox reads.
func SettingsFile(file string, data []byte) Report {
	r := newReporter(file, "settings")
	if r.parse(data) {
		if _, err := decodeConfig(data); err != nil {
			r.at(SeverityError, "", "settings", err.Error())
		}
		r.checkSettingKeys(r.doc.Root)
	}
	return r.finish()
}

// ValidateText validates the (possibly unsaved) text of one workspace file with everything the
// workspace knows: the BSP catalogue for bsp/manifest.json, the OAP manifest for agent side
// files. rel is workspace-relative with forward slashes.
func (w *Workspace) ValidateText(rel string, data []byte) Report {
	switch {
	case rel == ConfigFile:
		rep := SettingsFile(rel, data)
		w.checkProviderNames(data, &rep)
		return rep
	case IsScenarioFile(rel):
		return CheckScenarioFile(rel, data).Report
	case strings.HasPrefix(rel, ProvidersDir+"/") && strings.HasSuffix(rel, "/osp.json"):
		slug := strings.TrimSuffix(strings.TrimPrefix(rel, ProvidersDir+"/"), "/osp.json")
		_, rep := ParseOSP(slug, rel, data)
		w.checkServedBaseURL(slug, data, &rep)
		return rep
	case rel == BSPManifest:
		return parseBSP(rel, data, w.LoadCatalog("bsp")).Report
	case rel == OAPManifest:
		return ParseOAP(rel, data).Report
	case isOAPSideFile(rel):
		oap := w.LoadOAP()
		return checkOAPSideFile(rel, data, nil, oapAgents(oap.Doc))
	case strings.HasPrefix(rel, "bsp/"):
		parts := strings.Split(rel, "/")
		if len(parts) == 4 && (parts[1] == "commands" || parts[1] == "events" || parts[1] == "queries") {
			_, rep := checkSchemaDocument(parts[1], parts[2], rel, data, nil)
			return rep
		}
	}
	return ValidateData(rel, "", data)
}

// IsWorkspaceFile reports whether rel (workspace-relative, forward slashes) is a file ospbox reads
// from a workspace: ospbox.json, a provider's osp.json, JSON under bsp/ and oap/, a scenario file.
func IsWorkspaceFile(rel string) bool {
	parts := strings.Split(rel, "/")
	switch {
	case rel == ConfigFile, IsScenarioFile(rel):
		return true
	case len(parts) == 3 && parts[0] == ProvidersDir && parts[2] == "osp.json":
		return true
	}
	return (parts[0] == "bsp" || parts[0] == "oap") && len(parts) > 1 && strings.HasSuffix(rel, ".json")
}

// EditableFiles lists the workspace files ospbox reads, workspace-relative, sorted: settings,
// provider manifests, and everything JSON under bsp/ and oap/.
func (w *Workspace) EditableFiles() []string {
	var out []string
	if _, err := os.Stat(filepath.Join(w.Dir, ConfigFile)); err == nil {
		out = append(out, ConfigFile)
	}
	slugs, _ := w.ProviderSlugs()
	for _, s := range slugs {
		out = append(out, OSPPath(s))
	}
	for _, top := range []string{"bsp", "oap", ScenariosDir} {
		var files []string
		filepath.WalkDir(filepath.Join(w.Dir, top), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
				rel, _ := filepath.Rel(w.Dir, path)
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		sort.Strings(files)
		out = append(out, files...)
	}
	return out
}

// ErrOutsideWorkspace is returned for a path the editor may not touch.
var ErrOutsideWorkspace = errors.New("not a workspace manifest file")

// ResolveFile turns a workspace-relative path from a client into an absolute path, refusing
// anything outside the workspace, inside .ospbox/, or not a .json file.
func (w *Workspace) ResolveFile(rel string) (string, error) {
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(rel)))
	if rel == "" || filepath.IsAbs(rel) || strings.HasPrefix(clean, "../") || clean == ".." || strings.Contains(rel, "\\") ||
		!strings.HasSuffix(clean, ".json") || clean == StateDir || strings.HasPrefix(clean, StateDir+"/") || clean != rel {
		return "", ErrOutsideWorkspace
	}
	return filepath.Join(w.Dir, filepath.FromSlash(clean)), nil
}

package manifests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Surface summarises a BSP/BEST or OAP manifest for the Overview: what it declares, not how it
// behaves. Nil Doc means the file is absent or did not parse.
type Surface struct {
	Protocol     string // "bsp" or "oap"
	File         string
	Present      bool
	RootKey      string
	Version      string
	Generation   string // BSP only: 0.6, 0.8, 0.9
	Services     []string
	Capabilities []string
	Agents       []string
	Report       Report
	// Doc is the parsed file when it has no errors; only then may it be served.
	Doc *jsondoc.Document
	// Related are the reports of the files beside the manifest: BSP schema documents, OAP
	// agent rules and memory files.
	Related []Report
	// Catalog is the BSP command, event and query catalogue (nil for OAP).
	Catalog *Catalog
	// Tenant is the tenant id of a BSP tenant manifest ("" for the root manifest).
	Tenant string
	// Tenants are the root manifest's tenant manifests, bsp/tenants/<id>/manifest.json, by id.
	Tenants []Surface
}

var tenantIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// loadTenants reads bsp/tenants/<id>/manifest.json with each tenant's catalogue (spec/bsp.md
// §3.1, §4.3).
func (w *Workspace) loadTenants(root Surface) []Surface {
	dirs, err := os.ReadDir(filepath.Join(w.Dir, "bsp", "tenants"))
	if err != nil {
		return nil
	}
	var out []Surface
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		id := d.Name()
		dir := "bsp/tenants/" + id
		cat := w.LoadCatalog(dir)
		t := w.loadSurface("bsp", dir+"/manifest.json", func(file string, data []byte) Surface {
			t := parseBSP(file, data, cat)
			var extra []Diagnostic
			if !tenantIDPattern.MatchString(id) {
				extra = append(extra, Diagnostic{File: file, Rule: "tenant_id", Severity: SeverityError, Message: fmt.Sprintf("tenant folder %q is not a tenant id (letters, digits, '.', '_', '-'; at most 128)", id)})
			}
			if t.Doc != nil && t.Doc.Root.Members[0].Value.Has("tenants") {
				extra = append(extra, Diagnostic{File: file, Pointer: "/" + t.RootKey + "/tenants", Rule: "tenants_in_tenant_manifest", Severity: SeverityError, Message: "a tenant manifest cannot declare tenants of its own"})
			}
			if root.Generation != "" && t.Generation != "" && t.Generation != root.Generation {
				extra = append(extra, Diagnostic{File: file, Rule: "tenant_generation_mismatch", Severity: SeverityError, Message: fmt.Sprintf("the root manifest is generation %s, this tenant manifest %s; they must match", root.Generation, t.Generation)})
			}
			if len(extra) > 0 {
				t.Report.Errors = append(t.Report.Errors, extra...)
				t.Report.Valid, t.Doc = false, nil
			}
			return t
		})
		if !t.Present {
			continue
		}
		t.Tenant, t.Catalog, t.Related = id, cat, cat.Reports
		out = append(out, t)
	}
	return out
}

var semverPattern = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// LoadBSP reads bsp/manifest.json with its schema documents and recognises its generation
// (spec/bsp.md §1.1).
func (w *Workspace) LoadBSP() Surface {
	cat := w.LoadCatalog("bsp")
	s := w.loadSurface("bsp", BSPManifest, func(file string, data []byte) Surface { return parseBSP(file, data, cat) })
	s.Catalog, s.Related = cat, cat.Reports
	s.Tenants = w.loadTenants(s)
	for _, t := range s.Tenants {
		s.Related = append(append(s.Related, t.Report), t.Related...)
	}
	return s
}

// LoadOAP reads oap/manifest.json and the agent side files (spec/oap.md §1–2).
func (w *Workspace) LoadOAP() Surface {
	s := w.loadSurface("oap", OAPManifest, ParseOAP)
	if s.Present {
		var doc *jsondoc.Document
		if s.Doc != nil {
			doc = s.Doc
		}
		s.Related = w.LoadOAPSideFiles(doc)
	}
	return s
}

// ParseBSP validates a BSP/BEST manifest on its own (without the workspace's catalogue) and
// recognises its generation.
func ParseBSP(file string, data []byte) Surface { return parseBSP(file, data, nil) }

func parseBSP(file string, data []byte, cat *Catalog) Surface {
	s, r := parseSurface("bsp", file, data)
	if r == nil {
		return s
	}
	root := r.doc.Root
	body := r.singleRoot(root, "BSP", "bsp", "best")
	if body == nil {
		s.Report = r.finish()
		return s
	}
	s.RootKey = root.Members[0].Name
	s.Version = body.Str("version")
	major, minor := "", ""
	if semverPattern.MatchString(s.Version) {
		parts := strings.Split(s.Version, ".")
		major, minor = parts[0], parts[1]
	} else {
		r.at(SeverityError, "/"+s.RootKey+"/version", "version_invalid", "version must be MAJOR.MINOR.PATCH, e.g. \"0.8.1\"")
	}
	mm := major + "." + minor
	switch s.RootKey {
	case "best":
		s.Generation = "0.9"
	case "BSP":
		s.Generation = "0.6"
	default:
		switch {
		case mm == "0.5" || mm == "0.6":
			s.Generation = "0.6"
		case mm == "0.7" || mm == "0.8" || major == "":
			s.Generation = "0.8"
		default:
			s.Generation = "0.8"
			r.at(SeverityError, "/bsp", "root_key_mismatch", "BEST manifests (0.9 and later) use the root key \"best\"")
		}
	}
	gen := s.Generation
	r.rep.Generation = &gen // the report finish builds carries them
	r.rep.DeclaredVersion = s.Version
	r.checkSchema("bsp/"+gen+".json", root)
	r.bspRules(&s, body, cat)
	s.fill(body)
	return s.finish(r)
}

// ParseOAP validates an OAP 2025-07-01 manifest.
func ParseOAP(file string, data []byte) Surface {
	s, r := parseSurface("oap", file, data)
	if r == nil {
		return s
	}
	root := r.doc.Root
	body := r.singleRoot(root, "oap")
	if body == nil {
		s.Report = r.finish()
		return s
	}
	s.RootKey = "oap"
	s.Version = body.Str("version")
	r.rep.DeclaredVersion = s.Version
	later := r.laterRevision(body)
	r.checkSchema("oap/2025-07-01.json", root)
	r.dropFindings(later, "unknown_member", "enum")
	r.oapRules(body)
	s.fill(body)
	return s.finish(r)
}

func (s Surface) finish(r *reporter) Surface {
	s.Report = r.finish()
	if s.Report.Valid {
		s.Doc = r.doc
	}
	return s
}

// loadSurface reads one surface manifest; an absent file is a Surface with Present false.
func (w *Workspace) loadSurface(protocol, rel string, parse func(string, []byte) Surface) Surface {
	data, err := os.ReadFile(filepath.Join(w.Dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return Surface{Protocol: protocol, File: rel, Report: newReporter(rel, protocol).finish()}
	}
	if err != nil {
		r := newReporter(rel, protocol)
		r.at(SeverityError, "", "unreadable", err.Error())
		return Surface{Protocol: protocol, File: rel, Present: true, Report: r.finish()}
	}
	return parse(rel, data)
}

// parseSurface parses a surface manifest; the reporter is nil when there is nothing further to
// check.
func parseSurface(protocol, file string, data []byte) (Surface, *reporter) {
	s := Surface{Protocol: protocol, File: file, Present: true}
	r := newReporter(file, protocol)
	if !r.parse(data) {
		s.Report = r.finish()
		return s, nil
	}
	return s, r
}

func (r *reporter) singleRoot(root *jsondoc.Node, keys ...string) *jsondoc.Node {
	if len(root.Members) != 1 || !contains(keys, root.Members[0].Name) {
		r.at(SeverityError, "", "root_key", "the manifest must be an object with exactly one member: "+strings.Join(keys, " or "))
		return nil
	}
	body := root.Members[0].Value
	if body.Kind != jsondoc.Object {
		r.at(SeverityError, "/"+root.Members[0].Name, "type", "the root member must be an object")
		return nil
	}
	return body
}

func (s *Surface) fill(body *jsondoc.Node) {
	if svc := body.Get("services"); svc != nil {
		for _, m := range svc.Members {
			s.Services = append(s.Services, m.Name)
		}
	}
	if caps := body.Get("capabilities"); caps != nil {
		for _, c := range caps.Items {
			s.Capabilities = append(s.Capabilities, c.Str("name"))
		}
	}
	if ag := body.Get("agents"); ag != nil {
		for _, a := range ag.Items {
			s.Agents = append(s.Agents, a.Str("id"))
		}
	}
}

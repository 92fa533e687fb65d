package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// SignResult says what Sign did.
type SignResult struct {
	File  string
	KeyID string
}

// Sign signs the authored OSP manifest of a workspace provider in place with the provider's
// workspace key (Ed25519 over canonical JSON, spec/osp.md §2.8): provider_public_key,
// provider_key_id and provider_signature are set and the file is rewritten atomically with
// two-space indentation, member order kept. target is a provider slug or the path of
// providers/<slug>/osp.json. A manifest with errors other than its signature is not signed.
func Sign(workspace, target string) (SignResult, error) {
	slug := target
	if strings.HasSuffix(target, ".json") {
		abs, err := filepath.Abs(target)
		if err != nil {
			return SignResult{}, err
		}
		slug = filepath.Base(filepath.Dir(abs))
		if workspace == "" {
			workspace = filepath.Dir(filepath.Dir(filepath.Dir(abs)))
		}
	}
	if workspace == "" {
		d, err := manifests.DefaultDir()
		if err != nil {
			return SignResult{}, err
		}
		workspace = d
	}
	ws, err := manifests.OpenWorkspace(workspace)
	if err != nil {
		return SignResult{}, err
	}
	path := filepath.Join(ws.Dir, filepath.FromSlash(manifests.OSPPath(slug)))
	data, err := os.ReadFile(path)
	if err != nil {
		return SignResult{}, fmt.Errorf("no provider %q in %s: %w", slug, ws.Dir, err)
	}
	_, rep := manifests.ParseOSP(slug, manifests.OSPPath(slug), data)
	for _, e := range rep.Errors {
		if e.Rule != "signature_invalid" && e.Rule != "signature_incomplete" {
			return SignResult{}, fmt.Errorf("%s has errors; fix them before signing (first: %d:%d %s)", path, e.Line, e.Column, e.Message)
		}
	}
	doc, err := jsondoc.Parse(data)
	if err != nil {
		return SignResult{}, err
	}
	key, err := ws.ProviderKey(slug)
	if err != nil {
		return SignResult{}, err
	}
	manifests.SignManifest(doc.Root, key)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".osp.json.*")
	if err != nil {
		return SignResult{}, err
	}
	if _, err := tmp.Write(jsondoc.Indent(doc.Root)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return SignResult{}, err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return SignResult{}, err
	}
	if st, err := os.Stat(path); err == nil {
		os.Chmod(tmp.Name(), st.Mode().Perm())
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return SignResult{}, err
	}
	return SignResult{File: path, KeyID: key.KeyID}, nil
}

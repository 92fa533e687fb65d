package kernel

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LoadSecret reads the 32-byte secret name in the workspace's keys folder, making it (mode 0600)
// on first use. Every namespace of a workspace reads the same file, so keys derived from it are
// the same across namespaces and restarts.
func LoadSecret(keysDir, name string) ([]byte, error) {
	path := filepath.Join(keysDir, name)
	secret, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret = make([]byte, 32)
		rand.Read(secret)
		if err = os.MkdirAll(keysDir, 0o700); err == nil {
			err = writeNew(path, secret)
			if errors.Is(err, os.ErrExist) { // another namespace made it first
				secret, err = os.ReadFile(path)
			}
		}
	}
	if err == nil && len(secret) != 32 {
		err = fmt.Errorf("%s is not an ospbox secret (32 bytes); remove it to make a new one", path)
	}
	return secret, err
}

// writeNew writes a file that must not exist yet, readable by its owner only.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Derive is the 32-byte key for one purpose from a secret (HMAC-SHA256), so one secret gives
// independent keys.
func Derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

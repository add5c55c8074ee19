package fleet

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// TestVerify refuses a tampered module, a module signed by another key, an
// unsigned module, a signature made for another name and a forged
// signature, each with its own reason; a good signature passes.
func TestVerify(t *testing.T) {
	pub, priv := newKey(t)
	_, other := newKey(t)
	code := []byte("module v1")
	sha := SHA256(code)
	good := Sign(priv, "tag", sha)
	forged := good
	forged.Signature = Sign(other, "tag", sha).Signature
	trusted := []ed25519.PublicKey{pub}
	tests := []struct {
		name   string
		plugin string
		sha    string
		sig    *Signature
		want   error
		reason string
	}{
		{"good", "tag", sha, &good, nil, ""},
		{"tampered module", "tag", SHA256([]byte("module v1 changed")), &good, ErrBadSignature, "changed after it was signed"},
		{"wrong key", "tag", sha, ptr(Sign(other, "tag", sha)), ErrUntrustedKey, "not in plugins.trusted_keys"},
		{"missing signature", "tag", sha, nil, ErrUnsigned, "has no signature"},
		{"signed for another plugin", "other", sha, &good, ErrBadSignature, `made for plugin "tag"`},
		{"forged with a trusted key's name", "tag", sha, &forged, ErrBadSignature, "does not verify"},
		{"not a key", "tag", sha, &Signature{Key: "rsa:xyz"}, ErrBadSignature, "not an Ed25519 public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(trusted, tt.plugin, tt.sha, tt.sig)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("%v: does not say %q", err, tt.reason)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestKeyFiles: keygen writes a private key that signs and a public key
// that verifies, and refuses to overwrite a key.
func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release")
	text, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ReadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := parsePublicKey(text)
	if err != nil {
		t.Fatal(err)
	}
	sig := Sign(priv, "p", SHA256([]byte("x")))
	if err := Verify([]ed25519.PublicKey{pub}, "p", SHA256([]byte("x")), ptr(sig)); err != nil {
		t.Fatal(err)
	}
	back, err := ParseSignature(sig.Marshal())
	if err != nil || *back != sig {
		t.Fatalf("signature does not survive JSON: %v %+v", err, back)
	}
	if _, err := GenerateKey(path); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	if _, err := ReadPrivateKey(path + ".pub"); err == nil {
		t.Fatal("a public key file read as a private key")
	}
}

package fleet

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Signature errors, for errors.Is. The messages around them say what was
// found and what was expected.
var (
	ErrUnsigned     = errors.New("not signed")
	ErrUntrustedKey = errors.New("signed by a key that is not trusted")
	ErrBadSignature = errors.New("signature does not match the module")
)

// keyPrefix starts a public key written as text (config.PublicKeyPrefix).
const keyPrefix = "ed25519:"

// signedDomain makes a wasmhost plugin signature mean nothing anywhere else.
const signedDomain = "wasmhost plugin signature v1\n"

// Signature is an Ed25519 signature of a plugin's name and sha256 by Key.
// Plugin and SHA256 say what the signer signed; Verify checks the signature
// against the module's actual name and sha256, so they only explain a
// mismatch. It travels as JSON: in the plugin topic's signature header, and
// in a file's detached "<file>.sig".
type Signature struct {
	Plugin    string `json:"plugin"`
	SHA256    string `json:"sha256"`
	Key       string `json:"key"`       // "ed25519:BASE64" of the public key
	Signature string `json:"signature"` // base64
}

// signedMessage is what is signed: the name and the hex sha256.
func signedMessage(plugin, sha string) []byte {
	return []byte(signedDomain + plugin + "\n" + sha)
}

// FormatPublicKey writes a public key as trusted_keys takes it.
func FormatPublicKey(k ed25519.PublicKey) string {
	return keyPrefix + base64.StdEncoding.EncodeToString(k)
}

// KeyID is a short name for a key in logs and listings: the first 8 bytes
// of the sha256 of the key, in hex.
func KeyID(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

func parsePublicKey(s string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(s, keyPrefix)
	raw, err := base64.StdEncoding.DecodeString(rest)
	if !ok || err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%q is not an Ed25519 public key (%sBASE64)", s, keyPrefix)
	}
	return ed25519.PublicKey(raw), nil
}

// Sign signs a module's name and sha256 (hex) with key.
func Sign(key ed25519.PrivateKey, plugin, sha string) Signature {
	pub := key.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(key, signedMessage(plugin, sha))
	return Signature{Plugin: plugin, SHA256: sha, Key: FormatPublicKey(pub), Signature: base64.StdEncoding.EncodeToString(sig)}
}

// Verify checks that sig is a signature, by one of trusted, of the module
// named plugin whose sha256 (hex) is sha. sig nil means the module came
// without one. Every refusal names what was wrong.
func Verify(trusted []ed25519.PublicKey, plugin, sha string, sig *Signature) error {
	if sig == nil {
		return fmt.Errorf("%w: plugin %s (sha256 %s) has no signature, and plugins.trusted_keys requires one (deploy with --sign KEY, or write <file>.sig with wasmhost plugin sign)", ErrUnsigned, plugin, short(sha))
	}
	key, err := parsePublicKey(sig.Key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	trustedKey := false
	for _, k := range trusted {
		if k.Equal(key) {
			trustedKey = true
		}
	}
	if !trustedKey {
		return fmt.Errorf("%w: plugin %s is signed by key %s (id %s), which is not in plugins.trusted_keys", ErrUntrustedKey, plugin, sig.Key, KeyID(key))
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Signature)
	if err == nil && ed25519.Verify(key, signedMessage(plugin, sha), raw) {
		return nil
	}
	switch {
	case sig.SHA256 != sha:
		return fmt.Errorf("%w: it was made for sha256 %s, the module's is %s: the module changed after it was signed", ErrBadSignature, short(sig.SHA256), short(sha))
	case sig.Plugin != plugin:
		return fmt.Errorf("%w: it was made for plugin %q, not %q", ErrBadSignature, sig.Plugin, plugin)
	}
	return fmt.Errorf("%w: the signature of plugin %s (sha256 %s) by key id %s does not verify", ErrBadSignature, plugin, short(sha), KeyID(key))
}

// ParseSignature reads a signature's JSON.
func ParseSignature(b []byte) (*Signature, error) {
	var s Signature
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: not a wasmhost signature: %w", ErrBadSignature, err)
	}
	return &s, nil
}

// Marshal writes the signature as ParseSignature reads it.
func (s Signature) Marshal() []byte {
	b, _ := json.Marshal(s) // strings only: cannot fail
	return b
}

// ReadSignatureFile reads the detached signature beside a plugin file,
// path+".sig"; nil, nil when there is none.
func ReadSignatureFile(path string) (*Signature, error) {
	b, err := os.ReadFile(path + SigSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseSignature(b)
}

// SigSuffix names a plugin file's detached signature: "x.wasm.sig".
const SigSuffix = ".sig"

// GenerateKey makes a key pair and writes the private key to path (PKCS #8
// PEM, mode 0600; refused if path exists) and the public key, as
// trusted_keys takes it, to path+".pub". It returns the public key text.
func GenerateKey(path string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		_ = f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	text := FormatPublicKey(pub)
	if err := os.WriteFile(path+".pub", []byte(text+"\n"), 0o644); err != nil {
		return "", err
	}
	return text, nil
}

// ReadPrivateKey reads a key GenerateKey wrote.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key (make one with wasmhost plugin keygen)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, not an Ed25519 key", path, k)
	}
	return ek, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

package plugintool

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	assdk "github.com/wasmhost/wasmhost/sdk/as"
	csdk "github.com/wasmhost/wasmhost/sdk/c"
)

//go:embed templates
var templates embed.FS

// NewOptions describe a plugin to scaffold.
type NewOptions struct {
	Name string // the plugin's name: letters, digits, _ and -
	Lang string // LangGo or LangC
	Dir  string // where to write it; "" = ./Name. Must not exist or be empty.
	// SDK, when set, is a wasmhost source tree for a Go plugin's go.mod to
	// point at instead of the copy of the SDK the scaffold carries (for
	// working on the SDK itself); see FindSDK. Unused for other languages.
	SDK string
	// Version is the wasmhost version recorded in SDKFile.
	Version string
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// New writes a plugin that builds and passes its own test: source, fixture
// records, the expected output and a README. It returns the files written,
// relative to the directory.
func New(o NewOptions) ([]string, error) {
	if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("plugin name %q: use letters, digits, _ and -, starting with a letter or digit", o.Name)
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	if err := emptyDir(o.Dir); err != nil {
		return nil, err
	}
	data := map[string]string{"Name": o.Name, "Module": ModulePath}
	files := map[string][]byte{}
	switch o.Lang {
	case LangGo:
		if err := goFiles(o, data, files); err != nil {
			return nil, err
		}
	case LangC:
		files["wasmhost.h"] = csdk.Header
		files[csdk.JSONHeaderName] = csdk.JSONHeader
	case LangAS:
		v, err := assdk.CompilerVersion()
		if err != nil {
			return nil, err
		}
		data["ASC"] = v
		for name, b := range assdk.Files {
			files[name] = b
		}
	default:
		return nil, fmt.Errorf("language %q: use %s, %s or %s", o.Lang, LangGo, LangC, LangAS)
	}
	files[SDKFile] = sdkRecord(o.Lang, o.Version)
	if err := render(o.Lang, data, files); err != nil {
		return nil, err
	}
	var written []string
	for name, content := range files {
		p := filepath.Join(o.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	sort.Strings(written)
	return written, nil
}

// render executes the language's templates into files: "x.tmpl" becomes
// "x", "plugin.c" becomes "NAME.c" and "gitignore" ".gitignore".
func render(lang string, data map[string]string, files map[string][]byte) error {
	root := path.Join("templates", lang)
	return fs.WalkDir(templates, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		switch name {
		case "plugin.c":
			name = data["Name"] + ".c"
		case "gitignore":
			name = ".gitignore"
		}
		files[name] = b.Bytes()
		return nil
	})
}

// emptyDir checks that dir does not exist or is an empty directory.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s already exists and is not empty", dir)
	}
	return nil
}

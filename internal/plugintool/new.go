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

	csdk "github.com/wasmhost/wasmhost/sdk/c"
)

//go:embed templates
var templates embed.FS

// NewOptions describe a plugin to scaffold.
type NewOptions struct {
	Name string // the plugin's name: letters, digits, _ and -
	Lang string // LangGo or LangC
	Dir  string // where to write it; "" = ./Name. Must not exist or be empty.
	// SDK is the wasmhost source tree a Go plugin's go.mod points at (see
	// FindSDK); unused for C, which gets a copy of the header.
	SDK string
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
		sdk, err := FindSDK(o.SDK)
		if err != nil {
			return nil, err
		}
		goVersion, err := goModLine(filepath.Join(sdk, "go.mod"), "go")
		if err != nil {
			return nil, err
		}
		data["SDK"] = sdk
		files["go.mod"] = fmt.Appendf(nil, "module %s\n\ngo %s\n\nrequire %s v0.0.0\n\n// The SDK comes from a wasmhost source tree.\nreplace %s => %s\n",
			o.Name, goVersion, ModulePath, ModulePath, sdk)
	case LangC:
		files["wasmhost.h"] = csdk.Header
	default:
		return nil, fmt.Errorf("language %q: use %s or %s", o.Lang, LangGo, LangC)
	}
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

// Package deploy_test checks the deployment files without a container
// engine (CI machines have none): they parse, the configs they ship load
// and validate, their probes and ports agree with those configs, and the
// image is built by the Makefile's own targets. Building the images and
// running them on Docker or Kubernetes is not checked here; see README.md.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wasmhost/wasmhost/internal/config"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadConfig validates a config the way `wasmhost run` does, from text.
func loadConfig(t *testing.T, what string, text []byte) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return cfg
}

func port(t *testing.T, listen string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// k8s is the part of a Kubernetes object the checks read.
type k8s struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				InitContainers                []container `yaml:"initContainers"`
				Containers                    []container `yaml:"containers"`
				Volumes                       []struct {
					Name      string                 `yaml:"name"`
					ConfigMap *struct{ Name string } `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

func TestKubernetesManifest(t *testing.T) {
	dec := yaml.NewDecoder(bytes.NewReader(read(t, "deploy/kubernetes.yaml")))
	objs := map[string]k8s{}
	for {
		var o k8s
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("deploy/kubernetes.yaml: %v", err)
		}
		objs[o.Kind] = o
	}
	cm, dep := objs["ConfigMap"], objs["Deployment"]
	if cm.Metadata.Name == "" || dep.Metadata.Name == "" || objs["Service"].Metadata.Name == "" {
		t.Fatalf("want a ConfigMap, a Deployment and a Service, got %v", mapsKeys(objs))
	}
	cfg := loadConfig(t, "the ConfigMap's config.toml", []byte(cm.Data["config.toml"]))
	if cfg.Embedded() || len(cfg.Pipelines) == 0 || cfg.HTTP.Listen == "" {
		t.Errorf("the ConfigMap's config should name brokers, a pipeline and http.listen: %+v", cfg)
	}
	if r := dep.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("replicas %v: the example shows several members of one group", r)
	}
	pod := dep.Spec.Template.Spec
	if got, min := pod.TerminationGracePeriodSeconds, int(cfg.ShutdownTimeout.Duration/time.Second); got <= min {
		t.Errorf("terminationGracePeriodSeconds %d must exceed shutdown_timeout (%ds)", got, min)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the daemon alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}

	// The daemon reads the ConfigMap where it is mounted.
	var cmVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
			cmVolume = v.Name
		}
	}
	wantArgs := []string{"run", "--config", filepath.Join(mounts[cmVolume], "config.toml")}
	if cmVolume == "" || !slices.Equal(c.Args[:min(3, len(c.Args))], wantArgs) {
		t.Errorf("args %q, want %q (the ConfigMap volume %q)", c.Args, wantArgs, cmVolume)
	}
	// Plugins and the compilation cache are on volumes (the root file
	// system is read-only).
	if mounts["plugins"] != cfg.Plugins.Dir {
		t.Errorf("plugins.dir %q is not the plugins volume (%q)", cfg.Plugins.Dir, mounts["plugins"])
	}
	if !slices.Contains(mapsValues(mounts), cfg.Plugins.CacheDir) {
		t.Errorf("plugins.cache_dir %q is on no volume (%v)", cfg.Plugins.CacheDir, mounts)
	}
	if len(pod.InitContainers) != 1 || !hasMount(pod.InitContainers[0], "plugins", "/plugins") {
		t.Errorf("the init container should fill the plugins volume at /plugins (the plugins image copies there)")
	}

	// Probes hit the monitoring server on the port of http.listen.
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port(t, cfg.HTTP.Listen) {
		t.Fatalf("container ports %+v, http.listen %s", c.Ports, cfg.HTTP.Listen)
	}
	for name, p := range map[string]*probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz", "startup": "/healthz"}[name]
		if p == nil || p.HTTPGet.Path != want || p.HTTPGet.Port != c.Ports[0].Name {
			t.Errorf("%s probe %+v, want GET %s on port %q", name, p, want, c.Ports[0].Name)
		}
	}
}

func hasMount(c container, name, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == name && m.MountPath == path {
			return true
		}
	}
	return false
}

func mapsKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mapsValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestDockerCompose(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       map[string]string `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Ports       []string          `yaml:"ports"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(read(t, "docker-compose.yml"), &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	kafka, wh := compose.Services["kafka"], compose.Services["wasmhost"]
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") {
		t.Errorf("kafka image %q, want Apache Kafka", kafka.Image)
	}
	if roles := kafka.Environment["KAFKA_PROCESS_ROLES"]; !strings.Contains(roles, "controller") || compose.Services["zookeeper"].Image != "" {
		t.Errorf("Kafka should run in KRaft mode (process roles %q)", roles)
	}
	if wh.Build["context"] != "." || wh.Build["target"] != "daemon" || wh.DependsOn["kafka"].Condition != "service_healthy" {
		t.Errorf("wasmhost service: build %v, depends_on %v", wh.Build, wh.DependsOn)
	}
	// The config it mounts exists, loads, and points at the kafka service.
	var cfgPath string
	for _, v := range wh.Volumes {
		host, target, _ := strings.Cut(v, ":")
		if strings.HasPrefix(target, "/app/config.toml") {
			cfgPath = host
		}
	}
	if cfgPath == "" || !slices.Contains(wh.Command, "/app/config.toml") {
		t.Fatalf("wasmhost should mount a config at /app/config.toml and run it: volumes %v, command %v", wh.Volumes, wh.Command)
	}
	cfg := loadConfig(t, cfgPath, read(t, cfgPath))
	advertised := strings.TrimPrefix(kafka.Environment["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://")
	if !slices.Equal(cfg.Kafka.Brokers, []string{advertised}) {
		t.Errorf("%s: brokers %v, the kafka service advertises %s", cfgPath, cfg.Kafka.Brokers, advertised)
	}
	published := false
	for _, p := range wh.Ports {
		published = published || strings.HasSuffix(p, ":"+strconv.Itoa(port(t, cfg.HTTP.Listen)))
	}
	if !published {
		t.Errorf("ports %v do not publish http.listen %s", wh.Ports, cfg.HTTP.Listen)
	}
}

// dockerfile is a parsed Dockerfile: its stages and their instructions.
type stage struct {
	from, name string
	lines      []string // instructions after FROM, continuation lines joined
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	var stages []stage
	sc := bufio.NewScanner(bytes.NewReader(read(t, "Dockerfile")))
	var cur string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur += s + " "
			continue
		}
		line, cur = cur+line, ""
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			st := stage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				st.name = f[3]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before any FROM", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	return stages
}

// TestDockerfileBuildsWithTheMakefile: the image is built by the Makefile's
// own targets (so its build commands are the Makefile's), with the Go
// version go.mod asks for, and ships what those targets produce.
func TestDockerfileBuildsWithTheMakefile(t *testing.T) {
	stages := parseDockerfile(t)
	names := []string{}
	for _, s := range stages {
		names = append(names, s.name)
	}
	if !slices.Equal(names, []string{"build", "plugins", "daemon"}) {
		t.Fatalf("stages %v, want build, plugins, daemon (the default, last)", names)
	}
	build, daemon := stages[0], stages[2]

	goMod := string(read(t, "go.mod"))
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if want == nil || !strings.HasPrefix(build.from, "golang:"+want[1]) {
		t.Errorf("build stage FROM %s, go.mod wants Go %v", build.from, want)
	}

	makefile := string(read(t, "Makefile"))
	var makeRun string
	for _, l := range build.lines {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") {
			t.Errorf("the Dockerfile runs go build itself (%q): use the Makefile's targets so the two cannot drift", l)
		}
		if strings.HasPrefix(l, "RUN make ") {
			makeRun = l
		}
	}
	targets := []string{}
	for _, f := range strings.Fields(strings.TrimPrefix(makeRun, "RUN make ")) {
		if !strings.Contains(f, "=") {
			targets = append(targets, f)
		}
	}
	if !slices.Equal(targets, []string{"build", "plugins"}) {
		t.Fatalf("build stage runs %q, want make build plugins", makeRun)
	}
	for _, target := range targets {
		if !regexp.MustCompile(`(?m)^` + target + `:`).MatchString(makefile) {
			t.Errorf("Makefile has no %s target", target)
		}
	}
	// What the targets produce is what the image ships.
	bin := regexp.MustCompile(`(?m)^BIN\s*:=\s*(\S+)`).FindStringSubmatch(makefile)
	if bin == nil {
		t.Fatal("Makefile: no BIN")
	}
	if !slices.Contains(daemon.lines, "COPY --from=build /src/"+bin[1]+" /usr/local/bin/wasmhost") {
		t.Errorf("the daemon stage does not copy the Makefile's binary %s: %q", bin[1], daemon.lines)
	}
	if !regexp.MustCompile(`(?m)^plugins/%\.wasm:`).MatchString(makefile) ||
		!slices.Contains(daemon.lines, "COPY --from=build /src/plugins/*.wasm /app/plugins/") {
		t.Errorf("the Makefile builds plugins/NAME.wasm and the image ships them in /app/plugins")
	}
	// The config baked into the image loads, with its plugins where the
	// image puts them.
	var baked string
	for _, l := range daemon.lines {
		if f := strings.Fields(l); f[0] == "COPY" && len(f) == 3 && f[2] == "/app/config.toml" {
			baked = f[1]
		}
	}
	if baked == "" {
		t.Fatal("the daemon stage bakes no /app/config.toml")
	}
	if cfg := loadConfig(t, baked, read(t, baked)); cfg.Plugins.Dir != "/app/plugins" {
		t.Errorf("%s: plugins.dir %q, the image has them in /app/plugins", baked, cfg.Plugins.Dir)
	}
	dockerignore := string(read(t, ".dockerignore"))
	for _, p := range []string{"bin", "*.wasm", ".git"} {
		if !slices.Contains(strings.Fields(dockerignore), p) {
			t.Errorf(".dockerignore does not exclude %s (the image must build them itself)", p)
		}
	}
}

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
				RestartPolicy                 string      `yaml:"restartPolicy"`
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
	if cm.Metadata.Name == "" || dep.Metadata.Name == "" || objs["Service"].Metadata.Name == "" || objs["Job"].Metadata.Name == "" {
		t.Fatalf("want a ConfigMap, a Deployment, a Job and a Service, got %v", mapsKeys(objs))
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
	// The compilation cache is on a volume (the root file system is
	// read-only). Plugins are not: they come from the plugin topic.
	if !slices.Contains(mapsValues(mounts), cfg.Plugins.CacheDir) {
		t.Errorf("plugins.cache_dir %q is on no volume (%v)", cfg.Plugins.CacheDir, mounts)
	}
	checkPluginsFromKafka(t, "the ConfigMap's config.toml", cfg)
	if len(pod.InitContainers) != 0 || len(pod.Volumes) != len(mounts) || mounts["plugins"] != "" {
		t.Errorf("the pods should have no plugin files: init containers %d, volumes %d, mounts %v", len(pod.InitContainers), len(pod.Volumes), mounts)
	}
	checkDeployJob(t, objs["Job"], cm.Metadata.Name)

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

// checkPluginsFromKafka: every pipeline and source of cfg takes its plugin
// from the plugin topic, and each is a bundled plugin (plugins/NAME), which
// the plugins image deploys.
func checkPluginsFromKafka(t *testing.T, what string, cfg *config.Config) {
	t.Helper()
	var names []string
	for i := range cfg.Pipelines {
		if cfg.PipelineFrom(&cfg.Pipelines[i]) != config.FromKafka {
			t.Errorf("%s: pipeline %s does not take its plugin from Kafka", what, cfg.Pipelines[i].Name)
		}
		names = append(names, cfg.Pipelines[i].Plugin)
	}
	for i := range cfg.Sources {
		if cfg.SourceFrom(&cfg.Sources[i]) != config.FromKafka {
			t.Errorf("%s: source %s does not take its plugin from Kafka", what, cfg.Sources[i].Name)
		}
		names = append(names, cfg.Sources[i].Plugin)
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join("..", "plugins", n, "main.go")); err != nil {
			t.Errorf("%s: plugin %q is not a bundled plugin (plugins/%s), so the plugins image does not deploy it", what, n, n)
		}
	}
}

// checkDeployJob: the Job runs the plugins image's deploy of the bundled
// plugins, only those not deployed yet, against the ConfigMap's config.
func checkDeployJob(t *testing.T, job k8s, configMap string) {
	t.Helper()
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.RestartPolicy == "Always" {
		t.Fatalf("the Job should run one container that finishes: %+v", pod)
	}
	c := pod.Containers[0]
	var cmVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == configMap {
			cmVolume = v.Name
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	want := []string{"plugin", "deploy", "--dir", "/app/plugins", "--if-missing", "--config", filepath.Join(mounts[cmVolume], "config.toml")}
	if !strings.HasPrefix(c.Image, "wasmhost-plugins:") || cmVolume == "" || !slices.Equal(c.Args, want) {
		t.Errorf("the Job runs %s %q, want wasmhost-plugins %q", c.Image, c.Args, want)
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
	kafka, wh, plugins := compose.Services["kafka"], compose.Services["wasmhost"], compose.Services["plugins"]
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") {
		t.Errorf("kafka image %q, want Apache Kafka", kafka.Image)
	}
	if roles := kafka.Environment["KAFKA_PROCESS_ROLES"]; !strings.Contains(roles, "controller") || compose.Services["zookeeper"].Image != "" {
		t.Errorf("Kafka should run in KRaft mode (process roles %q)", roles)
	}
	if wh.Build["context"] != "." || wh.Build["target"] != "daemon" || wh.DependsOn["kafka"].Condition != "service_healthy" {
		t.Errorf("wasmhost service: build %v, depends_on %v", wh.Build, wh.DependsOn)
	}
	// The plugins service deploys the bundled plugins to the plugin topic,
	// with the daemons' config, before the daemons start.
	wantDeploy := []string{"plugin", "deploy", "--dir", "/app/plugins", "--if-missing", "--config", "/app/config.toml"}
	if plugins.Build["target"] != "plugins" || !slices.Equal(plugins.Command, wantDeploy) || !slices.Equal(plugins.Volumes, wh.Volumes) ||
		wh.DependsOn["plugins"].Condition != "service_completed_successfully" {
		t.Errorf("plugins service: build %v, command %q, volumes %v; wasmhost depends_on %v", plugins.Build, plugins.Command, plugins.Volumes, wh.DependsOn)
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
	checkPluginsFromKafka(t, cfgPath, cfg)
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
	build, plugins, daemon := stages[0], stages[1], stages[2]

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
	for _, st := range []stage{plugins, daemon} {
		if !slices.Contains(st.lines, "COPY --from=build /src/"+bin[1]+" /usr/local/bin/wasmhost") {
			t.Errorf("the %s stage does not copy the Makefile's binary %s: %q", st.name, bin[1], st.lines)
		}
	}
	// The plugins image ships the plugins and deploys them; the daemon
	// image has none (its plugins come from Kafka).
	if !regexp.MustCompile(`(?m)^plugins/%\.wasm:`).MatchString(makefile) ||
		!slices.Contains(plugins.lines, "COPY --from=build /src/plugins/*.wasm /app/plugins/") {
		t.Errorf("the Makefile builds plugins/NAME.wasm and the plugins image ships them in /app/plugins")
	}
	if !slices.Contains(plugins.lines, `CMD ["plugin", "deploy", "--dir", "/app/plugins", "--if-missing", "--config", "/app/config.toml"]`) {
		t.Errorf("the plugins image should deploy its plugins by default: %q", plugins.lines)
	}
	for _, l := range daemon.lines {
		if strings.Contains(l, ".wasm") {
			t.Errorf("the daemon image has plugin files (%q): its plugins come from Kafka", l)
		}
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
	checkPluginsFromKafka(t, baked, loadConfig(t, baked, read(t, baked)))
	dockerignore := string(read(t, ".dockerignore"))
	for _, p := range []string{"bin", "*.wasm", ".git"} {
		if !slices.Contains(strings.Fields(dockerignore), p) {
			t.Errorf(".dockerignore does not exclude %s (the image must build them itself)", p)
		}
	}
}

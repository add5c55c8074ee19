package daemon

import (
	"context"
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// BenchmarkStartupLoads loads the three bundled plugins cold (no
// compilation cache), as a daemon starts with them: one at a time, as
// before, and as many at once as there are CPUs.
func BenchmarkStartupLoads(b *testing.B) {
	var users []user
	for i, name := range []string{"forward", "print", "users"} {
		o := loadOptions(name, testutil.BuildPlugin(b, "plugins/"+name), config.Digest{}, config.Limits{Memory: 64 * config.MiB})
		users = append(users, user{fmt.Sprintf("pipelines[%d]", i), o, name != "users"})
	}
	for _, workers := range []int{1, 0} {
		name := "one-at-a-time"
		if workers == 0 {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				rt, err := host.NewRuntime(ctx, host.RuntimeOptions{Logger: zerolog.Nop()})
				if err != nil {
					b.Fatal(err)
				}
				s := newPluginSet(rt, &ReloadStats{}, zerolog.Nop())
				s.workers = workers
				if err := s.ensureAll(ctx, users); err != nil {
					b.Fatal(err)
				}
				_ = s.close(ctx)
				_ = rt.Close(ctx)
			}
		})
	}
}

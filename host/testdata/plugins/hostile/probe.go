package main

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

// probe tries what a sandboxed plugin should not be able to do unless
// granted, and reports each result: "ok: ..." or the error.
//
// Config keys name what to try beyond the fixed attempts: "read" a file to
// read, "write" a file to write, "env" a variable to look up, "dial" a TCP
// address to connect to.
func probe() []byte {
	res := map[string]string{}
	report := func(what string, v string, err error) {
		if err != nil {
			res[what] = "error: " + err.Error()
			return
		}
		res[what] = "ok: " + v
	}
	b, err := os.ReadFile("/etc/passwd")
	report("read /etc/passwd", string(b), err)
	ents, err := os.ReadDir("/")
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	report("list /", strings.Join(names, ","), err)
	report("write /tmp/hostile", "", os.WriteFile("/tmp/hostile", []byte("x"), 0o644))
	report("environ", strings.Join(os.Environ(), ","), nil)
	report("args", strings.Join(os.Args, ","), nil)
	if addr, ok := sdk.Config("dial"); ok {
		// Go's net package on wasip1 is an in-process fake network: a
		// dial can only reach a listener inside this plugin.
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if c != nil {
			_ = c.Close()
		}
		report("dial", "", err)
	}
	if p, ok := sdk.Config("read"); ok {
		b, err := os.ReadFile(p)
		report("read "+p, string(b), err)
	}
	if p, ok := sdk.Config("write"); ok {
		report("write "+p, "", os.WriteFile(p, []byte("written by hostile"), 0o644))
	}
	if k, ok := sdk.Config("env"); ok {
		v, found := os.LookupEnv(k)
		if !found {
			res["env "+k] = "unset"
		} else {
			res["env "+k] = "ok: " + v
		}
	}
	out, _ := json.Marshal(res)
	return out
}
